// Browser Origin check for the WebSocket upgrade. Browsers always send Origin on a WebSocket
// handshake and let any page open a socket to any host: without this check a hostile page an agent
// visits could drive the agent's phone with the agent's network position. Non-browser clients (the
// SDK in Node, tools) send no Origin and are allowed: they authenticate with a token instead.

export interface OriginPolicy {
  /** Exact origins ("https://crm.example.com") or "*" for any. */
  allowed: readonly string[];
}

/** Scheme://host[:port] of a URL (ws→http, wss→https), or undefined when it does not parse. */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    const scheme = u.protocol === 'ws:' ? 'http:' : u.protocol === 'wss:' ? 'https:' : u.protocol;
    return `${scheme}//${u.host}`;
  } catch {
    return undefined;
  }
}

export type OriginVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Allowed: no Origin (not a browser); "*" configured; the origin is listed; or it is this server's
 * own origin (the web desktop served from /desktop/ on the same port).
 */
export function checkOrigin(origin: string | undefined, host: string | undefined, policy: OriginPolicy): OriginVerdict {
  if (origin === undefined) return { ok: true };
  if (policy.allowed.includes('*')) return { ok: true };
  const o = origin.toLowerCase();
  if (policy.allowed.some((a) => a.toLowerCase() === o)) return { ok: true };
  if (host) {
    try {
      if (new URL(origin).host.toLowerCase() === host.toLowerCase()) return { ok: true };
    } catch { /* not a URL: refused below */ }
  }
  return { ok: false, reason: `Origin ${origin.slice(0, 200)} is not allowed: add it to tserver.allowedOrigins` };
}

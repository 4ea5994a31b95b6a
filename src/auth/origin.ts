// Browser Origin check for the WebSocket upgrade. Browsers always send Origin on a WebSocket
// handshake and let any page open a socket to any host: without this check a hostile page an agent
// visits could drive the agent's phone with the agent's network position. Non-browser clients (the
// SDK in Node, tools) send no Origin and are allowed: they authenticate with a token instead.
//
// The Host header is never trusted alone: with DNS rebinding, a page at http://evil.example:7001
// whose name the attacker points at this server sends `Origin: http://evil.example:7001` AND
// `Host: evil.example:7001`, so "Origin equals Host" holds for the attacker too. Same-origin is
// accepted only when the host is an IP literal (no DNS answer can rebind it).
import { isIpLiteral, isLoopbackHostname } from './loopback.js';

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

/** Where the upgrade arrived: the Host header it names and whether it came in on a loopback address. */
export interface UpgradeContext {
  host: string | undefined;
  /** The connection's local (server-side) address is loopback: only processes on this machine reach it. */
  viaLoopback: boolean;
}

/**
 * Allowed: no Origin (not a browser); "*" configured; the origin is listed; a loopback origin
 * (localhost, 127.0.0.0/8, [::1]) on a connection that arrived on loopback (the embedded pair, a
 * page on this machine); or this server's own origin when the Host is an IP literal (the web desktop
 * served from /desktop/, reached by address). Everything else: add it to tserver.allowedOrigins.
 */
export function checkOrigin(origin: string | undefined, ctx: UpgradeContext, policy: OriginPolicy): OriginVerdict {
  if (origin === undefined) return { ok: true };
  if (policy.allowed.includes('*')) return { ok: true };
  const o = origin.toLowerCase();
  if (policy.allowed.some((a) => a.toLowerCase() === o)) return { ok: true };
  let url: URL | undefined;
  try { url = new URL(origin); } catch { /* not a URL: refused below */ }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
    if (ctx.viaLoopback && isLoopbackHostname(url.hostname)) return { ok: true };
    if (ctx.host && url.host.toLowerCase() === ctx.host.toLowerCase() && isIpLiteral(url.hostname)) return { ok: true };
  }
  return { ok: false, reason: `Origin ${origin.slice(0, 200)} is not allowed: add it to tserver.allowedOrigins (the Host header alone is not trusted)` };
}

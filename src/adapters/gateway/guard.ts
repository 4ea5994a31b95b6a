// The gateway's edge guard: every check that protects the T-Server from a hostile or runaway
// desktop before its request reaches the core. Upgrade time: Origin (403) and the connection cap
// (503). RequestOpen: authentication (authenticator.ts). Every request: rate limit per connection
// (Overloaded, connection kept), the token's DN scope (Unauthorized), DNs per client and user-data
// size. Each refusal has an error code and a message that says what to do. Reference: docs/security.md.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Authenticator } from '../../auth/authenticator.js';
import { checkOrigin } from '../../auth/origin.js';
import { isLoopbackAddress } from '../../auth/loopback.js';
import type { ErrorCode, Request } from '../../protocol/messages.js';
import type { UnopenedSockets } from './unopened.js';

export interface EdgeLimits {
  /** Open WebSocket connections; one more is refused with 503. 0 = no cap. */
  maxConnections: number;
  /** Requests per second per connection (token bucket); over it: EventError Overloaded. 0 = no limit. */
  maxRequestsPerSecond: number;
  /** Requests a connection may send at once before the per-second rate applies. */
  requestBurst: number;
  /** DNs one client name may have registered. 0 = no limit. */
  maxDNsPerClient: number;
  /** Bytes of a request's userData (or reasons) as JSON. 0 = no limit (the frame limit still applies). */
  maxUserDataBytes: number;
  /**
   * Bytes of one call's whole user data as JSON after an attach/update (or on a consultation call):
   * over it the request is refused UserDataTooLarge and nothing changes. Checked by the core
   * (core.maxCallUserDataBytes, copied from here). 0 = no bound.
   */
  maxCallUserDataBytes: number;
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  maxConnections: 2_000,
  maxRequestsPerSecond: 200,
  requestBurst: 400,
  maxDNsPerClient: 200,
  maxUserDataBytes: 32 * 1024,
  maxCallUserDataBytes: 64 * 1024,
};

export interface EdgeSecurity {
  auth: Authenticator;
  allowedOrigins: readonly string[];
}

export type Refusal = { code: ErrorCode; message: string };

/** The remote IP of a request: the unit of authentication rate limiting. */
export function remoteAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Upgrade-time checks: Origin, the connection cap, unopened sockets per address. undefined = admit. */
export function admitUpgrade(req: IncomingMessage, openConnections: number, limits: EdgeLimits, sec: EdgeSecurity, unopened: UnopenedSockets): { status: 403 | 503; reason: string } | undefined {
  const origin = checkOrigin(req.headers.origin, { host: req.headers.host, viaLoopback: isLoopbackAddress(req.socket.localAddress) }, { allowed: sec.allowedOrigins });
  if (!origin.ok) return { status: 403, reason: origin.reason };
  if (limits.maxConnections > 0 && openConnections >= limits.maxConnections) {
    return { status: 503, reason: `connection limit reached (${limits.maxConnections} open, tserver.maxConnections): try the other server or later` };
  }
  const tooMany = unopened.refusal(remoteAddress(req));
  if (tooMany) return { status: 503, reason: tooMany };
  return undefined;
}

/** Answers a refused upgrade with a plain HTTP status and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: 403 | 503, reason: string): void {
  const text = status === 403 ? 'Forbidden' : 'Service Unavailable';
  const body = `${reason}\n`;
  try {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${status === 503 ? 'Retry-After: 5\r\n' : ''}\r\n${body}`);
  } catch { /* the peer is gone already */ }
}

const USER_DATA_ATTRS = ['userData', 'reasons', 'keys'] as const;

/**
 * The answer to a ConnID the client may not see: word for word the core's answer to an unknown
 * ConnID (src/core/requests.ts, RequestQueryCall), so ConnIDs cannot be probed.
 */
export function noSuchCall(connId: string): Refusal {
  return { code: 'InvalidConnID', message: `no call with ConnID ${connId}: it has ended or never existed` };
}

/**
 * Per-request checks after validation and RequestOpen: the DN scope of the token and the size of
 * attached data. `registered` = the DNs the client has registered now (for the per-client cap);
 * `callDNs` = the DNs of a call's parties (undefined: no such call), for queries by ConnID alone.
 */
export function checkRequest(req: Request, scope: ReadonlySet<string> | undefined, registered: readonly string[], limits: EdgeLimits,
  callDNs: (connId: string) => readonly string[] | undefined = () => undefined): Refusal | undefined {
  const thisDN = (req as { thisDN?: unknown }).thisDN;
  if (scope && typeof thisDN === 'string' && !scope.has(thisDN)) {
    return { code: 'Unauthorized', message: `DN ${thisDN} is outside this client's token scope: use a token that lists it` };
  }
  // A query by ConnID alone: only calls with a party on a permitted DN, else the unknown-ConnID answer.
  if (scope && req.request === 'RequestQueryCall' && !(callDNs(req.connId) ?? []).some((dn) => scope.has(dn))) return noSuchCall(req.connId);
  if (req.request === 'RequestRegisterAddress' && limits.maxDNsPerClient > 0 && registered.length >= limits.maxDNsPerClient && !registered.includes(req.thisDN)) {
    return { code: 'Overloaded', message: `this client already has ${registered.length} DNs registered, the limit (tserver.maxDNsPerClient) is ${limits.maxDNsPerClient}: unregister some first` };
  }
  const r = req as unknown as Record<string, unknown>;
  for (const attr of USER_DATA_ATTRS) {
    // JSON.stringify recurses: ~10k levels (fits in a 64 KiB frame) would overflow the stack in
    // every later serialization. Refuse deep data here, before anything serializes it.
    if (r[attr] !== undefined && depthOver(r[attr], MAX_USER_DATA_DEPTH)) {
      return { code: 'BadRequest', message: `${attr} is nested deeper than ${MAX_USER_DATA_DEPTH} levels: flatten it` };
    }
  }
  if (limits.maxUserDataBytes > 0) {
    for (const attr of USER_DATA_ATTRS) {
      if (r[attr] === undefined) continue;
      const bytes = Buffer.byteLength(JSON.stringify(r[attr]), 'utf8');
      if (bytes > limits.maxUserDataBytes) {
        return { code: 'BadRequest', message: `${attr} is ${bytes} bytes as JSON, over the limit of ${limits.maxUserDataBytes} (tserver.maxUserDataBytes): attach less data` };
      }
    }
  }
  return undefined;
}

export const MAX_USER_DATA_DEPTH = 16;

/** True when `v` nests objects/arrays deeper than `max` levels. Iterative: no recursion on hostile input. */
export function depthOver(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d > max) return true;
    for (const child of Array.isArray(x) ? x : Object.values(x)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return false;
}

// Up to 16 digits: the SDK's referenceIds start at Date.now() x 1000 (16 digits); safe integers go to 9007199254740991.
const REF = /"referenceId"\s*:\s*(\d{1,16})\b/;

/** The referenceId of a frame that is not parsed (rate-limited): a bounded regex, no JSON.parse. */
export function cheapReferenceId(text: string): number | undefined {
  const m = REF.exec(text.length > 4096 ? text.slice(0, 4096) : text);
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * An over-limit frame (ws let it through: at most 2x the limit) is still a request that deserves its
 * one direct answer: find its referenceId, bounded work, nothing else is looked at.
 */
export function oversizedReferenceId(text: string, maxFrameBytes: number): number | undefined {
  if (text.length <= maxFrameBytes) return undefined;
  try {
    const ref = (JSON.parse(text) as { referenceId?: unknown }).referenceId;
    return Number.isSafeInteger(ref) && (ref as number) > 0 ? (ref as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Log lines per connection: a client sending garbage as fast as it can must not flood the log.
 * Up to `perSecond` lines a second, then one summary of how many were suppressed.
 */
export class LogBudget {
  private windowStart = 0;
  private used = 0;
  private suppressed = 0;

  constructor(private readonly perSecond = 20) {}

  /** True: log this one. `flush` receives the count suppressed in the window that just ended. */
  allow(now: number, flush: (suppressed: number) => void): boolean {
    if (now - this.windowStart >= 1000) {
      if (this.suppressed > 0) flush(this.suppressed);
      this.windowStart = now;
      this.used = 0;
      this.suppressed = 0;
    }
    if (this.used < this.perSecond) { this.used += 1; return true; }
    this.suppressed += 1;
    return false;
  }
}

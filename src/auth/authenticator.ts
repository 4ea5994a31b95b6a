// Desktop authentication at RequestOpen. Mode 'none' accepts everyone (a lab, the tests); mode
// 'token' requires either the client's shared token from the config or an HMAC-signed token
// (hmac-token.ts) whose `sub` is the clientName. A token may carry a DN scope: the gateway then
// refuses RequestRegisterAddress and any request whose thisDN is outside it.
// Failed attempts are counted per remote address (FailureLimiter); the reason is returned for the
// log, never the token.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isHmacToken, verifyToken } from './hmac-token.js';
import { FailureLimiter } from './rate-limit.js';

export interface SharedToken { token: string; dns?: string[] }

export interface AuthConfig {
  mode: 'none' | 'token';
  /** clientName → shared token (string) or {token, dns}. */
  tokens: Record<string, string | SharedToken>;
  /** keyId → HMAC secret for signed tokens. */
  hmacKeys: Record<string, string>;
  /** Failed opens per remote address within failureWindowMs before that address is blocked. 0 = never. */
  maxFailures: number;
  failureWindowMs: number;
  /** Client names whose token (shared or signed, without a DN scope) may read operator endpoints (/debug/state). */
  operators: string[];
}

export const DEFAULT_AUTH: AuthConfig = { mode: 'none', tokens: {}, hmacKeys: {}, maxFailures: 10, failureWindowMs: 60_000, operators: [] };

export type AuthResult =
  | { ok: true; via: 'none' | 'shared' | 'hmac'; dns?: ReadonlySet<string> }
  | { ok: false; reason: string; blocked?: boolean };

/** Who a bare token (an HTTP `Authorization: Bearer`) belongs to. */
export type Identity =
  | { ok: true; clientName: string; dns?: ReadonlySet<string> }
  | { ok: false; reason: string; blocked?: boolean };

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class Authenticator {
  private readonly failures: FailureLimiter;

  constructor(readonly cfg: AuthConfig) {
    this.failures = new FailureLimiter(cfg.maxFailures, cfg.failureWindowMs);
  }

  get required(): boolean { return this.cfg.mode === 'token'; }

  /**
   * Checks one RequestOpen. `address` is the remote IP (no port): the unit of rate limiting.
   * A blocked address is refused without looking at the token.
   */
  check(clientName: string, token: string | undefined, address: string, now = Date.now()): AuthResult {
    if (this.cfg.mode === 'none') return { ok: true, via: 'none' };
    const wait = this.failures.blockedFor(address, now);
    if (wait > 0) return { ok: false, blocked: true, reason: `too many failed attempts from ${address}: blocked for ${Math.ceil(wait / 1000)} s` };
    const r = this.verify(clientName, token, now);
    if (!r.ok) this.failures.fail(address, now);
    return r;
  }

  /**
   * Finds whose token this is (no clientName given): the `sub` of a signed token, or the client whose
   * shared token it is (every entry compared in constant time). Failures count like RequestOpen's.
   */
  identify(token: string | undefined, address: string, now = Date.now()): Identity {
    const wait = this.failures.blockedFor(address, now);
    if (wait > 0) return { ok: false, blocked: true, reason: `too many failed attempts from ${address}: blocked for ${Math.ceil(wait / 1000)} s` };
    const r = this.whose(token, now);
    if (!r.ok) this.failures.fail(address, now);
    return r;
  }

  private whose(token: string | undefined, now: number): Identity {
    if (!token) return { ok: false, reason: 'no token' };
    if (isHmacToken(token)) {
      const v = verifyToken(token, this.cfg.hmacKeys, Math.floor(now / 1000));
      if (!v.ok) return { ok: false, reason: v.reason };
      return { ok: true, clientName: v.claims.sub, ...(v.claims.dns ? { dns: new Set(v.claims.dns) } : {}) };
    }
    const given = digest(token);
    let found: Identity = { ok: false, reason: 'unknown token' };
    for (const [clientName, entry] of Object.entries(this.cfg.tokens)) {
      const shared = typeof entry === 'string' ? { token: entry } : entry;
      // No early exit: the time does not say which entry matched.
      if (timingSafeEqual(digest(shared.token), given) && !found.ok) found = { ok: true, clientName, ...(shared.dns ? { dns: new Set(shared.dns) } : {}) };
    }
    return found;
  }

  private verify(clientName: string, token: string | undefined, now: number): AuthResult {
    if (!token) return { ok: false, reason: 'no token' };
    if (isHmacToken(token)) {
      const v = verifyToken(token, this.cfg.hmacKeys, Math.floor(now / 1000));
      if (!v.ok) return { ok: false, reason: v.reason };
      if (v.claims.sub !== clientName) return { ok: false, reason: 'token was issued for another clientName' };
      return { ok: true, via: 'hmac', ...(v.claims.dns ? { dns: new Set(v.claims.dns) } : {}) };
    }
    const entry = Object.hasOwn(this.cfg.tokens, clientName) ? this.cfg.tokens[clientName] : undefined;
    if (entry === undefined) return { ok: false, reason: 'no shared token configured for this clientName' };
    const shared = typeof entry === 'string' ? { token: entry } : entry;
    // Compare digests: constant time whatever the lengths.
    if (!timingSafeEqual(digest(shared.token), digest(token))) return { ok: false, reason: 'wrong token' };
    return { ok: true, via: 'shared', ...(shared.dns ? { dns: new Set(shared.dns) } : {}) };
  }
}

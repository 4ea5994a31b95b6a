// Desktop authentication at RequestOpen. Mode 'none' accepts everyone (a lab, the tests); mode
// 'token' requires either the client's shared token from the config or a signed JWT (jwt.ts) whose
// `sub` is the clientName. A token may carry a DN scope: the gateway then refuses
// RequestRegisterAddress and any request whose thisDN is outside it.
// Failed attempts are counted per remote address (FailureLimiter); a code and a reason are returned
// for the log and the answer, never the token. Shared tokens are checked synchronously; a JWT's check
// is asynchronous (jose), so check() returns a Promise for those.
import { createHash, timingSafeEqual } from 'node:crypto';
import { JwtVerifier, looksLikeJwt, type JwtKeys, type TokenErrorCode } from './jwt.js';
import { FailureLimiter } from './rate-limit.js';

export interface SharedToken { token: string; dns?: string[] }

export interface AuthConfig {
  mode: 'none' | 'token';
  /** clientName → shared token (string) or {token, dns}. */
  tokens: Record<string, string | SharedToken>;
  /** keyId → HS256 secret for signed tokens (JWT). */
  hmacKeys: Record<string, string>;
  /** RS256 / ES256 public keys by key id, a local JWKS, and the required issuer / audience (jwt.ts). */
  publicKeys?: JwtKeys['publicKeys'];
  jwks?: JwtKeys['jwks'];
  issuer?: string;
  audience?: string;
  /** Failed opens per remote address within failureWindowMs before that address is blocked. 0 = never. */
  maxFailures: number;
  failureWindowMs: number;
  /** Client names whose token (shared or signed, without a DN scope) may read operator endpoints (/debug/state). */
  operators: string[];
}

export const DEFAULT_AUTH: AuthConfig = { mode: 'none', tokens: {}, hmacKeys: {}, maxFailures: 10, failureWindowMs: 60_000, operators: [] };

/** Why a token was refused: a signed token's TokenErrorCode, or one of the shared-token / address cases. */
export type AuthErrorCode = TokenErrorCode | 'NoToken' | 'WrongToken' | 'NoSharedToken' | 'TokenForAnotherClient' | 'Blocked';

export interface AuthRefusal { ok: false; code: AuthErrorCode; reason: string; blocked?: boolean }

export type AuthResult = { ok: true; via: 'none' | 'shared' | 'jwt'; dns?: ReadonlySet<string> } | AuthRefusal;

/** Who a bare token (an HTTP `Authorization: Bearer`) belongs to. */
export type Identity = { ok: true; clientName: string; dns?: ReadonlySet<string> } | AuthRefusal;

const refuse = (code: AuthErrorCode, reason: string): AuthRefusal => ({ ok: false, code, reason });

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class Authenticator {
  private readonly failures: FailureLimiter;
  /** Set iff any signing key is configured: only then is a JWT-shaped token taken as a JWT. */
  private readonly jwt: JwtVerifier | undefined;

  constructor(readonly cfg: AuthConfig) {
    this.failures = new FailureLimiter(cfg.maxFailures, cfg.failureWindowMs);
    const signed = Object.keys(cfg.hmacKeys).length > 0 || Object.keys(cfg.publicKeys ?? {}).length > 0 || cfg.jwks !== undefined;
    this.jwt = signed ? new JwtVerifier({ hmacKeys: cfg.hmacKeys, publicKeys: cfg.publicKeys, jwks: cfg.jwks, issuer: cfg.issuer, audience: cfg.audience }) : undefined;
  }

  get required(): boolean { return this.cfg.mode === 'token'; }

  /**
   * Checks one RequestOpen. `address` is the remote IP (no port): the unit of rate limiting.
   * A blocked address is refused without looking at the token. A Promise for a JWT (never rejects).
   */
  check(clientName: string, token: string | undefined, address: string, now = Date.now()): AuthResult | Promise<AuthResult> {
    if (this.cfg.mode === 'none') return { ok: true, via: 'none' };
    const blocked = this.blocked(address, now);
    if (blocked) return blocked;
    const r = this.verify(clientName, token, now);
    return r instanceof Promise ? r.then((v) => this.counted(v, address, now)) : this.counted(r, address, now);
  }

  /**
   * Finds whose token this is (no clientName given): the `sub` of a signed token, or the client whose
   * shared token it is (every entry compared in constant time). Failures count like RequestOpen's.
   */
  async identify(token: string | undefined, address: string, now = Date.now()): Promise<Identity> {
    const blocked = this.blocked(address, now);
    if (blocked) return blocked;
    return this.counted(await this.whose(token, now), address, now);
  }

  private blocked(address: string, now: number): AuthRefusal | undefined {
    const wait = this.failures.blockedFor(address, now);
    return wait > 0 ? { ok: false, code: 'Blocked', blocked: true, reason: `too many failed attempts from ${address}: blocked for ${Math.ceil(wait / 1000)} s` } : undefined;
  }

  private counted<T extends AuthResult | Identity>(r: T, address: string, now: number): T {
    if (!r.ok) this.failures.fail(address, now);
    return r;
  }

  private async whose(token: string | undefined, now: number): Promise<Identity> {
    if (!token) return refuse('NoToken', 'no token');
    if (this.jwt && looksLikeJwt(token)) {
      const v = await this.jwt.verify(token, Math.floor(now / 1000));
      if (!v.ok) return refuse(v.code, v.reason);
      return { ok: true, clientName: v.claims.sub, ...(v.claims.dns ? { dns: new Set(v.claims.dns) } : {}) };
    }
    const given = digest(token);
    let found: Identity = refuse('WrongToken', 'unknown token');
    for (const [clientName, entry] of Object.entries(this.cfg.tokens)) {
      const shared = typeof entry === 'string' ? { token: entry } : entry;
      // No early exit: the time does not say which entry matched.
      if (timingSafeEqual(digest(shared.token), given) && !found.ok) found = { ok: true, clientName, ...(shared.dns ? { dns: new Set(shared.dns) } : {}) };
    }
    return found;
  }

  /** A token of three dot-separated base64url parts is a JWT when signing keys are configured. */
  private verify(clientName: string, token: string | undefined, now: number): AuthResult | Promise<AuthResult> {
    if (!token) return refuse('NoToken', 'no token');
    if (this.jwt && looksLikeJwt(token)) {
      return this.jwt.verify(token, Math.floor(now / 1000)).then((v): AuthResult => {
        if (!v.ok) return refuse(v.code, v.reason);
        if (v.claims.sub !== clientName) return refuse('TokenForAnotherClient', 'token was issued for another clientName');
        return { ok: true, via: 'jwt', ...(v.claims.dns ? { dns: new Set(v.claims.dns) } : {}) };
      });
    }
    const entry = Object.hasOwn(this.cfg.tokens, clientName) ? this.cfg.tokens[clientName] : undefined;
    if (entry === undefined) return refuse('NoSharedToken', 'no shared token configured for this clientName');
    const shared = typeof entry === 'string' ? { token: entry } : entry;
    // Compare digests: constant time whatever the lengths.
    if (!timingSafeEqual(digest(shared.token), digest(token))) return refuse('WrongToken', 'wrong token');
    return { ok: true, via: 'shared', ...(shared.dns ? { dns: new Set(shared.dns) } : {}) };
  }
}

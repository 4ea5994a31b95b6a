// Signed desktop tokens are JWTs (RFC 7519), checked with `jose`: contact centers already mint them
// from their SSO, and `tandem token` mints one too. Accepted:
// - HS256 with a shared secret per key id (`kid` header; tserver.auth.hmacKeys / hmacKeyFiles);
// - RS256 / ES256 (P-256) with a public key per key id (publicKeyFiles: PEM) or from a JWKS file
//   (jwksFile: the key set an SSO publishes, saved locally; no network call at RequestOpen).
// Claims: `sub` = the RequestOpen clientName and `exp` (unix seconds) are required; `dns` (optional,
// an array of strings) limits the DNs; `nbf`, `iss`, `aud` are checked when present / configured.
// Every refusal has a code (TokenErrorCode): logged, and first in the EventError message.
import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, SignJWT, type JSONWebKeySet, type JWSHeaderParameters, type JWTPayload } from 'jose';
// The protocol's limit on a RequestOpen token: the edge validator refuses a longer one as BadRequest,
// and the verifier does not even decode one (a token checked outside RequestOpen, e.g. a Bearer).
import { MAX_TOKEN_CHARS } from '../protocol/attributes.js';

export interface TokenClaims {
  /** The clientName the token is for. */
  sub: string;
  /** Expiry, unix seconds. */
  exp: number;
  iat?: number;
  /** DNs the client may register and act on; absent = any DN. */
  dns?: string[];
}

export type TokenErrorCode =
  | 'TokenMalformed' | 'TokenExpired' | 'TokenNotYetValid' | 'TokenBadSignature' | 'TokenAlgorithm'
  | 'TokenUnknownKey' | 'TokenClaimMissing' | 'TokenClaimInvalid';

export type Verified =
  | { ok: true; claims: TokenClaims; alg: string; kid?: string }
  | { ok: false; code: TokenErrorCode; reason: string };

export type PublicKeyAlg = 'RS256' | 'ES256';

/** The keys a T-Server accepts signed tokens from (tserver.auth; security-config.ts reads them). */
export interface JwtKeys {
  /** kid → HS256 secret. */
  hmacKeys: Readonly<Record<string, string>>;
  /** kid → public key and the one algorithm it verifies. */
  publicKeys?: Readonly<Record<string, { key: KeyObject; alg: PublicKeyAlg }>>;
  /** A local JSON Web Key Set (RS256 / ES256 keys). */
  jwks?: JSONWebKeySet;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud` (one of), when set. */
  audience?: string;
}

/** Three base64url parts: a JWS in compact form (anything else is a shared token). */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

class KeyNotFound extends Error {}

export class JwtVerifier {
  private readonly algorithms: string[];
  private readonly jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  private readonly secrets = new Map<string, Uint8Array>();

  constructor(private readonly keys: JwtKeys) {
    for (const [kid, secret] of Object.entries(keys.hmacKeys)) this.secrets.set(kid, new TextEncoder().encode(secret));
    this.jwks = keys.jwks ? createLocalJWKSet(keys.jwks) : undefined;
    const pub = Object.values(keys.publicKeys ?? {}).map((k) => k.alg);
    this.algorithms = [...(this.secrets.size ? ['HS256'] : []), ...new Set(keys.jwks ? ['RS256', 'ES256'] : pub)];
  }

  /** Which algorithms this server takes, and from which setting: for error messages. */
  get accepted(): string {
    return this.algorithms.length ? this.algorithms.join(', ') : 'none (no tserver.auth.hmacKeys, publicKeyFiles or jwksFile)';
  }

  /** Checks signature, algorithm, key, expiry and claims; `nowSec` in unix seconds. Never rejects. */
  async verify(token: string, nowSec: number): Promise<Verified> {
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, code: 'TokenMalformed', reason: `token longer than ${MAX_TOKEN_CHARS} characters` };
    if (!looksLikeJwt(token)) return { ok: false, code: 'TokenMalformed', reason: 'not a JWT (expected <header>.<payload>.<signature>, base64url)' };
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWSHeaderParameters;
    } catch {
      return { ok: false, code: 'TokenMalformed', reason: 'the JWT header is not base64url JSON' };
    }
    try {
      const { payload } = await jwtVerify(token, (h, t) => this.key(h, t), {
        algorithms: this.algorithms,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(nowSec * 1000),
        ...(this.keys.issuer ? { issuer: this.keys.issuer } : {}),
        ...(this.keys.audience ? { audience: this.keys.audience } : {}),
      });
      return claimsOf(payload, header);
    } catch (err) {
      return refusal(err, header, this.accepted);
    }
  }

  private key(h: JWSHeaderParameters, t: Parameters<ReturnType<typeof createLocalJWKSet>>[1]): Uint8Array | KeyObject | Promise<CryptoKey> {
    const kid = h.kid;
    if (h.alg === 'HS256') {
      if (kid !== undefined) {
        const s = this.secrets.get(kid);
        if (!s) throw new KeyNotFound(`no HS256 key "${kid.slice(0, 64)}" in tserver.auth.hmacKeys`);
        return s;
      }
      if (this.secrets.size === 1) return [...this.secrets.values()][0]!;
      throw new KeyNotFound(`the token has no "kid" header and ${this.secrets.size} HS256 keys are configured: mint it with the key id`);
    }
    const pk = kid !== undefined ? this.keys.publicKeys?.[kid] : undefined;
    if (pk && pk.alg === h.alg) return pk.key;
    if (this.jwks) return this.jwks(h, t);
    throw new KeyNotFound(`no ${h.alg} public key${kid !== undefined ? ` "${kid.slice(0, 64)}"` : ' (no "kid" header)'} in tserver.auth.publicKeyFiles`);
  }
}

function claimsOf(p: JWTPayload, header: JWSHeaderParameters): Verified {
  if (typeof p.sub !== 'string' || p.sub === '') return { ok: false, code: 'TokenClaimInvalid', reason: 'claim "sub" must be the clientName (a non-empty string)' };
  const dns = (p as { dns?: unknown }).dns;
  if (dns !== undefined && (!Array.isArray(dns) || dns.some((d) => typeof d !== 'string'))) {
    return { ok: false, code: 'TokenClaimInvalid', reason: 'claim "dns" must be an array of strings' };
  }
  const claims: TokenClaims = { sub: p.sub, exp: p.exp!, ...(p.iat !== undefined ? { iat: p.iat } : {}), ...(dns ? { dns: dns as string[] } : {}) };
  return { ok: true, claims, alg: header.alg!, ...(header.kid !== undefined ? { kid: header.kid } : {}) };
}

function refusal(err: unknown, header: JWSHeaderParameters, accepted: string): Verified & { ok: false } {
  if (err instanceof KeyNotFound) return { ok: false, code: 'TokenUnknownKey', reason: err.message };
  if (err instanceof errors.JWTExpired) {
    const exp = Number((err.payload as JWTPayload).exp);
    return { ok: false, code: 'TokenExpired', reason: `token expired at ${new Date(exp * 1000).toISOString()}` };
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return { ok: false, code: 'TokenClaimMissing', reason: `missing required claim "${err.claim}"` };
    if (err.claim === 'nbf' || err.claim === 'iat') return { ok: false, code: 'TokenNotYetValid', reason: `token not valid yet ("${err.claim}" is in the future)` };
    return { ok: false, code: 'TokenClaimInvalid', reason: `claim "${err.claim}" is not accepted (${err.message})` };
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, code: 'TokenBadSignature', reason: 'bad token signature' };
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return { ok: false, code: 'TokenAlgorithm', reason: `algorithm ${JSON.stringify(header.alg ?? null).slice(0, 20)} is not accepted: this server takes ${accepted}` };
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return { ok: false, code: 'TokenUnknownKey', reason: `no single key in tserver.auth.jwksFile matches kid ${JSON.stringify(header.kid ?? null).slice(0, 70)} and ${header.alg}` };
  }
  return { ok: false, code: 'TokenMalformed', reason: `malformed token (${(err as Error).message})` };
}

/** An HS256 JWT for `tandem token` (and tests): `kid` names the key, as the server's hmacKeys do. */
export function mintHs256(secret: string, claims: TokenClaims, kid?: string): Promise<string> {
  if (!secret) throw new Error('the signing secret is empty');
  if (kid !== undefined && !/^[\w-]{1,64}$/.test(kid)) throw new Error(`key id "${kid}" must be 1-64 characters of A-Z a-z 0-9 _ -`);
  const { sub, exp, iat, dns } = claims;
  const jwt = new SignJWT(dns ? { dns } : {}).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(kid !== undefined ? { kid } : {}) }).setSubject(sub).setExpirationTime(exp);
  if (iat !== undefined) jwt.setIssuedAt(iat);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** "8h", "30m", "90s", "2d" or plain seconds → seconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a duration: use e.g. 90s, 30m, 8h, 2d`);
  const n = Number(m[1]);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n * unit;
}

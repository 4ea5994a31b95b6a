// Signed desktop tokens an external system (SSO, a CRM, a provisioning script) can mint without
// talking to the T-Server: `v1.<keyId>.<base64url JSON payload>.<base64url HMAC-SHA256>`. The MAC
// covers everything before the last dot, so neither the key id nor the payload can be swapped.
// Payload: {sub: clientName, exp: unix seconds, iat?: unix seconds, dns?: ["5001", ...]}.
// Key ids let operators rotate secrets: add the new key, mint with it, remove the old one later.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** The clientName the token is for. */
  sub: string;
  /** Expiry, unix seconds. */
  exp: number;
  iat?: number;
  /** DNs the client may register and act on; absent = any DN. */
  dns?: string[];
}

export type Verified = { ok: true; claims: TokenClaims; keyId: string } | { ok: false; reason: string };

const PREFIX = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * Bounded work on hostile input: nothing longer is even decoded (the edge validator refuses a longer
 * RequestOpen token as BadRequest). Fits a DN list of about 500 four-digit or 250 twelve-digit DNs.
 */
export const MAX_TOKEN_CHARS = 8192;

function mac(secret: string, signed: string): Buffer {
  return createHmac('sha256', secret).update(signed, 'utf8').digest();
}

export function isHmacToken(token: string): boolean {
  return token.startsWith(`${PREFIX}.`);
}

export function mintToken(keyId: string, secret: string, claims: TokenClaims): string {
  if (!KEY_ID.test(keyId)) throw new Error(`key id "${keyId}" must be 1-64 characters of A-Z a-z 0-9 _ -`);
  if (!secret) throw new Error('the signing secret is empty');
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  const signed = `${PREFIX}.${keyId}.${payload}`;
  return `${signed}.${mac(secret, signed).toString('base64url')}`;
}

/** Checks format, key, signature, expiry and claim types. `nowSec` in unix seconds. */
export function verifyToken(token: string, keys: Readonly<Record<string, string>>, nowSec: number): Verified {
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: `token longer than ${MAX_TOKEN_CHARS} characters` };
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed signed token (expected v1.<keyId>.<payload>.<signature>)' };
  const [, keyId, payload, sig] = parts as [string, string, string, string];
  const secret = Object.hasOwn(keys, keyId) ? keys[keyId] : undefined;
  if (!secret) return { ok: false, reason: `unknown signing key id "${keyId.slice(0, 64)}"` };
  const expected = mac(secret, `${PREFIX}.${keyId}.${payload}`);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad token signature' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'token payload is not JSON' };
  }
  const c = claims as Partial<TokenClaims> | null;
  if (typeof c !== 'object' || c === null || typeof c.sub !== 'string' || !Number.isFinite(c.exp)) {
    return { ok: false, reason: 'token payload needs "sub" (string) and "exp" (unix seconds)' };
  }
  if (c.dns !== undefined && (!Array.isArray(c.dns) || c.dns.some((d) => typeof d !== 'string'))) {
    return { ok: false, reason: 'token "dns" must be an array of strings' };
  }
  if ((c.exp as number) <= nowSec) return { ok: false, reason: `token expired at ${new Date((c.exp as number) * 1000).toISOString()}` };
  return { ok: true, claims: c as TokenClaims, keyId };
}

/** "8h", "30m", "90s", "2d" or plain seconds → seconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a duration: use e.g. 90s, 30m, 8h, 2d`);
  const n = Number(m[1]);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n * unit;
}

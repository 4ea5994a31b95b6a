// HTTP Digest for REGISTER (RFC 3261 §22, RFC 2617 with qop=auth, MD5). Pure but for the nonce
// secret: nonces are HMACs of their own timestamp, so no table grows with challenges, and a nonce
// older than NONCE_TTL_MS is answered stale=true (the phone retries without asking its user).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_TTL_MS = 300_000;

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export type DigestVerdict = { ok: true } | { ok: false; stale: boolean; why: string };

export class DigestAuth {
  private readonly key = randomBytes(32);

  constructor(readonly realm: string) {}

  nonce(now: number): string {
    const ts = now.toString(16);
    return `${ts}.${createHmac('sha256', this.key).update(ts).digest('hex').slice(0, 32)}`;
  }

  /** The WWW-Authenticate value of a 401. */
  challenge(now: number, stale = false): string {
    return `Digest realm="${this.realm}", nonce="${this.nonce(now)}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  /** Checks an Authorization header for `user` with `password`. */
  verify(authorization: string | undefined, method: string, user: string, password: string, now: number): DigestVerdict {
    if (!authorization) return { ok: false, stale: false, why: 'no Authorization header' };
    const p = parseDigest(authorization);
    if (!p) return { ok: false, stale: false, why: 'Authorization is not Digest' };
    if (p.username !== user) return { ok: false, stale: false, why: `username "${p.username}" is not the registering DN ${user}` };
    if (p.realm !== this.realm) return { ok: false, stale: false, why: `realm "${p.realm}" is not "${this.realm}"` };
    const [ts, mac] = (p.nonce ?? '').split('.');
    if (!ts || !mac || mac !== createHmac('sha256', this.key).update(ts).digest('hex').slice(0, 32)) return { ok: false, stale: false, why: 'nonce not issued by this switch' };
    const ha1 = md5(`${user}:${this.realm}:${password}`);
    const ha2 = md5(`${method}:${p.uri ?? ''}`);
    const expected = p.qop ? md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
    const got = Buffer.from(p.response ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, Buffer.from(expected))) return { ok: false, stale: false, why: 'wrong password (digest response does not match)' };
    if (now - parseInt(ts, 16) > NONCE_TTL_MS) return { ok: false, stale: true, why: 'nonce expired' };
    return { ok: true };
  }
}

export function parseDigest(value: string): Record<string, string> | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  const re = /([a-zA-Z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let r = re.exec(m[1]!); r; r = re.exec(m[1]!)) out[r[1]!.toLowerCase()] = r[2] ?? r[3] ?? '';
  return out;
}

/** The client side (tests, tools): an Authorization value answering `challenge`. */
export function authorize(challenge: string, method: string, uri: string, user: string, password: string): string {
  const c = parseDigest(challenge) ?? {};
  const ha1 = md5(`${user}:${c.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const response = md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${user}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

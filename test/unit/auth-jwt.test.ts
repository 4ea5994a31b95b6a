// Signed desktop tokens are JWTs checked with jose (src/auth/jwt.ts): HS256 by key id, RS256 and
// ES256 by public key or JWKS; every refusal carries its code (expired, bad signature, algorithm,
// unknown key, missing or invalid claim, malformed). Plus the key settings in tserver.auth.
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { JwtVerifier, mintHs256, parseDuration } from '../../src/auth/jwt.js';
import { MAX_TOKEN_CHARS } from '../../src/protocol/attributes.js';
import { parseSecurity } from '../../src/auth/security-config.js';
import { checkSettings } from '../../src/lib/config-check.js';
import { TServerSection } from '../../src/processes/tserver/config-schema.js';
import { parseRequest } from '../../src/protocol/validate.js';

/** A `tserver` section as the config file gives it: checked against its schema, then read. */
const security = (raw: unknown) => parseSecurity(checkSettings(TServerSection, raw, 'tserver'));

const NOW = 1_700_000_000;
const keys = { k1: 'secret-one', k2: 'secret-two' };
const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

t.test('HS256: round trip by kid, expiry, bad signature; kid is signed', async (t) => {
  const v = new JwtVerifier({ hmacKeys: keys });
  const tok = await mintHs256(keys.k1, { sub: 'agent-5001', iat: NOW, exp: NOW + 60, dns: ['5001'] }, 'k1');
  t.same(await v.verify(tok, NOW), { ok: true, alg: 'HS256', kid: 'k1', claims: { sub: 'agent-5001', iat: NOW, exp: NOW + 60, dns: ['5001'] } });
  t.same(await v.verify(tok, NOW + 60), { ok: false, code: 'TokenExpired', reason: `token expired at ${new Date((NOW + 60) * 1000).toISOString()}` });
  t.match(await v.verify(await mintHs256('not-the-key', { sub: 'x', exp: NOW + 60 }, 'k1'), NOW), { ok: false, code: 'TokenBadSignature' });
  const [h, p, sig] = tok.split('.') as [string, string, string];
  t.match(await v.verify(`${h}.${b64({ sub: 'supervisor', exp: NOW + 60 })}.${sig}`, NOW), { ok: false, code: 'TokenBadSignature' }, 'payload swapped');
  t.match(await v.verify(`${b64({ alg: 'HS256', kid: 'k2' })}.${p}.${sig}`, NOW), { ok: false, code: 'TokenBadSignature' }, 'kid swapped: the header is signed');
  t.match(await v.verify(await mintHs256(keys.k1, { sub: 'x', exp: NOW + 60 }, 'k9'), NOW), { ok: false, code: 'TokenUnknownKey', reason: /no HS256 key "k9"/ });
  t.match(await v.verify(await mintHs256(keys.k1, { sub: 'x', exp: NOW + 60 }), NOW), { ok: false, code: 'TokenUnknownKey', reason: /no "kid" header and 2 HS256 keys/ });
  t.match(await new JwtVerifier({ hmacKeys: { only: 's' } }).verify(await mintHs256('s', { sub: 'x', exp: NOW + 60 }), NOW), { ok: true }, 'one key: no kid needed (an SSO that sets none)');
});

t.test('algorithm: only what the configured keys verify; none and HS384 refused', async (t) => {
  const v = new JwtVerifier({ hmacKeys: keys });
  const hs384 = await new SignJWT({}).setProtectedHeader({ alg: 'HS384', kid: 'k1' }).setSubject('x').setExpirationTime(NOW + 60).sign(enc(keys.k1));
  t.match(await v.verify(hs384, NOW), { ok: false, code: 'TokenAlgorithm', reason: /"HS384" is not accepted: this server takes HS256/ });
  t.match(await v.verify(`${b64({ alg: 'none' })}.${b64({ sub: 'x', exp: NOW + 60 })}.`, NOW), { ok: false, code: 'TokenAlgorithm' });
  const rs = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'r1' }).setSubject('x').setExpirationTime(NOW + 60).sign(rsa.privateKey);
  t.match(await v.verify(rs, NOW), { ok: false, code: 'TokenAlgorithm' }, 'RS256 where only HS256 keys are set');
  // Algorithm confusion: an HS256 token whose "secret" is the server's public RSA key.
  const pub = new JwtVerifier({ hmacKeys: {}, publicKeys: { r1: { key: rsa.publicKey, alg: 'RS256' } } });
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  t.match(await pub.verify(await mintHs256(pem, { sub: 'x', exp: NOW + 60 }, 'r1'), NOW), { ok: false, code: 'TokenAlgorithm' });
  t.match(await pub.verify(rs, NOW), { ok: true, alg: 'RS256', kid: 'r1', claims: { sub: 'x' } });
});

t.test('claims: sub and exp required, nbf, dns and sub types, issuer and audience', async (t) => {
  const v = new JwtVerifier({ hmacKeys: keys });
  const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(enc(keys.k1));
  t.same(await v.verify(await sign({ sub: 'x' }), NOW), { ok: false, code: 'TokenClaimMissing', reason: 'missing required claim "exp"' });
  t.same(await v.verify(await sign({ exp: NOW + 60 }), NOW), { ok: false, code: 'TokenClaimMissing', reason: 'missing required claim "sub"' });
  t.match(await v.verify(await sign({ sub: 'x', exp: NOW + 60, nbf: NOW + 30 }), NOW), { ok: false, code: 'TokenNotYetValid' });
  t.match(await v.verify(await sign({ sub: 'x', exp: NOW + 60, dns: [5001] }), NOW), { ok: false, code: 'TokenClaimInvalid', reason: /"dns" must be an array of strings/ });
  t.match(await v.verify(await sign({ sub: 7, exp: NOW + 60 }), NOW), { ok: false, code: 'TokenClaimInvalid', reason: /"sub"/ });
  const strict = new JwtVerifier({ hmacKeys: keys, issuer: 'https://sso.example', audience: 'tandem' });
  t.match(await strict.verify(await sign({ sub: 'x', exp: NOW + 60, iss: 'https://sso.example' }), NOW), { ok: false, code: 'TokenClaimMissing', reason: /"aud"/ });
  t.match(await strict.verify(await sign({ sub: 'x', exp: NOW + 60, iss: 'https://evil.example', aud: 'tandem' }), NOW), { ok: false, code: 'TokenClaimInvalid', reason: /"iss"/ });
  t.match(await strict.verify(await sign({ sub: 'x', exp: NOW + 60, iss: 'https://sso.example', aud: ['crm', 'tandem'] }), NOW), { ok: true });
});

t.test('ES256 from a JWKS file; an unknown kid; malformed and over-long tokens', async (t) => {
  const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'e1', alg: 'ES256', use: 'sig' };
  const v = new JwtVerifier({ hmacKeys: {}, jwks: { keys: [jwk] } });
  const es = (kid: string) => new SignJWT({ dns: ['5001'] }).setProtectedHeader({ alg: 'ES256', kid }).setSubject('agent').setExpirationTime(NOW + 60).sign(ec.privateKey);
  t.match(await v.verify(await es('e1'), NOW), { ok: true, alg: 'ES256', claims: { sub: 'agent', dns: ['5001'] } });
  t.match(await v.verify(await es('e9'), NOW), { ok: false, code: 'TokenUnknownKey', reason: /jwksFile/ });
  t.match(await v.verify('v1.k1.x.y', NOW), { ok: false, code: 'TokenMalformed' });
  t.match(await v.verify('a.b.c', NOW), { ok: false, code: 'TokenMalformed' });
  t.match(await v.verify('a'.repeat(MAX_TOKEN_CHARS + 1), NOW), { ok: false, code: 'TokenMalformed', reason: /longer than 8192/ });
});

t.test('a token of 200 ten-digit DNs fits the 8192-character bound; tandem token helpers', async (t) => {
  const dns200 = Array.from({ length: 200 }, (_, i) => String(4_155_500_000 + i));
  const wide = await mintHs256(keys.k1, { sub: 'sup', iat: NOW, exp: NOW + 60, dns: dns200 }, 'k1');
  t.ok(wide.length > 3000 && wide.length <= MAX_TOKEN_CHARS, `${wide.length} chars`);
  t.match(await new JwtVerifier({ hmacKeys: keys }).verify(wide, NOW), { ok: true, claims: { dns: dns200 } });
  const open = (token: string) => parseRequest(JSON.stringify({ request: 'RequestOpen', referenceId: 1, clientName: 'sup', token }), 64 * 1024);
  t.match(open(wide), { ok: true }, 'the edge validator takes it as RequestOpen.token');
  t.match(open('a'.repeat(MAX_TOKEN_CHARS + 1)), { ok: false, code: 'BadRequest', message: /at most 8192 characters: .*mint it for fewer DNs/ });
  await t.rejects(async () => mintHs256('s', { sub: 'x', exp: 1 }, 'bad id!'), /key id/);
  t.equal(parseDuration('8h'), 28_800);
  t.equal(parseDuration('90'), 90);
  t.throws(() => parseDuration('soon'));
});

t.test('key settings: publicKeyFiles (RSA -> RS256, P-256 -> ES256), jwksFile, issuer/audience; bad ones named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-jwt-'));
  const file = (name: string, body: string) => { const p = join(dir, name); writeFileSync(p, body); return p; };
  const rsaPem = file('rsa.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const ecPem = file('ec.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const ed = generateKeyPairSync('ed25519');
  const edPem = file('ed.pem', ed.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const jwks = file('jwks.json', JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'e1' }] }));
  const privJwks = file('priv.json', JSON.stringify({ keys: [await exportJWK(ec.privateKey)] }));
  const s = security({ auth: { mode: 'token', publicKeyFiles: { r1: rsaPem, e1: ecPem }, jwksFile: jwks, issuer: 'https://sso', audience: 'tandem' } });
  t.same(Object.fromEntries(Object.entries(s.auth.publicKeys!).map(([k, v]) => [k, v.alg])), { r1: 'RS256', e1: 'ES256' });
  t.equal(s.auth.jwks?.keys.length, 1);
  t.match(s.auth, { issuer: 'https://sso', audience: 'tandem' });
  t.throws(() => security({ auth: { publicKeyFiles: { x: edPem } } }), /ed25519 key: use an RSA key \(RS256\) or an EC P-256 key \(ES256\)/);
  t.throws(() => security({ auth: { publicKeyFiles: { x: jwks } } }), /publicKeyFiles\.x .* PEM public key/);
  t.throws(() => security({ auth: { jwksFile: rsaPem } }), /jwksFile .* is not a JSON Web Key Set/);
  t.throws(() => security({ auth: { jwksFile: privJwks } }), /public keys only/);
  t.throws(() => security({ auth: { issuer: 5 } }), /tserver\.auth\.issuer must be a non-empty string/);
  t.throws(() => security({ auth: { mode: 'token' } }), /none of tserver\.auth\.tokens, hmacKeys, hmacKeyFiles, publicKeyFiles, jwksFile is set: no desktop could ever open/);
});

// Pure auth logic: the authenticator's decisions (signed tokens themselves: auth-jwt.test.ts), the
// limiters, the Origin check, the per-request edge checks and the security config's validation.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintHs256 } from '../../src/auth/jwt.js';
import { Authenticator, DEFAULT_AUTH } from '../../src/auth/authenticator.js';
import { FailureLimiter, TokenBucket } from '../../src/auth/rate-limit.js';
import { checkOrigin, originOf } from '../../src/auth/origin.js';
import { parseSecurity } from '../../src/auth/security-config.js';
import { checkSettings, ConfigError } from '../../src/lib/config-check.js';
import { TServerSection } from '../../src/processes/tserver/config-schema.js';
import { checkRequest, cheapReferenceId, DEFAULT_EDGE_LIMITS, LogBudget } from '../../src/adapters/gateway/guard.js';
import type { Request } from '../../src/protocol/messages.js';

/** A `tserver` section as the config file gives it: checked against its schema, then read. */
const security = (raw: unknown, peerUrl?: string) => parseSecurity(checkSettings(TServerSection, raw, 'tserver'), peerUrl);

const keys = { k1: 'secret-one', k2: 'secret-two' };
const NOW = 1_700_000_000;

t.test('authenticator: shared and signed tokens, client binding, DN scope, failure blocking', async (t) => {
  const a = new Authenticator({ ...DEFAULT_AUTH, mode: 'token', tokens: { 'agent-1': 'tok-1', 'agent-2': { token: 'tok-2', dns: ['5002'] } }, hmacKeys: keys, maxFailures: 3, failureWindowMs: 1000 });
  const ms = NOW * 1000;
  t.match(a.check('agent-1', 'tok-1', '10.0.0.1', ms), { ok: true, via: 'shared' }, 'a shared token is checked synchronously');
  t.same([...(a.check('agent-2', 'tok-2', '10.0.0.1', ms) as { dns: Set<string> }).dns], ['5002']);
  t.match(a.check('agent-1', 'tok-2', '10.0.0.1', ms), { ok: false, code: 'WrongToken', reason: 'wrong token' });
  t.match(a.check('agent-1', undefined, '10.0.0.1', ms), { ok: false, code: 'NoToken', reason: 'no token' });
  t.match(a.check('nobody', 'tok-1', '10.0.0.1', ms), { ok: false, code: 'NoSharedToken', reason: /no shared token/ });
  // Three failures from 10.0.0.1 in the window: blocked, even with a valid token.
  t.match(a.check('agent-1', 'tok-1', '10.0.0.1', ms + 1), { ok: false, code: 'Blocked', blocked: true, reason: /too many failed attempts/ });
  t.match(a.check('agent-1', 'tok-1', '10.0.0.2', ms + 1), { ok: true }, 'another address is not affected');
  t.match(a.check('agent-1', 'tok-1', '10.0.0.1', ms + 1001), { ok: true }, 'unblocked once the failures left the window');
  const signed = await mintHs256(keys.k2, { sub: 'agent-7', exp: NOW + 10, dns: ['5007'] }, 'k2');
  const pending = a.check('agent-7', signed, '10.0.0.3', ms);
  t.ok(pending instanceof Promise, 'a JWT is checked asynchronously (jose)');
  t.match(await pending, { ok: true, via: 'jwt' });
  t.same([...((await a.check('agent-7', signed, '10.0.0.3', ms)) as { dns: Set<string> }).dns], ['5007']);
  t.match(await a.check('agent-8', signed, '10.0.0.3', ms), { ok: false, code: 'TokenForAnotherClient', reason: /another clientName/ });
  t.match(await a.check('agent-7', signed, '10.0.0.5', ms + 10_000), { ok: false, code: 'TokenExpired' });
  for (let i = 0; i < 2; i++) t.match(await a.check('agent-7', `${signed.slice(0, -4)}AAAA`, '10.0.0.3', ms), { ok: false, code: 'TokenBadSignature' });
  t.match(a.check('agent-7', signed, '10.0.0.3', ms), { ok: false, code: 'Blocked' }, 'JWT failures count toward the block too (refused at once, unchecked)');
  // With no signing key configured, a JWT-shaped string is just a (wrong) shared token.
  const sharedOnly = new Authenticator({ ...DEFAULT_AUTH, mode: 'token', tokens: { 'agent-1': 'tok-1' } });
  t.match(sharedOnly.check('agent-1', signed, '10.0.0.4', ms), { ok: false, code: 'WrongToken' });
  t.match(new Authenticator(DEFAULT_AUTH).check('anyone', undefined, '10.0.0.1'), { ok: true, via: 'none' });
});

t.test('failure limiter and token bucket', async (t) => {
  const f = new FailureLimiter(2, 100, 3);
  t.equal(f.blockedFor('a', 0), 0);
  f.fail('a', 0); f.fail('a', 10);
  t.equal(f.blockedFor('a', 20), 80);
  t.equal(f.blockedFor('a', 99), 1);
  t.equal(f.blockedFor('a', 100), 0, 'the first failure left the window');
  for (const x of ['b', 'c', 'd', 'e']) f.fail(x, 200);
  t.equal((f as unknown as { byAddress: Map<string, unknown> }).byAddress.size, 3, 'address table bounded');
  const b = new TokenBucket(10, 3, 0);
  t.same([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
  t.equal(b.take(100), true, 'one token back after 100 ms at 10/s');
  t.equal(b.take(100), false);
  t.equal(new TokenBucket(0, 0, 0).take(0), true, 'rate 0 = unlimited');
});

t.test('origin check: listed, loopback on loopback, same origin only by IP literal; the Host header alone never', async (t) => {
  const p = { allowed: ['https://crm.example.com'] };
  const remote = (host: string) => ({ host, viaLoopback: false });
  t.same(checkOrigin(undefined, remote('ts:7001'), p), { ok: true }, 'no Origin: not a browser');
  t.same(checkOrigin('https://crm.example.com', remote('ts:7001'), p), { ok: true });
  t.match(checkOrigin('http://ts:7001', remote('ts:7001'), p), { ok: false }, 'same origin by DNS name: could be DNS rebinding');
  t.match(checkOrigin('http://evil.example:7001', { host: 'evil.example:7001', viaLoopback: true }, p), { ok: false, reason: /allowedOrigins/ }, 'rebinding to loopback refused too');
  t.same(checkOrigin('http://10.0.0.11:7001', remote('10.0.0.11:7001'), p), { ok: true }, 'same origin by IP literal (the served desktop)');
  t.same(checkOrigin('http://[fe80::1]:7001', remote('[fe80::1]:7001'), p), { ok: true }, 'IPv6 literal');
  t.match(checkOrigin('http://10.0.0.12:7001', remote('10.0.0.11:7001'), p), { ok: false }, 'another address');
  t.same(checkOrigin('http://localhost:7002', { host: '127.0.0.1:7001', viaLoopback: true }, p), { ok: true }, 'loopback origin on a loopback connection');
  t.same(checkOrigin('http://127.0.0.1:7002', { host: '127.0.0.1:7001', viaLoopback: true }, p), { ok: true });
  t.match(checkOrigin('http://127.0.0.1:7002', remote('10.0.0.11:7001'), p), { ok: false }, 'a loopback origin from the network is not this machine');
  t.match(checkOrigin('file://x', { host: 'localhost', viaLoopback: true }, p), { ok: false }, 'only http(s) pages');
  t.match(checkOrigin('https://evil.example', remote('ts:7001'), p), { ok: false, reason: /not allowed/ });
  t.same(checkOrigin('https://evil.example', remote('ts:7001'), { allowed: ['*'] }), { ok: true });
  t.equal(originOf('wss://b.example:7002/tlib'), 'https://b.example:7002');
});

t.test('edge checks: DN scope, DNs per client, user data size; cheap referenceId; log budget', async (t) => {
  const limits = { ...DEFAULT_EDGE_LIMITS, maxDNsPerClient: 2, maxUserDataBytes: 20 };
  const reg = (dn: string) => ({ request: 'RequestRegisterAddress', referenceId: 1, thisDN: dn }) as Request;
  t.match(checkRequest(reg('5002'), new Set(['5001']), [], limits), { code: 'Unauthorized' });
  t.equal(checkRequest(reg('5001'), new Set(['5001']), [], limits), undefined);
  t.match(checkRequest(reg('5003'), undefined, ['5001', '5002'], limits), { code: 'Overloaded', message: /limit/ });
  t.equal(checkRequest(reg('5001'), undefined, ['5001', '5002'], limits), undefined, 're-registering is no new DN');
  const attach = { request: 'RequestAttachUserData', referenceId: 2, thisDN: '5001', connId: '0'.repeat(16), userData: { k: 'x'.repeat(30) } } as Request;
  t.match(checkRequest(attach, undefined, [], limits), { code: 'BadRequest', message: /userData is \d+ bytes/ });
  let deep: Record<string, unknown> = {};
  const root = deep;
  for (let i = 0; i < 12_000; i++) { const next = {}; deep.a = next; deep = next; }
  t.match(checkRequest({ ...attach, userData: root } as Request, undefined, [], { ...limits, maxUserDataBytes: 0 }), { code: 'BadRequest', message: /nested deeper than 16/ }, 'no stack overflow on 12k levels');
  t.equal(checkRequest({ ...attach, userData: { a: { b: [1, { c: 2 }] } } } as Request, undefined, [], { ...limits, maxUserDataBytes: 0 }), undefined);
  t.equal(cheapReferenceId('{"request":"X","referenceId": 42}'), 42);
  t.equal(cheapReferenceId('{"referenceId":-1}'), undefined);
  // The SDK's referenceIds (Date.now() x 1000: 16 digits): a rate-limited request's Overloaded answer
  // must carry it, or the SDK never retries it (ha-switchover lost requests to RequestTimeout).
  t.equal(cheapReferenceId('{"request":"RequestAgentReady","thisDN":"5011","referenceId":1796000506233400}'), 1796000506233400);
  t.equal(cheapReferenceId(`{"referenceId":${Number.MAX_SAFE_INTEGER}}`), Number.MAX_SAFE_INTEGER);
  t.equal(cheapReferenceId('{"referenceId":9007199254740993}'), undefined, 'beyond a safe integer: none');
  t.equal(cheapReferenceId('{"referenceId":12345678901234567}'), undefined, '17 digits: none');
  const lb = new LogBudget(2);
  const flushed: number[] = [];
  const seen = [0, 1, 2, 3, 1000].map((now) => lb.allow(now, (n) => flushed.push(n)));
  t.same(seen, [true, true, false, false, true]);
  t.same(flushed, [2]);
});

t.test('security config validation', async (t) => {
  t.same(parseSecurity(undefined).auth.mode, 'none');
  t.throws(() => security({ auth: { mode: 'token' } }), /none of tserver\.auth\.tokens, hmacKeys/, 'token mode without any token source');
  t.ok(t.throws(() => security({ auth: 1 })) instanceof ConfigError, 'a ConfigError (the CLI prints it and exits 1)');
  t.throws(() => security({ auth: { mode: 'tokens' } }), /^tserver\.auth\.mode must be one of "none", "token", got "tokens"$/);
  t.throws(() => security({ auth: { mode: 'token', tokens: { a: 5 } } }), /^tserver\.auth\.tokens\.a must be/);
  t.throws(() => security({ peerTls: { cert: 'a', key: 'b' } }), /^tserver\.peerTls\.ca is required: the PEM file of the CA that signed the peers' certificates \(mutual TLS\)$/);
  t.throws(() => security({ allowedOrigins: 'x' }), /^tserver\.allowedOrigins must be an array of origins/);
  t.throws(() => security({ auth: { hmacKeyFiles: { k: '/nonexistent/tandem.key' } } }), /^cannot read tserver\.auth\.hmacKeyFiles\.k \/nonexistent\/tandem\.key/);
  const keyDir = mkdtempSync(join(tmpdir(), 'tandem-keys-'));
  writeFileSync(join(keyDir, 'empty.key'), '\n');
  writeFileSync(join(keyDir, 'k.key'), ' s3cret\n');
  t.throws(() => security({ auth: { hmacKeyFiles: { k: join(keyDir, 'empty.key') } } }), /^tserver\.auth\.hmacKeyFiles\.k .*empty\.key is empty: put the HS256 secret in it/);
  t.same(security({ auth: { hmacKeyFiles: { k: join(keyDir, 'k.key') } } }).auth.hmacKeys, { k: 's3cret' }, 'whitespace dropped, as tandem token reads it');
  const s = security({ auth: { mode: 'token', hmacKeys: { k: 's' } }, allowedOrigins: ['https://a'] }, 'ws://b.example:7002/tlib');
  t.same(s.allowedOrigins, ['https://a', 'http://b.example:7002'], "the peer's origin is allowed (its desktop connects here too)");
});

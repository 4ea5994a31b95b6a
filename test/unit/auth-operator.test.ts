// Operator endpoints (/debug/state): who may read the whole state. Token auth: a Bearer token of a
// client listed in tserver.auth.operators, without a DN scope; failures count toward the address's
// block like RequestOpen's. Auth off: loopback callers only.
import t from 'tap';
import { mintHs256 } from '../../src/auth/jwt.js';
import { Authenticator, DEFAULT_AUTH } from '../../src/auth/authenticator.js';
import { authorizeOperator } from '../../src/auth/operator.js';
import { isIpLiteral, isLoopbackAddress, isLoopbackHostname } from '../../src/auth/loopback.js';
import { parseSecurity } from '../../src/auth/security-config.js';
import { checkSettings } from '../../src/lib/config-check.js';
import { TServerSection } from '../../src/processes/tserver/config-schema.js';

/** A `tserver` section as the config file gives it: checked against its schema, then read. */
const security = (raw: unknown) => parseSecurity(checkSettings(TServerSection, raw, 'tserver'));

const NOW = 1_700_000_000_000;
const KEY = 'k-secret';

t.test('token auth: operator token admitted; missing, wrong, non-operator, scoped refused', async (t) => {
  const auth = new Authenticator({ ...DEFAULT_AUTH, mode: 'token', tokens: { ops: 'ops-token', wall: 'wall-token', scopedOps: { token: 'so-token', dns: ['5001'] } }, hmacKeys: { k1: KEY }, operators: ['ops', 'scopedOps', 'sso-ops'], maxFailures: 3 });
  const bearer = (tok: string) => `Bearer ${tok}`;
  t.same(await authorizeOperator(auth, bearer('ops-token'), '10.0.0.9', NOW), { ok: true, who: 'ops' }, 'shared operator token');
  const signed = await mintHs256(KEY, { sub: 'sso-ops', exp: NOW / 1000 + 60 }, 'k1');
  t.same(await authorizeOperator(auth, bearer(signed), '10.0.0.9', NOW), { ok: true, who: 'sso-ops' }, 'signed operator token');
  t.match(await authorizeOperator(auth, undefined, '10.0.0.9', NOW), { ok: false, status: 401, reason: /Authorization: Bearer/ });
  t.match(await authorizeOperator(auth, 'Basic b3BzOng=', '10.0.0.9', NOW), { ok: false, status: 401 });
  t.match(await authorizeOperator(auth, bearer('wall-token'), '10.0.0.9', NOW), { ok: false, status: 403, reason: /"wall" is not an operator: list it in tserver.auth.operators/ });
  t.match(await authorizeOperator(auth, bearer('so-token'), '10.0.0.9', NOW), { ok: false, status: 403, reason: /DN scope/ });
  const expired = await mintHs256(KEY, { sub: 'sso-ops', exp: NOW / 1000 - 1 }, 'k1');
  t.match(await authorizeOperator(auth, bearer(expired), '10.0.0.7', NOW), { ok: false, status: 401, reason: /TokenExpired: token expired/ });
  // Wrong tokens count per address, as at RequestOpen: the third blocks even a good token.
  t.match(await authorizeOperator(auth, bearer('nope'), '10.0.0.7', NOW), { ok: false, status: 401, reason: /unknown token/ });
  t.match(await authorizeOperator(auth, bearer('nope'), '10.0.0.7', NOW), { ok: false, status: 401 });
  t.match(await authorizeOperator(auth, bearer('ops-token'), '10.0.0.7', NOW), { ok: false, status: 403, reason: /too many failed attempts/ });
  t.same(await authorizeOperator(auth, bearer('ops-token'), '10.0.0.9', NOW), { ok: true, who: 'ops' }, 'another address unaffected');
});

t.test('auth mode none: loopback callers only', async (t) => {
  const auth = new Authenticator(DEFAULT_AUTH);
  t.match(await authorizeOperator(auth, undefined, '127.0.0.1', NOW), { ok: true });
  t.match(await authorizeOperator(auth, undefined, '::ffff:127.0.0.1', NOW), { ok: true });
  t.match(await authorizeOperator(auth, undefined, '::1', NOW), { ok: true });
  t.match(await authorizeOperator(auth, 'Bearer anything', '10.0.0.9', NOW), { ok: false, status: 403, reason: /answers only on loopback/ });
});

t.test('settings: debugState and operators parsed and checked', async (t) => {
  t.equal(parseSecurity(undefined).debugState, false, 'off by default');
  t.equal(security({ debugState: true }).debugState, true);
  t.throws(() => security({ debugState: 'yes' }), /^tserver\.debugState must be true or false, got "yes"$/);
  t.same(security({ auth: { mode: 'token', tokens: { ops: 'x' }, operators: ['ops'] } }).auth.operators, ['ops']);
  t.throws(() => security({ auth: { operators: 'ops' } }), /^tserver\.auth\.operators must be an array of client names/);
});

t.test('loopback and IP-literal helpers', async (t) => {
  for (const a of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1', '[::1]']) t.ok(isLoopbackAddress(a), a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'localhost', undefined, '']) t.notOk(isLoopbackAddress(a), String(a));
  t.ok(isLoopbackHostname('localhost'));
  t.ok(isLoopbackHostname('app.localhost'));
  t.notOk(isLoopbackHostname('localhost.evil.example'));
  t.ok(isIpLiteral('10.0.0.1'));
  t.ok(isIpLiteral('[fe80::1]'));
  t.notOk(isIpLiteral('ts-a.cc.local'));
});

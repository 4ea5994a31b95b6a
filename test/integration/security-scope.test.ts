// Token DN scope on every request and every delivery, with real processes: a query by ConnID answers
// only for calls on the client's DNs (else exactly the unknown-ConnID answer: ConnIDs cannot be
// probed); registrations restored for a client name under a narrower token deliver nothing outside
// it, and RequestReplay returns only its DNs. A signed token with 200 DNs (`tandem token --dns`) opens.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintHs256 } from '../../src/auth/jwt.js';
import type { TEvent } from '../../src/protocol/messages.js';
import { spawnTandem } from '../helpers/process.js';
import { startStack } from '../helpers/tserver-fixture.js';
import { TestClient } from '../helpers/ws-client.js';

const KEY = 'hmac-KEY-scope-31f0';
const SECRET_MARK = 'SSN-078-05-1120';
const auth = { mode: 'token', hmacKeys: { k1: KEY } };
const token = (sub: string, dns?: string[]) => mintHs256(KEY, { sub, exp: Math.floor(Date.now() / 1000) + 600, ...(dns ? { dns } : {}) }, 'k1');

async function desk(t: Tap.Test, url: string, name: string, tok: string): Promise<TestClient> {
  const c = await TestClient.connect(url, name);
  t.teardown(() => c.close());
  const info = await c.open({ token: tok });
  if (info.event !== 'EventServerInfo') throw new Error(`${name}: open answered ${JSON.stringify(info)}`);
  return c;
}

t.test('scope: query by ConnID, restored registrations, replay', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { auth } } });
  const other = await desk(t, ts.url, 'other', await token('other'));

  // 1. An earlier session of "agent" with an unscoped token registered 5001 and 5008.
  const wide = await desk(t, ts.url, 'agent', await token('agent'));
  t.match(await wide.request('RequestRegisterAddress', { thisDN: '5001' }), { event: 'EventRegistered' });
  t.match(await wide.request('RequestRegisterAddress', { thisDN: '5008' }), { event: 'EventRegistered' });
  await wide.close();

  // 2. "agent" reopens with a token scoped to 5001: the 5008 registration is not served.
  const agent = await desk(t, ts.url, 'agent', await token('agent', ['5001']));
  await ts.proc.waitFor((l) => l.msg === 'client opened' && l.clientName === 'agent' && l.outOfScopeDNs === 1, 5_000, 'open logged with the out-of-scope count');
  const foreign = await other.request('RequestMakeCall', { thisDN: '5002', otherDN: '5008', userData: { ssn: SECRET_MARK } });
  t.equal(foreign.event, 'EventDialing');
  const mine = await other.request('RequestMakeCall', { thisDN: '5003', otherDN: '5001' });
  // Events go out in seq order: once 5001's ringing (later seq) is here, 5008's would have come first.
  const ringing = await agent.waitFor((e) => e.event === 'EventRinging' && e.thisDN === '5001', 5_000, '5001 ringing');
  t.equal(ringing.connId, mine.connId);
  t.same(agent.events.filter((e) => e.thisDN === '5008' || JSON.stringify(e).includes(SECRET_MARK)), [], 'nothing of 5008 delivered');

  // 3. Replay from the start: only 5001's events.
  const before = agent.events.length;
  t.match(await agent.request('RequestReplay', { afterSeq: 0 }), { event: 'EventACK' });
  const replayed = agent.events.slice(before).filter((e) => e.seq !== undefined);
  t.ok(replayed.some((e) => e.event === 'EventRinging' && e.thisDN === '5001'), `5001's events replayed (${replayed.length})`);
  t.same(replayed.filter((e) => e.thisDN !== '5001').map((e) => `${e.event} ${e.thisDN}`), [], 'no event of another DN replayed');

  // 4. Query by ConnID: the foreign call is answered exactly like a ConnID that never existed.
  const probe = await agent.request('RequestQueryCall', { connId: foreign.connId });
  const unknown = await agent.request('RequestQueryCall', { connId: 'ffffffffffffffff' });
  const shape = (e: TEvent, id: string) => ({ event: e.event, errorCode: e.errorCode, errorMessage: e.errorMessage?.replace(id, '<id>') });
  t.same(shape(probe, foreign.connId!), shape(unknown, 'ffffffffffffffff'), 'same answer as an unknown ConnID');
  t.match(probe, { event: 'EventError', errorCode: 'InvalidConnID' });
  t.notOk(JSON.stringify(probe).includes(SECRET_MARK));
  t.match(await agent.request('RequestQueryCall', { connId: mine.connId }), { event: 'EventPartyInfo', connId: mine.connId }, 'its own call answers');
  t.match(await other.request('RequestQueryCall', { connId: foreign.connId }), { event: 'EventPartyInfo', userData: { ssn: SECRET_MARK } }, 'an unscoped token still reads any call');
});

t.test('signed token with 200 DNs from `tandem token --dns` opens; an over-long token is a clear BadRequest', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { auth } } });
  const dir = mkdtempSync(join(tmpdir(), 'tandem-key-'));
  writeFileSync(join(dir, 'k1.secret'), `${KEY}\n`);
  const dns = Array.from({ length: 200 }, (_, i) => String(5000 + i));
  const p = spawnTandem(t, ['token', '--key-id', 'k1', '--secret-file', join(dir, 'k1.secret'), '--client', 'sup', '--ttl', '10m', '--dns', dns.join(',')], { name: 'token' });
  t.equal(await p.exited, 0, 'tandem token');
  const long = p.text[0]!.trim();
  t.ok(long.length > 1_000, `token is ${long.length} characters`);
  const sup = await desk(t, ts.url, 'sup', long);
  t.match(await sup.request('RequestRegisterAddress', { thisDN: '5199' }), { event: 'EventRegistered' }, 'the last DN of the list');
  t.match(await sup.request('RequestRegisterAddress', { thisDN: '5200' }), { event: 'EventError', errorCode: 'Unauthorized' });

  const c = await TestClient.connect(ts.url, 'sup');
  t.teardown(() => c.close());
  t.match(await c.open({ token: `eyJhbGciOiJIUzI1NiJ9.${'a'.repeat(9_000)}.x` }), { event: 'EventError', errorCode: 'BadRequest', errorMessage: /"token" must be a string of at most 8192 characters/ });
});

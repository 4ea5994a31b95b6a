// Bad input of every kind: an EventError with its code, the connection stays usable, nothing changes.
import t from 'tap';
import { openClient, startStack } from '../helpers/tserver-fixture.js';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { TestClient } from '../helpers/ws-client.js';
import type { TEvent } from '../../src/protocol/messages.js';

const MAX = 2048;

t.test('each kind of bad input', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { maxFrameBytes: MAX } } });
  const c = await TestClient.connect(ts.url, 'ann');
  t.teardown(() => c.close());

  // Before RequestOpen.
  const notOpened = await c.request('RequestRegisterAddress', { thisDN: '5001' });
  t.match(notOpened, { event: 'EventError', errorCode: 'NotOpened' });
  await c.open();
  const reg = await c.request('RequestRegisterAddress', { thisDN: '5001' });
  t.equal(reg.event, 'EventRegistered');
  const before = { health: await ts.health(), address: await c.request('RequestQueryAddress', { thisDN: '5001' }) };

  const errorAfter = async (send: () => void): Promise<TEvent> => {
    const from = c.events.length;
    send();
    return c.waitFor((e) => e.event === 'EventError' && c.events.indexOf(e) >= from, 5_000, 'EventError');
  };
  const cases: [string, () => void, string, boolean][] = [
    ['malformed JSON', () => c.sendRaw('{"request": "RequestQueryServer", '), 'BadRequest', false],
    ['not an object', () => c.sendRaw('[1,2]'), 'BadRequest', false],
    ['no referenceId', () => c.sendRaw(JSON.stringify({ request: 'RequestQueryServer' })), 'BadRequest', false],
    ['binary frame', () => c.sendRaw(Buffer.from('{"request":"RequestQueryServer","referenceId":1}')), 'BadRequest', false],
    ['unknown request', () => c.sendRaw(JSON.stringify({ request: 'RequestFly', referenceId: c.ref() })), 'UnknownRequest', true],
    ['missing attribute', () => c.sendRaw(JSON.stringify({ request: 'RequestAgentLogin', referenceId: c.ref(), thisDN: '5001' })), 'BadRequest', true],
    ['malformed DN', () => c.sendRaw(JSON.stringify({ request: 'RequestQueryAddress', referenceId: c.ref(), thisDN: 'no spaces allowed' })), 'InvalidDN', true],
    ['unknown DN', () => c.sendRaw(JSON.stringify({ request: 'RequestRegisterAddress', referenceId: c.ref(), thisDN: '1234' })), 'InvalidDN', true],
    ['malformed ConnID', () => c.sendRaw(JSON.stringify({ request: 'RequestAnswerCall', referenceId: c.ref(), thisDN: '5001', connId: 'XYZ' })), 'InvalidConnID', true],
    ['unknown ConnID', () => c.sendRaw(JSON.stringify({ request: 'RequestAnswerCall', referenceId: c.ref(), thisDN: '5001', connId: '00000000000000ff' })), 'InvalidConnID', true],
    ['oversized frame under the hard limit', () => c.sendRaw(JSON.stringify({ request: 'RequestQueryServer', referenceId: c.ref(), pad: 'x'.repeat(MAX + 100) })), 'BadRequest', true],
  ];
  for (const [what, send, code, hasRef] of cases) {
    const err = await errorAfter(send);
    t.equal(err.errorCode, code, what);
    t.type(err.errorMessage, 'string', `${what}: a message`);
    t.equal(err.referenceId !== undefined, hasRef, `${what}: referenceId ${hasRef ? 'echoed' : 'absent'}`);
    t.equal(err.seq, undefined, `${what}: no seq`);
    const alive = await c.request('RequestQueryServer');
    t.equal(alive.event, 'EventServerInfo', `${what}: connection still usable`);
  }
  const after = { health: await ts.health(), address: await c.request('RequestQueryAddress', { thisDN: '5001' }) };
  t.equal(after.health.seq, before.health.seq, 'no state event happened');
  t.same({ ...after.address, referenceId: 0, time: '' }, { ...before.address, referenceId: 0, time: '' }, 'the DN is as it was');
  const rejected = ts.proc.lines.filter((l) => l.msg === 'request rejected');
  t.ok(rejected.length >= cases.length, 'every rejection logged');
  t.notOk(JSON.stringify(rejected).includes('x'.repeat(100)), 'frames are not logged');

  // Over the hard limit (2x): closed with 1009 and a logged reason; other connections unaffected.
  const big = await openClient(t, ts.url, 'big');
  big.sendRaw(JSON.stringify({ request: 'RequestQueryServer', referenceId: 99, pad: 'x'.repeat(MAX * 2 + 10) }));
  t.equal((await big.closedWith()).code, 1009);
  await ts.proc.waitFor((l) => l.msg === 'client connection error' && l.clientName === 'big', 5_000, 'logged 1009');
  t.equal((await c.request('RequestQueryServer')).event, 'EventServerInfo');
});

t.test('a second connection with the same name replaces the first, registrations restored', async (t) => {
  const { ts } = await startStack(t);
  const a = await openClient(t, ts.url, 'ann');
  await a.request('RequestRegisterAddress', { thisDN: '5001' });
  const b = await openClient(t, ts.url, 'ann');
  t.same(await a.closedWith(), { code: 4000, reason: 'replaced by a new connection with the same clientName' });
  // ann's registration of 5001 came back on the new connection: agent events reach it.
  const other = await openClient(t, ts.url, 'sup');
  await other.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1', thisQueue: '7000', workMode: 'ManualIn' });
  const ev = await b.take((e) => e.event === 'EventAgentLogin');
  t.equal(ev.thisDN, '5001');
  t.equal(ev.referenceId, undefined, 'not the requester: no referenceId');
});

t.test('a referenceId reused by the same client name on its next connection for another request: DuplicateReferenceId, not run', async (t) => {
  const { sw, ts } = await startStack(t);
  const caller = await connectLink({ address: sw.address, serverName: 'caller' });
  t.teardown(() => caller.close());
  const first = await openClient(t, ts.url, 'ann'); // referenceIds 1, 2, 3… on each connection
  await first.request('RequestRegisterAddress', { thisDN: '5001' });
  await caller.inboundCall('4155550100', '5001');
  const ringing = await first.take((e) => e.event === 'EventRinging');
  const ref = first.ref();
  first.sendRaw(JSON.stringify({ request: 'RequestAnswerCall', referenceId: ref, thisDN: '5001', connId: ringing.connId }));
  const est = await first.waitFor((e) => e.referenceId === ref, 5_000, 'answer');
  t.equal(est.event, 'EventEstablished');

  // The desktop reconnects and numbers from 1 again: its RequestReleaseCall lands on the answered referenceId.
  const second = await openClient(t, ts.url, 'ann');
  second.sendRaw(JSON.stringify({ request: 'RequestReleaseCall', referenceId: ref, thisDN: '5001', connId: ringing.connId }));
  const err = await second.waitFor((e) => e.referenceId === ref, 5_000, 'answer to the reused referenceId');
  t.match(err, { event: 'EventError', errorCode: 'DuplicateReferenceId' }, 'not the old EventEstablished');
  t.match(err.errorMessage, /unique per client name across all its connections/);
  const info = await second.request('RequestQueryCall', { connId: ringing.connId });
  t.equal(info.event, 'EventPartyInfo', 'the call is still up: the release was not run');
  // The identical retry of the answer still gets the stored answer; a fresh referenceId releases.
  second.sendRaw(JSON.stringify({ request: 'RequestAnswerCall', referenceId: ref, thisDN: '5001', connId: ringing.connId }));
  t.equal((await second.take((e) => e.referenceId === ref && e.event !== 'EventError', 5_000, 'stored answer')).event, 'EventEstablished');
  second.sendRaw(JSON.stringify({ request: 'RequestReleaseCall', referenceId: 1000, thisDN: '5001', connId: ringing.connId }));
  t.equal((await second.waitFor((e) => e.referenceId === 1000, 5_000, 'release')).event, 'EventReleased');
});

// Bad input of every kind: an EventError with its code, the connection stays usable, nothing changes.
import t from 'tap';
import { openClient, startStack } from '../helpers/tserver-fixture.js';
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

// SIP calls survive a T-Server failover (issue 13 item 7): `tandem pair --sip` with SIPp phones and
// trunk callers; calls established (5001), held (5002), ringing (5003, a phone answered by NOTIFY
// talk) and queued (7001, no agent) when the primary is killed with SIGKILL. The SIP legs live in the
// switch, so no SIP message reaches any endpoint because of the kill (every SIPp scenario, which fails
// on an unexpected message, completes); the new primary shows every call and drives each to its end
// (both ends get BYE).
import t from 'tap';
import { startPairProcess } from '../helpers/pair-process.js';
import { openClient, writeConfig } from '../helpers/tserver-fixture.js';
import { runSipp, startPhone } from '../helpers/sipp.js';

t.test('kill -9 of the primary with SIP calls established, held, ringing and queued', async (t) => {
  const pair = await startPairProcess(t, ['--sip', '--sip-port', '0', '--config', writeConfig({})]);
  const { primary, backup } = await pair.roles();
  let ready: Record<string, unknown> | undefined;
  for (const end = Date.now() + 10_000; !ready && Date.now() < end;) {
    ready = pair.logLines('switch').find((l) => l.msg === 'ready');
    if (!ready) await new Promise((r) => setTimeout(r, 50)); // paces the log-file polls only
  }
  const sip = `127.0.0.1:${((ready?.ports ?? {}) as { sip: number }).sip}`;
  const urlOf = (name: 'A' | 'B') => `ws://127.0.0.1:${name === 'A' ? pair.ports.a : pair.ports.b}/tlib`;

  const d = await openClient(t, urlOf(primary), 'desk');
  for (const dn of ['5001', '5002', '5003', '5004', '7001']) await d.request('RequestRegisterAddress', { thisDN: dn });
  const phones = [await startPhone(t, sip, '5001'), await startPhone(t, sip, '5002'), await startPhone(t, sip, '5003', 'phone-talk.xml'), await startPhone(t, sip, '5004')];
  for (const dn of ['5001', '5002', '5003', '5004']) await d.waitFor((e) => e.event === 'EventDNBackInService' && e.thisDN === dn, 5_000, `${dn} in service`);

  const callers = [];
  for (const [dn, ani] of [['5001', '4155550101'], ['5002', '4155550102'], ['5003', '4155550103'], ['7001', '4155550104']] as const) {
    callers.push(await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: dn, keys: { ani } }));
  }
  const est1 = await d.waitFor((e) => e.event === 'EventEstablished' && e.thisDN === '5001', 10_000, '5001 established');
  const est2 = await d.waitFor((e) => e.event === 'EventEstablished' && e.thisDN === '5002', 10_000, '5002 established');
  t.equal((await d.request('RequestHoldCall', { thisDN: '5002', connId: est2.connId })).event, 'EventHeld');
  const ring3 = await d.waitFor((e) => e.event === 'EventRinging' && e.thisDN === '5003', 10_000, '5003 ringing');
  await d.waitFor((e) => e.event === 'EventQueued' && e.thisDN === '7001', 10_000, 'queued at 7001');

  process.kill(pair.pids()[primary]!, 'SIGKILL');
  const after = await pair.roles(30_000);
  t.equal(after.primary, backup, `the backup (${backup}) took over`);

  const n = await openClient(t, urlOf(backup), 'desk-after');
  for (const dn of ['5001', '5002', '5003', '5004', '7001']) await n.request('RequestRegisterAddress', { thisDN: dn });
  const calls = async (dn: string) => (await n.request('RequestQueryAddress', { thisDN: dn })).calls ?? [];
  t.match(await calls('5001'), [{ connId: est1.connId }], 'the established call is there');
  t.match(await calls('5002'), [{ connId: est2.connId }], 'the held call is there');
  t.match(await calls('5003'), [{ connId: ring3.connId }], 'the ringing call is there');
  t.equal((await calls('7001')).length, 1, 'the queued call is there');

  t.equal((await n.request('RequestReleaseCall', { thisDN: '5001', connId: est1.connId })).event, 'EventReleased');
  t.equal((await n.request('RequestRetrieveCall', { thisDN: '5002', connId: est2.connId })).event, 'EventRetrieved');
  t.equal((await n.request('RequestReleaseCall', { thisDN: '5002', connId: est2.connId })).event, 'EventReleased');
  t.equal((await n.request('RequestAnswerCall', { thisDN: '5003', connId: ring3.connId })).event, 'EventEstablished', 'answered by NOTIFY talk from the new primary');
  t.equal((await n.request('RequestReleaseCall', { thisDN: '5003', connId: ring3.connId })).event, 'EventReleased');
  await n.request('RequestAgentLogin', { thisDN: '5004', agentId: 'bob', thisQueue: '7001', workMode: 'ManualIn' });
  await n.request('RequestAgentReady', { thisDN: '5004' });
  const est4 = await n.waitFor((e) => e.event === 'EventEstablished' && e.thisDN === '5004', 10_000, 'the queued caller reached 5004');
  t.equal((await n.request('RequestReleaseCall', { thisDN: '5004', connId: est4.connId })).event, 'EventReleased');
  await Promise.all([...callers, ...phones].map((p) => p.done()));
  t.pass('every SIPp phone and caller completed its scenario: no stray SIP message, BYE at both ends');
});

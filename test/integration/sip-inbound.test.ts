// Issue 13's done-when, on real processes: `tandem switch --sip --sip-port 0`, a T-Server, WebSocket
// desktops and SIPp endpoints. A SIPp phone registers as 5001 (EventDNBackInService), the agent logs
// in on 5001, a SIPp trunk call to 8000 is routed to queue 7000, rings the phone, is answered (by the
// phone itself, or by RequestAnswerCall through NOTIFY talk) and released from the desktop (BYE to
// both ends); every desktop event is the one PROTOCOL.md names, in order.
import t from 'tap';
import type { TEvent } from '../../src/protocol/messages.js';
import { openClient, startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { isStateEvent, type TestClient } from '../helpers/ws-client.js';
import { register, runSipp, startPhone } from '../helpers/sipp.js';
import type { LogLine } from '../helpers/process.js';

const sipPortOf = (l: LogLine) => ((l.ports ?? {}) as { sip?: number }).sip!;

async function stack(t: Tap.Test) {
  const sw = await startSwitch(t, ['--sip', '--sip-port', '0']);
  const readyLine = await sw.proc.waitFor((l) => l.msg === 'ready');
  const sip = `127.0.0.1:${sipPortOf(readyLine)}`;
  const ts = await startTServer(t, { switchAddress: sw.address, config: { core: { routePoints: { 8000: { defaultTarget: '7000', timeoutMs: 300 } } } } });
  return { sw, ts, sip };
}

const brief = (e: TEvent) => [e.event, e.thisDN ?? '-', e.otherDN ?? '-', e.callState ?? e.agentState ?? '-'].join(' ');

/** The client's state events from `from` on, once there are at least `n`. */
async function stateEvents(c: TestClient, from: number, n: number, what: string): Promise<TEvent[]> {
  await c.waitFor(() => c.events.slice(from).filter(isStateEvent).length >= n, 10_000, what);
  return c.events.slice(from).filter(isStateEvent);
}

t.test('SIPp phone 5001 + trunk call to 8000 -> queue 7000 -> rings -> answered by the phone -> released from the desktop', async (t) => {
  const { ts, sip } = await stack(t);
  t.ok(/^127\.0\.0\.1:\d+$/.test(sip) && !sip.endsWith(':0'), `the ready line reports the SIP port (${sip})`);
  const agent = await openClient(t, ts.url, 'agent-5001');
  const sup = await openClient(t, ts.url, 'supervisor');
  const reg = await agent.request('RequestRegisterAddress', { thisDN: '5001' });
  t.match(reg, { event: 'EventRegistered', thisDN: '5001', outOfService: true }, 'no phone registered yet: 5001 is out of service');
  await sup.request('RequestRegisterAddress', { thisDN: '8000' });
  await sup.request('RequestRegisterAddress', { thisDN: '7000' });

  const phone = await startPhone(t, sip, '5001');
  const back = await agent.waitFor((e) => e.event === 'EventDNBackInService', 5_000, 'EventDNBackInService');
  t.match(back, { thisDN: '5001', thisDNType: 'Extension' });
  t.notOk((await agent.request('RequestQueryAddress', { thisDN: '5001' })).outOfService, 'in service once registered');

  await agent.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'ManualIn' });
  await agent.request('RequestAgentReady', { thisDN: '5001' });
  const mark = agent.events.length;
  const supMark = sup.events.length;

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const ringing = await agent.waitFor((e) => e.event === 'EventRinging', 10_000, 'EventRinging at 5001');
  t.match(ringing, { thisDN: '5001', otherDN: '4155550100', callType: 'Inbound', ani: '4155550100', dnis: '8000' });
  const connId = ringing.connId!;
  const est = await agent.waitFor((e) => e.event === 'EventEstablished', 10_000, 'EventEstablished (the phone answered itself)');
  t.equal(est.connId, connId);
  t.equal(est.referenceId, undefined, 'answered on the phone: a spontaneous event');

  const rel = await agent.request('RequestReleaseCall', { thisDN: '5001', connId });
  t.match(rel, { event: 'EventReleased', thisDN: '5001', connId });
  await Promise.all([caller.done(), phone.done()]);
  t.pass('both SIPp ends finished their scenarios (the switch sent BYE to the phone and to the trunk)');

  const got = (await stateEvents(agent, mark, 3, 'ringing, established, released')).map(brief);
  t.same(got.slice(0, 3), ['EventRinging 5001 4155550100 Ringing', 'EventEstablished 5001 4155550100 Established', 'EventReleased 5001 4155550100 Released']);
  const supGot = (await stateEvents(sup, supMark, 4, 'route point and queue')).map(brief);
  t.same(supGot.slice(0, 4), [
    'EventRouteRequest 8000 4155550100 Queued', 'EventRouteUsed 8000 7000 Queued', 'EventQueued 7000 4155550100 Queued', 'EventDiverted 7000 5001 Queued',
  ], 'route point 8000 (default target after the route timeout) -> queue 7000 -> 5001');
});

t.test('answered by RequestAnswerCall (NOTIFY Event: talk); unregistering puts 5001 out of service', async (t) => {
  const { ts, sip } = await stack(t);
  const agent = await openClient(t, ts.url, 'agent-5001');
  await agent.request('RequestRegisterAddress', { thisDN: '5001' });
  const phone = await startPhone(t, sip, '5001', 'phone-talk.xml');
  await agent.waitFor((e) => e.event === 'EventDNBackInService', 5_000, 'EventDNBackInService');
  await agent.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'ManualIn' });
  await agent.request('RequestAgentReady', { thisDN: '5001' });

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const ringing = await agent.waitFor((e) => e.event === 'EventRinging', 10_000, 'EventRinging at 5001');
  const answer = await agent.request('RequestAnswerCall', { thisDN: '5001', connId: ringing.connId });
  t.match(answer, { event: 'EventEstablished', thisDN: '5001', connId: ringing.connId }, 'the direct answer is EventEstablished');
  const rel = await agent.request('RequestReleaseCall', { thisDN: '5001', connId: ringing.connId });
  t.equal(rel.event, 'EventReleased');
  await Promise.all([caller.done(), phone.done()]);
  t.pass('the phone got NOTIFY talk, answered, and got BYE; the caller got 200 and BYE');

  await register(t, sip, '5001', phone.port, 0);
  const out = await agent.waitFor((e) => e.event === 'EventDNOutOfService', 5_000, 'EventDNOutOfService');
  t.match(out, { thisDN: '5001' });
});

t.test('issue 13: a phone slow to answer after NOTIFY talk: the desktop hears EventEstablished only after its 200 OK', async (t) => {
  const { ts, sip } = await stack(t);
  const agent = await openClient(t, ts.url, 'agent-5001');
  await agent.request('RequestRegisterAddress', { thisDN: '5001' });
  const phone = await startPhone(t, sip, '5001', 'phone-talk-slow.xml');
  await agent.waitFor((e) => e.event === 'EventDNBackInService', 5_000, 'EventDNBackInService');
  await agent.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'ManualIn' });
  await agent.request('RequestAgentReady', { thisDN: '5001' });

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const ringing = await agent.waitFor((e) => e.event === 'EventRinging', 10_000, 'EventRinging at 5001');
  const from = agent.events.length;
  const sent = Date.now();
  const answer = await agent.request('RequestAnswerCall', { thisDN: '5001', connId: ringing.connId }, 8_000);
  const waited = Date.now() - sent;
  t.match(answer, { event: 'EventEstablished', thisDN: '5001', connId: ringing.connId }, 'answered: EventEstablished');
  // The phone's 200 leaves 2 s after it accepted the NOTIFY (its scenario waits), so an earlier Established would be a report before the fact.
  t.ok(waited >= 1_900, `EventEstablished came ${waited} ms after the request: after the phone's delayed 200 OK`);
  t.same(agent.events.slice(from).filter(isStateEvent).map(brief), [brief(answer)], 'nothing else meanwhile: one EventEstablished');
  const rel = await agent.request('RequestReleaseCall', { thisDN: '5001', connId: ringing.connId });
  t.equal(rel.event, 'EventReleased');
  await Promise.all([caller.done(), phone.done()]);
  t.pass('the caller got 200 and BYE; the phone answered late, then got BYE');
});

t.test('issue 13: the caller hangs up while the phone delays its 200 after NOTIFY talk: the answer fails, EventReleased, never EventEstablished', async (t) => {
  const { ts, sip } = await stack(t);
  const agent = await openClient(t, ts.url, 'agent-5001');
  await agent.request('RequestRegisterAddress', { thisDN: '5001' });
  const phone = await startPhone(t, sip, '5001', 'phone-talk-slow.xml');
  await agent.waitFor((e) => e.event === 'EventDNBackInService', 5_000, 'EventDNBackInService');
  await agent.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'ManualIn' });
  await agent.request('RequestAgentReady', { thisDN: '5001' });

  // The caller CANCELs 1 s after its first 180 (parked at 8000, before the phone even rings); the phone answers 2 s after the NOTIFY.
  const caller = await runSipp(t, { scenario: 'trunk-caller-cancels.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const ringing = await agent.waitFor((e) => e.event === 'EventRinging', 10_000, 'EventRinging at 5001');
  const from = agent.events.indexOf(ringing);
  const answer = await agent.request('RequestAnswerCall', { thisDN: '5001', connId: ringing.connId }, 8_000);
  t.match(answer, { event: 'EventError', errorCode: 'InvalidState' }, 'the answer fails');
  t.match(answer, { errorMessage: /5001/ }, `with a message naming the party (${(answer as { errorMessage?: string }).errorMessage})`);
  await agent.waitFor((e) => e.event === 'EventReleased' && e.connId === ringing.connId, 5_000, 'EventReleased at 5001');
  await Promise.all([caller.done(), phone.done()]);
  const calls = agent.events.slice(from).filter((e) => isStateEvent(e) && (e as { connId?: string }).connId === ringing.connId).map((e) => e.event);
  t.same(calls, ['EventRinging', 'EventReleased'], 'the call at 5001: Ringing, Released, never Established');
  t.pass('the caller got 487 after its CANCEL; the phone got CANCEL, not BYE');
});

// ACD queues and route points: longest-idle order, FIFO callers, abandon, route timeout to default.
import t from 'tap';
import { waitingCallers } from '../../src/core/index.js';
import { Rig, answerOf, seqOf } from '../helpers/core-rig.js';

const CFG = { routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } }, queues: { '7000': { wrapUpMs: 0, treatment: 'music' } } };

t.test('ACD: FIFO callers go to the longest-idle Ready agent, each agent reserved once', async (t) => {
  const rig = new Rig(CFG);
  rig.agentReady('5003', 'a3');
  rig.now += 10;
  rig.agentReady('5001', 'a1');
  rig.now += 10;
  rig.agentReady('5002', 'a2');
  const first = rig.inbound('4155550101', '7000');
  t.same(seqOf(first), ['7000:EventQueued', '7000:EventDiverted', '5003:EventRinging'], 'longest idle (5003) first');
  const second = rig.inbound('4155550102', '7000');
  t.same(seqOf(second), ['7000:EventQueued', '7000:EventDiverted', '5001:EventRinging']);
  const third = rig.inbound('4155550103', '7000');
  t.same(seqOf(third), ['7000:EventQueued', '7000:EventDiverted', '5002:EventRinging']);
  const fourth = rig.inbound('4155550104', '7000');
  const fifth = rig.inbound('4155550105', '7000');
  t.same(seqOf(fourth), ['7000:EventQueued']);
  t.same(seqOf(fifth), ['7000:EventQueued']);
  t.same(waitingCallers(rig.state, '7000').map((w) => w.treatment), ['music', 'music']);

  // 5001 finishes first (no wrap-up): gets the oldest waiting caller (fourth).
  const c2 = rig.connIdOf(second.callId);
  rig.req('d', { request: 'RequestAnswerCall', thisDN: '5001', connId: c2 });
  const rel = rig.req('d', { request: 'RequestReleaseCall', thisDN: '5001', connId: c2 });
  t.same(seqOf(rel), ['5001:EventReleased', '7000:EventDiverted', '5001:EventRinging']);
  t.equal(rel.events[2].event.connId, rig.connIdOf(fourth.callId));
  t.same(waitingCallers(rig.state, '7000').map((w) => w.connId), [rig.connIdOf(fifth.callId)]);
});

t.test('ACD: caller abandons while queued; abandon of an offered call frees the agent', async (t) => {
  const rig = new Rig(CFG);
  const q = rig.inbound('4155550101', '7000');
  const bye = rig.callerHangup(q.callId);
  t.same(seqOf(bye), ['7000:EventAbandoned']);
  t.match(bye.events[0].event, { callState: 'Abandoned', connId: rig.connIdOf(q.callId) ?? bye.events[0].event.connId, otherDN: '4155550101' });
  t.same(waitingCallers(rig.state, '7000'), []);
  t.equal(rig.state.queueEntries.size, 0, 'no entry left behind');
  t.equal(rig.state.calls.size, 0);

  // Offer in flight (switch not answering yet), then the caller hangs up: the agent is Ready again.
  rig.agentReady('5001', 'a1');
  rig.autoRun = false;
  const q2 = rig.inbound('4155550102', '7000');
  t.same(seqOf(q2), ['7000:EventQueued']);
  t.equal(rig.held.length, 1);
  t.match(rig.held[0], { commandId: /^auto:[0-9a-f]{16}:0$/, deflect: { dn: '7000', to: '5001' } });
  t.equal(rig.state.agents.get('5001')?.state, 'Busy', 'reserved');
  const bye2 = rig.callerHangup(q2.callId);
  t.same(seqOf(bye2), ['7000:EventAbandoned']);
  t.equal(rig.state.agents.get('5001')?.state, 'Ready');
});

t.test('ACD: an offered caller abandons while others wait: the freed agent is offered the next one at once, not at the next tick', async (t) => {
  const rig = new Rig(CFG);
  rig.agentReady('5001', 'a1');
  rig.autoRun = false;
  const first = rig.inbound('4155550111', '7000');
  const second = rig.inbound('4155550112', '7000');
  t.equal(rig.held.length, 1, 'one agent: one offer');
  rig.held = [];
  rig.callerHangup(first.callId);
  t.equal(rig.held.length, 1, 'the next caller is offered in the same step');
  t.match(rig.held[0], { deflect: { dn: '7000', to: '5001' } });
  t.equal(rig.state.queueEntries.get(rig.connIdOf(second.callId))?.offer?.agentDn, '5001');
  t.equal(rig.state.agents.get('5001')?.state, 'Busy', 'reserved for the next caller');
});

t.test('ACD: an offer the switch never answers is re-issued with the same command id; a refused one is undone', async (t) => {
  const rig = new Rig(CFG);
  rig.agentReady('5001', 'a1');
  rig.autoRun = false;
  rig.inbound('4155550102', '7000');
  const cmd = rig.held.shift()!;
  t.same(rig.tick(9_999).commands, []);
  const again = rig.tick(1);
  t.same(again.commands, [cmd], 'same command, same id');
  const refused = rig.feed({ kind: 'commandResult', result: { commandId: cmd.commandId, ok: false, errorCode: 'InvalidState' } });
  t.same(refused.events, []);
  t.equal(rig.state.agents.get('5001')?.state, 'Ready');
  t.notOk(waitingCallers(rig.state, '7000')[0]?.offer);
  t.equal(waitingCallers(rig.state, '7000').length, 1, 'the caller waits again');
});

t.test('route point: no router within the timeout -> default target', async (t) => {
  const rig = new Rig(CFG);
  rig.agentReady('5001', 'a1');
  const arrive = rig.inbound('4155550100', '8000');
  t.same(seqOf(arrive), ['8000:EventRouteRequest']);
  t.same(seqOf(rig.tick(4_999)), []);
  const timeout = rig.tick(1);
  t.same(seqOf(timeout), ['8000:EventRouteUsed', '7000:EventQueued', '7000:EventDiverted', '5001:EventRinging']);
  t.match(timeout.commands[0], { commandId: `auto:${rig.connIdOf(arrive.callId)}:0`, deflect: { dn: '8000', to: '7000' } });
  t.equal(rig.state.routeRequests.size, 0);
});

t.test('route point: RequestRouteCall to an extension; wrong route point or ConnID refused', async (t) => {
  const rig = new Rig(CFG);
  const arrive = rig.inbound('4155550100', '8000');
  const c = rig.connIdOf(arrive.callId);
  const wrongRp = rig.req('router', { request: 'RequestRouteCall', thisDN: '8001', connId: c, otherDN: '5002' });
  t.equal(answerOf(wrongRp, wrongRp.referenceId)?.errorCode, 'InvalidConnID');
  const notRp = rig.req('router', { request: 'RequestRouteCall', thisDN: '5001', connId: c, otherDN: '5002' });
  t.equal(answerOf(notRp, notRp.referenceId)?.errorCode, 'InvalidDN');
  const r = rig.req('router', { request: 'RequestRouteCall', thisDN: '8000', connId: c, otherDN: '5002' });
  t.same(seqOf(r), ['8000:EventRouteUsed', '5002:EventRinging']);
  t.equal(answerOf(r, r.referenceId)?.event, 'EventRouteUsed');
  t.match(r.events[0].event, { otherDN: '5002', connId: c });
  t.same(seqOf(rig.tick(60_000)), [], 'no default routing after the call left');
});

t.test('route point: caller hangs up while waiting for a router', async (t) => {
  const rig = new Rig(CFG);
  const arrive = rig.inbound('4155550100', '8000');
  t.same(seqOf(rig.callerHangup(arrive.callId)), ['8000:EventAbandoned']);
  t.equal(rig.state.routeRequests.size, 0);
});

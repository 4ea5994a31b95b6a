// Call flows through the pure core: exact T-Library event sequences per DN, ConnID relations, the
// direct answer's referenceId. Switch events come from the fake switch (docs/switch.md).
import t from 'tap';
import { Rig, answerOf, seqOf, seqsIncrease } from '../helpers/core-rig.js';

const CFG = { routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } }, queues: { '7000': { wrapUpMs: 3000, treatment: 'music' } } };

t.test('PROTOCOL.md: inbound call through a route point to an ACD queue and agent', async (t) => {
  const rig = new Rig(CFG);
  rig.agentReady('5001', 'agent1');
  const arrive = rig.inbound('4155550100', '8000');
  t.same(seqOf(arrive), ['8000:EventRouteRequest']);
  const c = rig.connIdOf(arrive.callId);
  t.match(c, /^[0-9a-f]{16}$/);
  t.match(arrive.events[0].event, { thisDN: '8000', connId: c, ani: '4155550100', dnis: '8000', callType: 'Inbound', otherDN: '4155550100' });

  // The router attaches data at the route point, then routes to the queue.
  const ud = rig.req('router', { request: 'RequestAttachUserData', thisDN: '8000', connId: c, userData: { account: '42' } });
  t.same(seqOf(ud), ['8000:EventAttachedDataChanged']);
  t.equal(answerOf(ud, ud.referenceId)?.event, 'EventAttachedDataChanged');
  const route = rig.req('router', { request: 'RequestRouteCall', thisDN: '8000', connId: c, otherDN: '7000' });
  t.same(seqOf(route), ['8000:EventRouteUsed', '7000:EventQueued', '7000:EventDiverted', '5001:EventRinging']);
  t.equal(answerOf(route, route.referenceId)?.event, 'EventRouteUsed');
  t.same(route.events.filter((e) => e.answer).length, 1, 'only the direct answer carries the referenceId');
  t.match(route.events[1].event, { thisQueue: '7000', treatment: 'music' });
  t.match(route.events[3].event, { thisDN: '5001', connId: c, callType: 'Inbound', ani: '4155550100', dnis: '8000', userData: { account: '42' } });
  t.equal(rig.state.agents.get('5001')?.state, 'Busy');

  const ans = rig.req('desk5001', { request: 'RequestAnswerCall', thisDN: '5001', connId: c });
  t.same(seqOf(ans), ['5001:EventEstablished']);
  t.equal(answerOf(ans, ans.referenceId)?.event, 'EventEstablished');
  const rel = rig.req('desk5001', { request: 'RequestReleaseCall', thisDN: '5001', connId: c });
  t.same(seqOf(rel), ['5001:EventReleased', '5001:EventAgentNotReady']);
  t.match(rel.events[1].event, { workMode: 'AfterCallWork', agentState: 'AfterCallWork' });
  t.equal(answerOf(rel, rel.referenceId)?.event, 'EventReleased');
  t.equal(rig.state.calls.size, 0);
  t.same(seqOf(rig.tick(2999)), []);
  t.same(seqOf(rig.tick(1)), ['5001:EventAgentReady']);
  t.ok(seqsIncrease(rig.all.events));
});

t.test('inbound: caller waits in the queue until an agent becomes Ready, then hangs up', async (t) => {
  const rig = new Rig(CFG);
  rig.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000' });
  const arrive = rig.inbound('4155550100', '7000');
  t.same(seqOf(arrive), ['7000:EventQueued']);
  const ready = rig.req('d', { request: 'RequestAgentReady', thisDN: '5001' });
  t.same(seqOf(ready), ['5001:EventAgentReady', '7000:EventDiverted', '5001:EventRinging']);
  t.equal(answerOf(ready, ready.referenceId)?.event, 'EventAgentReady');
  const c = rig.connIdOf(arrive.callId);
  rig.req('d', { request: 'RequestAnswerCall', thisDN: '5001', connId: c });
  const bye = rig.callerHangup(arrive.callId);
  t.same(seqOf(bye), ['5001:EventReleased', '5001:EventAgentNotReady']);
  t.match(bye.events[0].event, { otherDN: '4155550100', connId: c });
});

t.test('PROTOCOL.md: consult transfer completed after the target answers', async (t) => {
  const rig = new Rig(CFG);
  const c = rig.answeredInbound('4155550100', '5001');
  const init = rig.req('d1', { request: 'RequestInitiateTransfer', thisDN: '5001', connId: c, otherDN: '5002', userData: { note: 'vip' } });
  t.same(seqOf(init), ['5001:EventHeld', '5001:EventDialing', '5002:EventRinging']);
  t.equal(answerOf(init, init.referenceId)?.event, 'EventHeld');
  const c2 = init.events[1].event.connId!;
  t.not(c2, c);
  t.match(init.events[0].event, { connId: c });
  t.match(init.events[1].event, { connId: c2, callType: 'Consult', transferConnId: c, otherDN: '5002' });
  t.match(init.events[2].event, { connId: c2, callType: 'Consult', userData: { note: 'vip' } });

  const ans = rig.req('d2', { request: 'RequestAnswerCall', thisDN: '5002', connId: c2 });
  t.same(seqOf(ans), ['5002:EventEstablished', '5001:EventEstablished']);
  t.ok(ans.events.every((e) => e.event.connId === c2));

  const done = rig.req('d1', { request: 'RequestCompleteTransfer', thisDN: '5001', connId: c, transferConnId: c2 });
  t.same(seqOf(done), ['5001:EventReleased', '5001:EventReleased', '5002:EventPartyChanged']);
  t.equal(answerOf(done, done.referenceId)?.entry?.event.connId, c2);
  t.match(done.events[0].event, { connId: c2 });
  t.match(done.events[1].event, { connId: c, callState: 'Transferred' });
  t.match(done.events[2].event, { connId: c, previousConnId: c2, otherDN: '4155550100', thirdDN: '5001', callState: 'Established' });
  t.same(rig.state.calls.get(c)?.parties.map((p) => p.dn), ['4155550100', '5002']);
  t.notOk(rig.state.calls.has(c2));
  t.same([...(rig.state.callsByDN.get('5001') ?? [])], []);
});

t.test('consult transfer completed before the target answers', async (t) => {
  const rig = new Rig(CFG);
  const c = rig.answeredInbound('4155550100', '5001');
  const init = rig.req('d1', { request: 'RequestInitiateTransfer', thisDN: '5001', connId: c, otherDN: '5002' });
  const c2 = init.events[1].event.connId!;
  const done = rig.req('d1', { request: 'RequestCompleteTransfer', thisDN: '5001', connId: c, transferConnId: c2 });
  t.same(seqOf(done), ['5001:EventReleased', '5001:EventReleased', '5002:EventPartyChanged']);
  t.match(done.events[2].event, { connId: c, previousConnId: c2, callState: 'Ringing' });
  const ans = rig.req('d2', { request: 'RequestAnswerCall', thisDN: '5002', connId: c });
  t.same(seqOf(ans), ['5002:EventEstablished']);
  t.match(ans.events[0].event, { connId: c, otherDN: '4155550100' });
});

t.test('internal call, answered and released by the caller', async (t) => {
  const rig = new Rig(CFG);
  const mk = rig.req('d1', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', userData: { case: 7 } });
  t.same(seqOf(mk), ['5001:EventDialing', '5002:EventRinging']);
  t.equal(answerOf(mk, mk.referenceId)?.event, 'EventDialing');
  const c = mk.events[0].event.connId!;
  t.match(mk.events[0].event, { callType: 'Internal', otherDN: '5002', thisDNRole: 'Origination', userData: { case: 7 } });
  t.match(mk.events[1].event, { connId: c, otherDN: '5001', ani: '5001', dnis: '5002', userData: { case: 7 } });
  const ans = rig.req('d2', { request: 'RequestAnswerCall', thisDN: '5002', connId: c });
  t.same(seqOf(ans), ['5002:EventEstablished', '5001:EventEstablished']);
  const rel = rig.req('d1', { request: 'RequestReleaseCall', thisDN: '5001', connId: c });
  t.same(seqOf(rel), ['5001:EventReleased', '5002:EventReleased']);
  t.equal(answerOf(rel, rel.referenceId)?.entry?.dn, '5001');
  t.equal(rig.state.calls.size, 0);
});

t.test('outbound call: dialing, network reached, established when the far end answers', async (t) => {
  const rig = new Rig(CFG);
  const mk = rig.req('d1', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '914155550199' });
  t.same(seqOf(mk), ['5001:EventDialing', '5001:EventNetworkReached']);
  t.match(mk.events[0].event, { callType: 'Outbound' });
  const callId = [...rig.sw.calls.keys()][0];
  const up = rig.feed({ kind: 'switchEvents', events: rig.sw.externalAnswers(callId) });
  t.same(seqOf(up), ['5001:EventEstablished']);
  t.match(up.events[0].event, { otherDN: '914155550199', callState: 'Established' });
});

t.test('hold and retrieve', async (t) => {
  const rig = new Rig(CFG);
  const c = rig.answeredInbound('4155550100', '5001');
  const h = rig.req('d1', { request: 'RequestHoldCall', thisDN: '5001', connId: c });
  t.same(seqOf(h), ['5001:EventHeld']);
  t.equal(answerOf(h, h.referenceId)?.event, 'EventHeld');
  t.match(h.events[0].event, { callState: 'Held', otherDN: '4155550100' });
  const r = rig.req('d1', { request: 'RequestRetrieveCall', thisDN: '5001', connId: c });
  t.same(seqOf(r), ['5001:EventRetrieved']);
  t.match(r.events[0].event, { callState: 'Established' });
});

t.test('conference, then delete from conference', async (t) => {
  const rig = new Rig(CFG);
  const c = rig.answeredInbound('4155550100', '5001');
  const init = rig.req('d1', { request: 'RequestInitiateConference', thisDN: '5001', connId: c, otherDN: '5002' });
  t.same(seqOf(init), ['5001:EventHeld', '5001:EventDialing', '5002:EventRinging']);
  const c2 = init.events[1].event.connId!;
  rig.req('d2', { request: 'RequestAnswerCall', thisDN: '5002', connId: c2 });
  const conf = rig.req('d1', { request: 'RequestCompleteConference', thisDN: '5001', connId: c, transferConnId: c2 });
  t.same(seqOf(conf), ['5001:EventPartyAdded', '5001:EventReleased', '5002:EventPartyChanged']);
  t.equal(answerOf(conf, conf.referenceId)?.event, 'EventPartyAdded');
  t.match(conf.events[0].event, { connId: c, otherDN: '5002', transferConnId: c2, callState: 'Established' });
  t.match(conf.events[1].event, { connId: c2, callState: 'Conferenced' });
  t.match(conf.events[2].event, { connId: c, previousConnId: c2 });
  t.same(rig.state.calls.get(c)?.parties.map((p) => `${p.dn}:${p.state}`), ['4155550100:Established', '5001:Established', '5002:Established']);

  const del = rig.req('d1', { request: 'RequestDeleteFromConference', thisDN: '5001', connId: c, otherDN: '5002' });
  t.same(seqOf(del), ['5002:EventReleased', '5001:EventPartyDeleted']);
  t.equal(answerOf(del, del.referenceId)?.event, 'EventPartyDeleted');
  t.match(del.events[1].event, { connId: c, otherDN: '5002', thirdDN: '5002' });
  t.same(rig.state.calls.get(c)?.parties.map((p) => p.dn), ['4155550100', '5001']);
});

t.test('single-step transfer', async (t) => {
  const rig = new Rig(CFG);
  const c = rig.answeredInbound('4155550100', '5001');
  const sst = rig.req('d1', { request: 'RequestSingleStepTransfer', thisDN: '5001', connId: c, otherDN: '5003' });
  t.same(seqOf(sst), ['5001:EventReleased', '5003:EventRinging']);
  t.equal(answerOf(sst, sst.referenceId)?.event, 'EventReleased');
  t.match(sst.events[0].event, { connId: c, callState: 'Transferred', otherDN: '5003' });
  t.match(sst.events[1].event, { connId: c, otherDN: '4155550100' });
});

t.test('user data: attach merges, update replaces keys, delete removes keys or all', async (t) => {
  const rig = new Rig(CFG);
  const mk = rig.req('d1', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', userData: { a: 1, n: { x: 1 } } });
  const c = mk.events[0].event.connId!;
  const att = rig.req('d2', { request: 'RequestAttachUserData', thisDN: '5002', connId: c, userData: { b: 2, n: { y: 2 } } });
  t.same(seqOf(att), ['5002:EventAttachedDataChanged', '5001:EventAttachedDataChanged']);
  t.equal(answerOf(att, att.referenceId)?.entry?.dn, '5002');
  t.same(att.events[0].event.userData, { a: 1, b: 2, n: { x: 1, y: 2 } });
  const upd = rig.req('d1', { request: 'RequestUpdateUserData', thisDN: '5001', connId: c, userData: { n: { z: 3 } } });
  t.same(seqOf(upd), ['5001:EventAttachedDataChanged', '5002:EventAttachedDataChanged']);
  t.same(upd.events[0].event.userData, { a: 1, b: 2, n: { z: 3 } });
  const delKeys = rig.req('d1', { request: 'RequestDeleteUserData', thisDN: '5001', connId: c, keys: { a: true } });
  t.same(delKeys.events[0].event.userData, { b: 2, n: { z: 3 } });
  const delAll = rig.req('d1', { request: 'RequestDeleteUserData', thisDN: '5001', connId: c });
  t.same(delAll.events[0].event.userData, {});
  rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { kept: true } });
  const ans = rig.req('d2', { request: 'RequestAnswerCall', thisDN: '5002', connId: c });
  t.same(ans.events[0].event.userData, { kept: true }, 'later events carry the call user data');
});

// Exactly-once requests: de-dup records, pending re-issue, duplicate CommandResults after a failover,
// switch-seq overlap on redelivery.
import t from 'tap';
import { canonicalState, snapshotDeltas } from '../../src/core/index.js';
import { Rig, answerOf, seqOf } from '../helpers/core-rig.js';

t.test('a repeated request that was answered gets the stored answer, nothing re-runs, no delta', async (t) => {
  const rig = new Rig();
  rig.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000' });
  const first = rig.req('d', { request: 'RequestAgentReady', thisDN: '5001', referenceId: 5 });
  const before = canonicalState(rig.state);
  const again = rig.req('d', { request: 'RequestAgentReady', thisDN: '5001', referenceId: 5 });
  t.same(again.deltas, []);
  t.same(again.events, []);
  t.same(again.replies, [{ clientName: 'd', event: { ...first.events[0].event, referenceId: 5 } }]);
  t.equal(canonicalState(rig.state), before);

  const mk = rig.req('d', { request: 'RequestMakeCall', thisDN: '5002', otherDN: '5003', referenceId: 6 });
  const mk2 = rig.req('d', { request: 'RequestMakeCall', thisDN: '5002', otherDN: '5003', referenceId: 6 });
  t.same(mk2.commands, [], 'no second MakeCall');
  t.same(mk2.deltas, []);
  t.same(mk2.replies[0].event, { ...mk.events[0].event, referenceId: 6 });
  t.equal(rig.sw.executed.filter((id) => id === 'd#6').length, 1);

  // Another client may use the same referenceId: keys are per client name.
  const other = rig.req('e', { request: 'RequestAgentLogin', thisDN: '5004', agentId: 'a4', referenceId: 5 });
  t.same(seqOf(other), ['5004:EventAgentLogin']);
});

t.test('a repeated request still waiting for the switch re-issues the same command', async (t) => {
  const rig = new Rig();
  rig.autoRun = false;
  const a = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 9 });
  t.same(a.commands, [{ commandId: 'd#9', makeCall: { dn: '5001', to: '5002' } }]);
  const before = canonicalState(rig.state);
  const b = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 9 });
  t.same(b.commands, a.commands);
  t.same(b.deltas, []);
  t.same(b.replies, [], 'the answer is still to come');
  t.equal(canonicalState(rig.state), before);
  // Both copies reach the switch; it runs the id once and answers the duplicate with the first result.
  rig.autoRun = true;
  const [c1, c2] = rig.held;
  const r1 = rig.sw.exec(c1);
  const r2 = rig.sw.exec(c2);
  t.equal(r2.result?.duplicate, true);
  const ev = rig.feed({ kind: 'switchEvents', events: r1.events });
  t.equal(answerOf(ev, 9)?.event, 'EventDialing');
  const res = rig.feed({ kind: 'commandResult', result: r1.result! });
  t.same(res.replies, [], 'answered already by the event');
  t.same(rig.feed({ kind: 'commandResult', result: r2.result! }).replies, []);
  t.equal(rig.state.pending.size, 0);
});

t.test('failover: retry on the new primary; the switch ran it; answered from the journal', async (t) => {
  const primary = new Rig();
  primary.autoRun = false;
  const replicated = primary.all.deltas.length;
  primary.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 77 });
  const cmd = primary.held[0];
  // The primary dies after sending the command; its pending delta never reached the backup.
  const backup = Rig.backupOf(primary, primary.all.deltas.slice(0, replicated));
  const fired = primary.sw.exec(cmd);
  // The switch redelivers its events to the new primary (which has no pending record for them).
  const redelivered = backup.feed({ kind: 'switchEvents', events: fired.events });
  t.same(seqOf(redelivered), ['5001:EventDialing', '5002:EventRinging']);
  t.notOk(redelivered.events[0].answer);
  t.equal(redelivered.events[0].commandId, 'd#77');
  // The SDK retries on the new primary with the same referenceId.
  const retry = backup.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 77 });
  t.equal(retry.replies.length, 1);
  t.same(retry.replies[0].event, { ...redelivered.events[0].event, referenceId: 77 });
  t.same(primary.sw.executed.filter((id) => id === 'd#77'), ['d#77'], 'ran exactly once');
  t.equal(backup.state.pending.size, 0);
  t.ok(backup.state.dedup.has('d#77'));

  // A retried request that is no longer valid because it worked (the call is answered now) gets its first event too.
  const c = redelivered.events[0].event.connId!;
  backup.autoRun = false;
  const beforeAnswer = snapshotDeltas(backup.state);
  backup.req('d2', { request: 'RequestAnswerCall', thisDN: '5002', connId: c, referenceId: 3 });
  const third = Rig.backupOf(backup, beforeAnswer); // the pending delta is lost
  third.feed({ kind: 'switchEvents', events: primary.sw.exec(backup.held[0]).events });
  const retryAnswer = third.req('d2', { request: 'RequestAnswerCall', thisDN: '5002', connId: c, referenceId: 3 });
  t.equal(retryAnswer.replies[0].event.event, 'EventEstablished');
  t.equal(retryAnswer.replies[0].event.referenceId, 3);
});

t.test('switch refusals: error answer remembered; NotLeaseHolder not remembered', async (t) => {
  const rig = new Rig();
  const bad = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '123', referenceId: 1 });
  t.match(answerOf(bad, 1), { event: 'EventError', errorCode: 'InvalidDN' });
  t.same(bad.events, []);
  const again = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '123', referenceId: 1 });
  t.same(again.commands, []);
  t.match(answerOf(again, 1), { event: 'EventError', errorCode: 'InvalidDN' });

  rig.autoRun = false;
  rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 2 });
  const deposed = rig.feed({ kind: 'commandResult', result: { commandId: 'd#2', ok: false, errorCode: 'NotLeaseHolder', errorMessage: 'not the lease holder' } });
  t.match(answerOf(deposed, 2), { event: 'EventError', errorCode: 'NotPrimary' });
  t.notOk(rig.state.dedup.has('d#2'));
  t.notOk(rig.state.pending.has('d#2'));
});

t.test('ok CommandResult with no event on the requesting DN answers EventACK', async (t) => {
  const rig = new Rig();
  rig.autoRun = false;
  rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 4 });
  const res = rig.feed({ kind: 'commandResult', result: { commandId: 'd#4', ok: true } });
  const ack = { event: 'EventACK', referenceId: 4, thisDN: '5001', time: new Date(rig.now).toISOString() };
  t.same(res.replies, [{ clientName: 'd', event: ack }]);
  t.same(rig.state.dedup.get('d#4')?.answer, ack, 'the record holds the answer as sent');
});

t.test('switch events at or below the applied switch seq are ignored (redelivery overlap)', async (t) => {
  const rig = new Rig();
  const { events } = rig.sw.inbound('4155550100', '5001');
  const first = rig.feed({ kind: 'switchEvents', events });
  t.same(seqOf(first), ['5001:EventRinging']);
  const applied = rig.state.appliedSwitchSeq;
  t.equal(applied, events[events.length - 1].seq);
  const before = canonicalState(rig.state);
  const overlap = rig.feed({ kind: 'switchEvents', events });
  t.same(overlap.events, []);
  t.same(overlap.deltas, []);
  t.equal(canonicalState(rig.state), before);
});

t.test('switch down: call control answers SwitchUnavailable with no delta; pending expires after 10 s', async (t) => {
  const rig = new Rig();
  rig.switchUp = false;
  const before = canonicalState(rig.state);
  const r = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002' });
  t.match(answerOf(r, r.referenceId), { event: 'EventError', errorCode: 'SwitchUnavailable' });
  t.same(r.deltas, []);
  t.equal(canonicalState(rig.state), before);
  const agent = rig.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1' });
  t.same(seqOf(agent), ['5001:EventAgentLogin'], 'agent requests work without the switch');

  rig.switchUp = true;
  rig.autoRun = false;
  const p = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002' });
  t.same(rig.tick(9_999).replies, []);
  const exp = rig.tick(1);
  t.match(answerOf(exp, p.referenceId), { event: 'EventError', errorCode: 'SwitchUnavailable' });
  t.equal(rig.state.pending.size, 0);
});

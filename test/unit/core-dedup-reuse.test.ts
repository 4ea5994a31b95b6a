// A referenceId reused by the same client name for ANOTHER request (issue 12 item 7): refused with
// DuplicateReferenceId, not run, the stored record untouched; an identical retry still gets the
// stored answer exactly once. The request's fingerprint rides in the replicated de-dup and pending
// records, so a backup that takes over tells a retry from a reuse the same way.
import t from 'tap';
import { canonicalState, type Delta } from '../../src/core/index.js';
import { requestFingerprint } from '../../src/core/fingerprint.js';
import type { Request } from '../../src/protocol/messages.js';
import { Rig, answerOf, seqOf } from '../helpers/core-rig.js';

const reuse = (step: { replies: { event: { errorCode?: string; errorMessage?: string } }[] }) => step.replies[0]?.event;

t.test('another request under an answered referenceId: DuplicateReferenceId, nothing changes; the identical retry still gets its answer', async (t) => {
  const rig = new Rig();
  const c = rig.connIdOf(rig.inbound('4155550100', '5001').callId);
  const answer = rig.req('d', { request: 'RequestAnswerCall', thisDN: '5001', connId: c, referenceId: 7 });
  t.equal(answerOf(answer, 7)?.event, 'EventEstablished');
  const before = canonicalState(rig.state);
  const record = rig.state.dedup.get('d#7');
  t.equal(record?.fp, requestFingerprint({ request: 'RequestAnswerCall', referenceId: 7, thisDN: '5001', connId: c } as Request), 'the record carries the fingerprint');

  // The case: a RequestReleaseCall under the same referenceId (e.g. from the client's other connection).
  const release = rig.req('d', { request: 'RequestReleaseCall', thisDN: '5001', connId: c, referenceId: 7 });
  t.match(reuse(release), { event: 'EventError', referenceId: 7, errorCode: 'DuplicateReferenceId' });
  t.match(reuse(release)?.errorMessage, /unique per client name across all its connections/);
  t.match(reuse(release)?.errorMessage, /new referenceId/);
  t.same(release.deltas, [], 'no delta');
  t.same(release.commands, [], 'nothing sent to the switch');
  t.equal(canonicalState(rig.state), before, 'state unchanged (the record too)');

  // Same request type, other attributes: another request too.
  const other = rig.req('d', { request: 'RequestAnswerCall', thisDN: '5002', connId: c, referenceId: 7 });
  t.match(reuse(other), { errorCode: 'DuplicateReferenceId' });

  // The identical retry (attribute order does not matter): the stored answer, nothing re-runs.
  const retry = rig.req('d', { connId: c, thisDN: '5001', request: 'RequestAnswerCall', referenceId: 7 });
  t.same(retry.replies, [{ clientName: 'd', event: { ...answer.events[0]!.event, referenceId: 7 } }]);
  t.same(retry.deltas, []);
  t.equal(rig.sw.executed.filter((id) => id === 'd#7').length, 1, 'the switch ran it once');
  // Other client names keep their own referenceIds.
  const e = rig.req('e', { request: 'RequestAgentLogin', thisDN: '5003', agentId: 'a3', referenceId: 7 });
  t.same(seqOf(e), ['5003:EventAgentLogin']);
});

t.test('agent requests (answered without the switch) and user-data requests carry the fingerprint too', async (t) => {
  const rig = new Rig();
  rig.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000', referenceId: 1, password: 'pw' });
  t.ok(rig.state.dedup.get('d#1')?.fp);
  t.notMatch(JSON.stringify(rig.state.dedup.get('d#1')), /pw/, 'no password in the record');
  const ready = rig.req('d', { request: 'RequestAgentReady', thisDN: '5001', referenceId: 1 });
  t.match(reuse(ready), { errorCode: 'DuplicateReferenceId' });
  t.equal(rig.state.agents.get('5001')?.state, 'NotReady', 'not run');
  const retry = rig.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000', referenceId: 1, password: 'pw' });
  t.equal(retry.replies[0]?.event.event, 'EventAgentLogin', 'identical retry: stored answer');
});

t.test('another request under a referenceId still waiting for the switch: refused; the identical one re-issues the command', async (t) => {
  const rig = new Rig();
  rig.autoRun = false;
  const mk = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 9 });
  const before = canonicalState(rig.state);
  const hold = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5003', referenceId: 9 });
  t.match(reuse(hold), { errorCode: 'DuplicateReferenceId' });
  t.match(reuse(hold)?.errorMessage, /RequestMakeCall still waiting for the switch/);
  t.same(hold.commands, [], 'no command');
  t.equal(canonicalState(rig.state), before);
  const same = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 9 });
  t.same(same.commands, mk.commands, 'the same command id again');
  // Answered by the switch's events: the record made from the pending one keeps its fingerprint.
  rig.autoRun = true;
  const fired = rig.sw.exec(rig.held[0]!);
  rig.feed({ kind: 'switchEvents', events: fired.events });
  t.ok(rig.state.dedup.has('d#9'), 'answered');
  t.equal(rig.state.dedup.get('d#9')?.fp, requestFingerprint({ request: 'RequestMakeCall', referenceId: 9, thisDN: '5001', otherDN: '5002' } as Request));
  t.match(reuse(rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5003', referenceId: 9 })), { errorCode: 'DuplicateReferenceId' });
});

t.test('replicated: a backup built from the deltas (as JSON, as on the wire) refuses the reuse and answers the retry', async (t) => {
  const primary = new Rig();
  primary.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000', referenceId: 3 });
  const backup = Rig.backupOf(primary, primary.all.deltas);
  t.equal(canonicalState(backup.state), canonicalState(primary.state));
  t.match(reuse(backup.req('d', { request: 'RequestAgentLogout', thisDN: '5001', referenceId: 3 })), { errorCode: 'DuplicateReferenceId' });
  t.equal(backup.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000', referenceId: 3 }).replies[0]?.event.event, 'EventAgentLogin');
});

t.test('a record without a fingerprint (made by an older version) answers any request with the stored answer, as before', async (t) => {
  const primary = new Rig();
  primary.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000', referenceId: 3 });
  const old = primary.all.deltas.map((d): Delta => (d.op === 'put' && d.coll === 'dedup' ? { ...d, value: { ...(d.value as object), fp: undefined } } : d));
  const backup = Rig.backupOf(primary, old);
  t.equal(backup.state.dedup.get('d#3')?.fp, undefined);
  t.equal(backup.req('d', { request: 'RequestAgentLogout', thisDN: '5001', referenceId: 3 }).replies[0]?.event.event, 'EventAgentLogin');
});

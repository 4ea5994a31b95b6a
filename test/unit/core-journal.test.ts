// The journal (bounded by count and age, replay per registered DN, ReplayGap), de-dup bounds,
// registrations, describeDN, nextDeadline.
import t from 'tap';
import { describeDN, nextDeadline, registeredDNs, replay } from '../../src/core/index.js';
import { Rig, answerOf, seqOf } from '../helpers/core-rig.js';

t.test('replay returns the registered DNs\' events after a seq; trimmed journal gives ReplayGap', async (t) => {
  const rig = new Rig({ journal: { maxEvents: 6, maxAgeMs: 60_000 } });
  const reg = rig.req('desk', { request: 'RequestRegisterAddress', thisDN: '5001' });
  t.match(answerOf(reg, reg.referenceId), { event: 'EventRegistered' });
  t.match(reg.replies[0].event, { thisDN: '5001', thisDNType: 'Extension', agentState: 'LoggedOut', calls: [] });
  t.same(reg.deltas.map((d) => d.op), ['put']);
  t.same(registeredDNs(rig.state, 'desk'), ['5001']);

  const mk = rig.req('desk', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002' });
  t.same(seqOf(mk), ['5001:EventDialing', '5002:EventRinging']);
  const r = replay(rig.state, 'desk', 0);
  t.ok(r.ok);
  t.same(r.ok && r.entries.map((e) => e.dn), ['5001'], 'only registered DNs');
  const info = describeDN(rig.state, '5001');
  t.match(info, { event: 'EventAddressInfo', thisDNType: 'Extension', calls: [{ connId: mk.events[0].event.connId, state: 'Dialing' }] });

  for (let i = 0; i < 3; i++) {
    rig.req('a', { request: 'RequestAgentLogin', thisDN: '5003', agentId: 'x' });
    rig.req('a', { request: 'RequestAgentLogout', thisDN: '5003' });
  }
  t.equal(rig.state.journal.length, 6, 'bounded by count');
  t.equal(rig.state.journal[0].seq, rig.state.seq - 5);
  t.same(replay(rig.state, 'desk', 0), { ok: false, oldestSeq: rig.state.seq - 5 });
  t.same(replay(rig.state, 'desk', rig.state.seq - 6), { ok: true, entries: [] });
  t.same(replay(rig.state, 'desk', rig.state.seq), { ok: true, entries: [] });

  rig.now += 60_001;
  const trimmed = rig.tick(0);
  t.same(trimmed.deltas.filter((d) => d.op === 'journalTrim').length, 1);
  t.equal(rig.state.journal.length, 0, 'bounded by age');
  t.same(replay(rig.state, 'desk', rig.state.seq - 1), { ok: false, oldestSeq: rig.state.seq + 1 });

  const un = rig.req('desk', { request: 'RequestUnregisterAddress', thisDN: '5001' });
  t.same(un.replies[0].event, { event: 'EventUnregistered', referenceId: un.referenceId, thisDN: '5001', time: new Date(rig.now).toISOString() });
  t.same(registeredDNs(rig.state, 'desk'), []);
  const again = rig.req('desk', { request: 'RequestUnregisterAddress', thisDN: '5001' });
  t.equal(answerOf(again, again.referenceId)?.errorCode, 'NotRegistered');
});

t.test('de-dup records are bounded by count and age', async (t) => {
  const rig = new Rig({ dedup: { maxRecords: 3, maxAgeMs: 1000 } });
  rig.req('a', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'x' });
  for (let i = 0; i < 4; i++) rig.req('a', { request: 'RequestAgentReady', thisDN: '5001' });
  t.equal(rig.state.dedup.size, 3);
  t.equal(nextDeadline(rig.state, rig.config), rig.now + 1000);
  rig.tick(1000);
  t.equal(rig.state.dedup.size, 3, 'not older than maxAge yet');
  rig.tick(1);
  t.equal(rig.state.dedup.size, 0);
});

t.test('nextDeadline: route timeout, wrap-up end, pending expiry', async (t) => {
  const rig = new Rig({ routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } }, queues: { '7000': { wrapUpMs: 3000, treatment: 'music' } }, dedup: { maxRecords: 10, maxAgeMs: 3_600_000 }, journal: { maxEvents: 100, maxAgeMs: 3_600_000 } });
  t.equal(nextDeadline(rig.state, rig.config), undefined);
  const start = rig.now;
  rig.inbound('4155550100', '8000');
  t.equal(nextDeadline(rig.state, rig.config), start + 5000);
  rig.autoRun = false;
  rig.now += 100;
  rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002' });
  t.equal(nextDeadline(rig.state, rig.config), start + 5000);
  rig.now += 1000;
  t.equal(rig.tick(4000).replies.length, 0);
  t.equal(nextDeadline(rig.state, rig.config), start + 10_100, 'default routing issued at +5100 and retried a timeout later unless the call moves; the pending request expires at +10100 too');
});

// The journal's DN index (core/journal-index.ts): replay reads only the client's DNs' entries, and
// gives exactly what a scan of the journal tail gives, through appends, trims by count and age, a
// backup built from deltas, and the hand-made journal changes of a rollback (index rebuilt).
import t from 'tap';
import { applyDelta, createState, registeredDNs, replay, type CoreState, type JournalEntry } from '../../src/core/index.js';
import { journalEntriesAfter } from '../../src/core/journal-index.js';
import { TxUndo } from '../../src/core/tx-undo.js';
import { UndoLog } from '../../src/adapters/sync/undo-log.js';
import { Rig } from '../helpers/core-rig.js';

/** What replay gave before the index: every journal entry after the seq about a registered DN. */
function scan(state: CoreState, client: string, afterSeq: number): number[] {
  const dns = new Set(registeredDNs(state, client));
  return state.journal.filter((e) => e.seq > afterSeq && dns.has(e.dn)).map((e) => e.seq);
}

const seqs = (r: ReturnType<typeof replay>): number[] | string => (r.ok ? r.entries.map((e) => e.seq) : `gap ${r.oldestSeq}`);

/** Calls between 5001 and 5002, agent logins on 5003; desk-a registers 5001 and 5003, desk-b 5002. */
function workload(rig: Rig, n: number): void {
  rig.req('desk-a', { request: 'RequestRegisterAddress', thisDN: '5001' });
  rig.req('desk-a', { request: 'RequestRegisterAddress', thisDN: '5003' });
  rig.req('desk-b', { request: 'RequestRegisterAddress', thisDN: '5002' });
  for (let i = 0; i < n; i++) {
    const mk = rig.req('desk-a', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002' });
    const connId = mk.events[0]!.event.connId as string;
    rig.req('desk-b', { request: 'RequestAnswerCall', thisDN: '5002', connId });
    rig.req('desk-a', { request: 'RequestReleaseCall', thisDN: '5001', connId });
    rig.req('desk-a', { request: 'RequestAgentLogin', thisDN: '5003', agentId: 'x' });
    rig.req('desk-a', { request: 'RequestAgentLogout', thisDN: '5003' });
    rig.now += 1000;
  }
}

t.test('replay through the index equals a scan of the tail, for every seq, through trims', async (t) => {
  const rig = new Rig({ journal: { maxEvents: 40, maxAgeMs: 600_000 } });
  workload(rig, 30);
  t.equal(rig.state.journal.length, 40, 'the journal was trimmed by count');
  const oldest = rig.state.journal[0]!.seq;
  for (let after = oldest - 1; after <= rig.state.seq; after++) {
    for (const client of ['desk-a', 'desk-b', 'nobody']) t.same(seqs(replay(rig.state, client, after)), scan(rig.state, client, after), `${client} after ${after}`);
  }
  t.match(replay(rig.state, 'desk-a', oldest - 2), { ok: false, oldestSeq: oldest }, 'ReplayGap as before');
  t.ok(rig.state.journalByDn.valid);
  t.same([...rig.state.journalByDn.byDn.keys()].sort(), [...new Set(rig.state.journal.map((e) => e.dn))].sort(), 'DNs with no entry left are dropped');

  rig.now += 700_000;
  rig.tick(0);
  t.equal(rig.state.journal.length, 0, 'trimmed by age');
  t.equal(rig.state.journalByDn.byDn.size, 0, 'the index is empty with the journal');
});

t.test('several DNs merge in seq order; a DN given twice counts once', async (t) => {
  const rig = new Rig({ journal: { maxEvents: 1000, maxAgeMs: 600_000 } });
  workload(rig, 5);
  const got = journalEntriesAfter(rig.state, ['5003', '5001', '5003'], 0).map((e) => e.seq);
  t.same(got, rig.state.journal.filter((e) => e.dn === '5001' || e.dn === '5003').map((e) => e.seq));
  t.same(got, [...got].sort((a, b) => a - b), 'ascending');
});

t.test('a backup built from the deltas (as JSON, as on the wire) has the same index', async (t) => {
  const rig = new Rig({ journal: { maxEvents: 25, maxAgeMs: 600_000 } });
  workload(rig, 12);
  const backup = createState();
  for (const d of JSON.parse(JSON.stringify(rig.all.deltas))) applyDelta(backup, d);
  for (let after = rig.state.journal[0]!.seq - 1; after <= rig.state.seq; after++) {
    t.same(seqs(replay(backup, 'desk-a', after)), scan(rig.state, 'desk-a', after));
  }
});

t.test('a core rollback marks the index stale; the next replay rebuilds it', async (t) => {
  const rig = new Rig({ journal: { maxEvents: 10, maxAgeMs: 600_000 } });
  workload(rig, 4);
  const s = rig.state;
  const before = scan(s, 'desk-a', 0);
  // An input that appended an entry and trimmed the oldest, then threw: undone by hand.
  const undo = new TxUndo();
  const entry: JournalEntry = { seq: s.seq + 1, dn: '5001', event: { event: 'EventDialing', thisDN: '5001', seq: s.seq + 1 } };
  const trim = { op: 'journalTrim' as const, upToSeq: s.journal[0]!.seq };
  undo.record(s, trim);
  applyDelta(s, trim);
  undo.record(s, { op: 'journal', entry });
  applyDelta(s, { op: 'journal', entry });
  t.same(scan(s, 'desk-a', 0).at(-1), entry.seq);
  undo.rollback(s);
  t.notOk(s.journalByDn.valid, 'stale after the hand-made journal change');
  t.same(seqs(replay(s, 'desk-a', s.journal[0]!.seq - 1)), before, 'the rolled-back entry is gone, the trimmed one back');
  t.ok(s.journalByDn.valid, 'rebuilt by the replay');
});

t.test('a demoted primary\'s truncation (undo log) marks the index stale too', async (t) => {
  const rig = new Rig({ journal: { maxEvents: 1000, maxAgeMs: 600_000 } });
  workload(rig, 2);
  const undo = new UndoLog(0);
  rig.beforeApply = undo.beforeApply;
  const n0 = rig.all.deltas.length;
  undo.sealed(1, n0); // everything so far: one batch, acked below
  undo.acked(n0);
  const before = scan(rig.state, 'desk-a', 0);
  workload(rig, 2);
  undo.sealed(n0 + 1, rig.all.deltas.length);
  t.ok(undo.rollback(rig.state, n0));
  t.notOk(rig.state.journalByDn.valid);
  t.same(seqs(replay(rig.state, 'desk-a', 0)), before);
});

// The undo log rolls a primary's state back to any unacknowledged batch boundary, exactly: the
// canonical state after a rollback equals the one recorded at that boundary (journal trims, derived
// indexes and counters included). Out of reach (acked, trimmed, not a boundary, poisoned): refused,
// nothing changed.
import t from 'tap';
import { applyDelta, canonicalState, createState, snapshotDeltas, type CoreState } from '../../src/core/index.js';
import { UndoLog } from '../../src/adapters/sync/undo-log.js';
import { Rig } from '../helpers/core-rig.js';

/** The derived indexes applyDelta maintains, in a comparable form. */
function derived(s: CoreState): string {
  const sorted = <T>(m: Map<string, T>, f: (v: T) => unknown) => [...m].map(([k, v]) => [k, f(v)]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return JSON.stringify({
    bySwitchCall: sorted(s.bySwitchCall, (v) => v),
    callsByDN: sorted(s.callsByDN, (v) => [...v].sort()),
    journalByCommand: sorted(s.journalByCommand, (v) => v.map((e) => e.seq)),
  });
}

/** The same state rebuilt from scratch (as a backup's full resync builds it): its derived indexes. */
function rebuiltDerived(s: CoreState): string {
  const fresh = createState();
  for (const d of snapshotDeltas(s)) applyDelta(fresh, d);
  return derived(fresh);
}

/** A workload in "turns": each turn's deltas are sealed as one batch; the state is recorded at each boundary. */
function run(journalMax: number) {
  const rig = new Rig({ journal: { maxEvents: journalMax, maxAgeMs: 15 * 60_000 } });
  const undo = new UndoLog(0);
  rig.beforeApply = undo.beforeApply;
  let offset = 0;
  let sealedAt = 0;
  const boundaries = new Map<number, string>([[0, canonicalState(rig.state)]]);
  const seal = () => {
    const n = rig.all.deltas.length - sealedAt;
    sealedAt = rig.all.deltas.length;
    if (n === 0) return;
    undo.sealed(offset + 1, offset + n);
    offset += n;
    boundaries.set(offset, canonicalState(rig.state));
  };
  rig.agentReady('5001', 'ann'); seal();
  rig.agentReady('5002', 'bob'); rig.req('d1', { request: 'RequestRegisterAddress', thisDN: '5003' }); seal();
  const calls: string[] = [];
  for (let i = 0; i < 6; i++) {
    const c = rig.inbound(`41555501${i}`, '7000');
    calls.push(c.callId);
    seal();
    if (i % 2 === 1) { rig.callerHangup(calls[i - 1]!); seal(); }
    rig.tick(1_000); seal();
  }
  rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5003', connId: rig.connIdOf(calls[5]!), userData: { account: '42' } });
  rig.answeredInbound('4155550199', '5003'); seal();
  return { rig, undo, boundaries, offset };
}

t.test('rollback to each boundary, newest first, equals the state recorded there', async (t) => {
  const { rig, undo, boundaries, offset } = run(12);
  t.ok(boundaries.size > 10, `${boundaries.size} boundaries over ${offset} deltas`);
  t.equal(undo.truncatableTo, 0);
  const offsets = [...boundaries.keys()].sort((a, b) => b - a);
  for (const o of offsets) {
    t.ok(undo.rollback(rig.state, o), `rolled back to ${o}`);
    t.equal(canonicalState(rig.state), boundaries.get(o), `state at ${o}`);
    t.equal(derived(rig.state), rebuiltDerived(rig.state), `derived indexes at ${o}`);
  }
});

t.test('out of reach: acked, not a boundary, beyond the end: refused and nothing changes', async (t) => {
  const { rig, undo, boundaries, offset } = run(12);
  const offsets = [...boundaries.keys()].sort((a, b) => a - b);
  const acked = offsets[3]!;
  undo.acked(acked);
  t.equal(undo.truncatableTo, acked, 'acked batches are dropped: the divergence point is at or after the ack');
  const before = canonicalState(rig.state);
  t.notOk(undo.rollback(rig.state, offsets[2]!), 'before the acked offset');
  t.notOk(undo.rollback(rig.state, offset + 1), 'beyond the end');
  t.notOk(undo.rollback(rig.state, acked + 1), 'not a batch boundary');
  t.equal(canonicalState(rig.state), before, 'nothing changed');
  t.ok(undo.rollback(rig.state, acked));
  t.equal(canonicalState(rig.state), boundaries.get(acked));
});

t.test('a batch that trimmed journal entries it appended itself cannot be undone (full resync instead)', async (t) => {
  const { rig, undo, boundaries } = run(1);
  const offsets = [...boundaries.keys()].sort((a, b) => a - b);
  const before = canonicalState(rig.state);
  t.notOk(undo.rollback(rig.state, offsets[0]!), 'refused');
  t.equal(canonicalState(rig.state), before);
});

// The chaos drill's journal copy (scripts/lib/chaos-journal.mjs) and the per-cycle event audit: what
// a tail read means after a trim, a failover and a fresh state.
import t from 'tap';
// @ts-expect-error plain .mjs script module without types
import { JournalWindow } from '../../scripts/lib/chaos-journal.mjs';
// @ts-expect-error plain .mjs script module without types
import { EventAudit, AnswerAudit } from '../../scripts/lib/chaos-checker.mjs';

const e = (seq: number, dn = '5000', event = 'EventRinging') => ({ seq, dn, event: { event, seq } });
const tail = (seq: number, oldestSeq: number, seqs: number[]) => ({ seq, oldestSeq, journal: seqs.map((s) => e(s)) });

t.test('reads from one primary accumulate; a read that missed trimmed entries records a gap', async (t) => {
  const w = new JournalWindow();
  t.equal(w.merge('A@1', 0, tail(3, 1, [1, 2, 3])), 'ok');
  t.equal(w.nextAfter('A@1'), 3);
  // the server trimmed 4..6 before the drill read again
  t.equal(w.merge('A@1', 3, tail(9, 7, [7, 8, 9])), 'ok');
  t.same(w.after(0).map((x: { seq: number }) => x.seq), [1, 2, 3, 7, 8, 9]);
  t.same(w.gaps, [[4, 6]]);
  t.notOk(w.judgeable(5), 'in the gap: not judged');
  t.ok(w.judgeable(8));
  t.notOk(w.judgeable(10), 'past what was read');
});

t.test('a new primary re-reads a margin back and its history replaces the deposed one past it', async (t) => {
  const w = new JournalWindow();
  w.merge('A@1', 0, tail(10, 1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  const after = w.nextAfter('B@2', 4);
  t.equal(after, 6, 'a margin back from the last seq');
  // B never got 9 and 10 (A journaled them but never replicated them); B's own 9 differs
  w.merge('B@2', after, { seq: 9, oldestSeq: 1, journal: [e(7), e(8), e(9, '5001', 'EventAgentReady')] });
  t.equal(w.maxSeq, 9);
  t.same(w.after(6).map((x: { seq: number; dn: string }) => `${x.seq}:${x.dn}`), ['7:5000', '8:5000', '9:5001']);
  t.same(w.gaps, [], 'the margin overlapped what A gave: no gap');
});

t.test('a fresh state (seq behind where the read started) resets the window', async (t) => {
  const w = new JournalWindow();
  w.merge('A@1', 0, tail(50, 1, [48, 49, 50]));
  t.equal(w.merge('A@3', w.nextAfter('A@3', 5), tail(4, 1, [1, 2, 3, 4])), 'reset');
  t.equal(w.resets, 1);
  t.equal(w.after(0).length, 0);
  t.equal(w.merge('A@3', 0, tail(4, 1, [1, 2, 3, 4])), 'ok');
  t.equal(w.maxSeq, 4);
});

t.test('prune forgets entries and gaps of old cycles', async (t) => {
  const w = new JournalWindow();
  w.merge('A@1', 0, tail(3, 1, [1, 2, 3]));
  w.merge('A@1', 3, tail(8, 6, [6, 7, 8]));
  w.prune(5);
  t.same(w.after(0).map((x: { seq: number }) => x.seq), [6, 7, 8]);
  t.same(w.gaps, []);
});

t.test('the event audit judges each cycle once and still sees a late duplicate of the previous cycle', async (t) => {
  const audit = new EventAudit();
  const desk = { dn: '5000', name: 'd', baselineSeq: 0, events: [[1, 'EventRinging', 'c'], [2, 'EventEstablished', 'c']] as [number, string, string][] };
  const j1 = [e(1), e(2, '5000', 'EventEstablished')];
  t.same(pick(audit.check([desk], j1, { fromSeq: 0 })), [0, 0, 0]);
  // cycle 2: seq 3 lost, seq 2 replayed late (a duplicate), seq 4 never journalled (unexpected)
  desk.events.push([2, 'EventEstablished', 'c'], [4, 'EventReleased', 'c']);
  const j2 = [e(3, '5000', 'EventReleased')];
  t.same(pick(audit.check([desk], j2, { fromSeq: 2 })), [1, 1, 1]);
  // cycle 3: nothing new: nothing counted again
  t.same(pick(audit.check([desk], [], { fromSeq: 4 })), [0, 0, 0]);
  // a seq outside what the drill collected is not judged
  desk.events.push([7, 'EventRinging', 'x']);
  t.same(pick(audit.check([desk], [], { fromSeq: 4, judgeable: (s: number) => s !== 7 })), [0, 0, 0]);
});

t.test('the answer audit finds a request answered twice across checks and forgets after a reset', async (t) => {
  const a = new AnswerAudit();
  const ans = (seq: number, ref: number) => ({ ...e(seq), answer: { clientName: 'c', referenceId: ref } });
  t.equal(a.check([ans(1, 1), ans(2, 2)]).answeredTwice, 0);
  t.equal(a.check([ans(5, 1)]).answeredTwice, 1, 'ref 1 answered at seq 1 and again at seq 5');
  a.reset();
  t.equal(a.check([ans(1, 2)]).answeredTwice, 0);
});

function pick(r: { lost: number; duplicated: number; unexpected: number }) { return [r.lost, r.duplicated, r.unexpected]; }

// EventSequencer: exactly-once, in-order delivery by seq, with replay merge (pure, exact sequences).
import t from 'tap';
import { EventSequencer } from '../../src/sdk/event-order.js';
import type { TEvent } from '../../src/protocol/messages.js';

const ev = (seq: number): TEvent => ({ event: 'EventRinging', seq, thisDN: '5001' });
const seqs = (evs: TEvent[]) => evs.map((e) => e.seq);

t.test('live events: in order, duplicates and older ones dropped', async (t) => {
  const s = new EventSequencer();
  t.same(seqs(s.offer(ev(3))), [3]);
  t.same(seqs(s.offer(ev(3))), [], 'same seq twice (both servers)');
  t.same(seqs(s.offer(ev(2))), [], 'older than lastSeq');
  t.same(seqs(s.offer(ev(7))), [7], 'gaps are normal: other DNs');
  t.equal(s.lastSeq, 7);
  t.equal(s.duplicates, 2);
});

t.test('replay: held back, then released sorted and de-duplicated', async (t) => {
  const s = new EventSequencer(10);
  s.beginReplay();
  t.ok(s.replaying);
  t.same(seqs(s.offer(ev(11))), []);
  t.same(seqs(s.offer(ev(15))), [], 'a live event racing the replay');
  t.same(seqs(s.offer(ev(12))), []);
  t.same(seqs(s.offer(ev(9))), [], 'overlap with what we had');
  t.same(seqs(s.offer(ev(15))), []);
  t.same(seqs(s.endReplay()), [11, 12, 15]);
  t.notOk(s.replaying);
  t.equal(s.lastSeq, 15);
  t.same(seqs(s.offer(ev(16))), [16]);
});

t.test('a cut-short replay keeps lastSeq so the next one covers the same range', async (t) => {
  const s = new EventSequencer(10);
  s.beginReplay();
  s.offer(ev(11));
  s.offer(ev(20));
  s.discardReplay();
  t.equal(s.lastSeq, 10);
  s.beginReplay();
  for (const n of [11, 12, 20]) s.offer(ev(n));
  t.same(seqs(s.endReplay()), [11, 12, 20]);
});

t.test('baseline only without history', async (t) => {
  const s = new EventSequencer();
  s.baseline(100);
  t.equal(s.lastSeq, 100);
  s.baseline(200);
  t.equal(s.lastSeq, 100);
  t.same(seqs(s.offer(ev(100))), []);
  t.same(seqs(s.offer(ev(101))), [101]);
});

import t from 'tap';
import { EventLog } from '../../src/processes/switch/event-log.js';

const ev = (n: number) => Array.from({ length: n }, () => ({ callId: 's1' }));
const seqs = (r: { events: { seq?: number | null }[] }) => r.events.map((e) => e.seq);

t.test('numbers events gaplessly and redelivers everything after S', async (t) => {
  const log = new EventLog(10);
  t.equal(log.lastSeq, 0);
  t.equal(log.oldestSeq, 1);
  t.same(log.append(ev(3)).map((e) => e.seq), [1, 2, 3]);
  t.same(seqs(log.since(0)), [1, 2, 3]);
  t.same(seqs(log.since(1)), [2, 3]);
  t.same(log.since(3), { gap: false, events: [] });
  t.same(log.since(4), { gap: true, events: [] }, 'a seq from a previous life of the switch');
});

t.test('bounded: the oldest events go; S older than the log is a gap', async (t) => {
  const log = new EventLog(4);
  log.append(ev(10));
  t.equal(log.oldestSeq, 7);
  t.equal(log.lastSeq, 10);
  t.same(seqs(log.since(6)), [7, 8, 9, 10], 'S+1 is the oldest held');
  t.same(log.since(5), { gap: true, events: [] });
  log.append(ev(1));
  t.same(seqs(log.since(8)), [9, 10, 11], 'wraps around the ring');
});

t.test('rejects a silly capacity', async (t) => {
  t.throws(() => new EventLog(0), /positive integer/);
});

// The primary's backlog: bounds by batches and bytes, lookups, and the partial-vs-full decision.
import t from 'tap';
import { Backlog, BacklogOverflowError, decideResync } from '../../src/adapters/sync/backlog.js';
import { EncodedFrame } from '../../src/wire/sync-service.js';

function batch(first: number, last: number, bytes = 10) {
  return { firstOffset: first, lastOffset: last, frame: new EncodedFrame(Buffer.alloc(bytes)), publishedAt: first };
}

t.test('bounded by batch count: oldest dropped, start offset moves', async (t) => {
  const b = new Backlog({ maxBatches: 3, maxBytes: 1e9 }, 0);
  b.append(batch(1, 5));
  b.append(batch(6, 6));
  b.append(batch(7, 10));
  t.same([b.size, b.startOffset, b.endOffset], [3, 0, 10]);
  b.append(batch(11, 12));
  t.same([b.size, b.startOffset, b.endOffset, b.bytes], [3, 5, 12, 30]);
  t.ok(b.canContinueFrom(5));
  t.notOk(b.canContinueFrom(4));
  t.ok(b.canContinueFrom(12));
  t.notOk(b.canContinueFrom(13));
});

t.test('bounded by bytes, but the newest batch always stays', async (t) => {
  const b = new Backlog({ maxBatches: 100, maxBytes: 25 }, 100);
  b.append(batch(101, 101, 10));
  b.append(batch(102, 102, 10));
  t.same([b.size, b.bytes], [2, 20]);
  b.append(batch(103, 103, 10));
  t.same([b.size, b.bytes, b.startOffset], [2, 20, 101]);
  b.append(batch(104, 110, 500));
  t.same([b.size, b.bytes, b.startOffset, b.endOffset], [1, 500, 103, 110]);
});

t.test('batchAfter: the next batch, none at the end, overflow before the start', async (t) => {
  const b = new Backlog({ maxBatches: 4, maxBytes: 1e9 }, 0);
  for (let i = 0; i < 6; i++) b.append(batch(i * 10 + 1, i * 10 + 10));
  t.equal(b.batchAfter(20)!.firstOffset, 21);
  t.equal(b.batchAfter(50)!.lastOffset, 60);
  t.equal(b.batchAfter(60), undefined);
  t.throws(() => b.batchAfter(10), { code: 'ResyncOverflow', message: /holds 20..60/ });
  t.ok(new BacklogOverflowError(1, 2, 3) instanceof Error);
  t.throws(() => b.batchAfter(25), { code: 'ResyncOverflow' }, 'mid-batch offsets are not resumable');
  t.throws(() => b.append(batch(70, 70)), /does not follow offset 60/);
  t.equal(b.publishedAfter(30), 31);
  t.equal(b.publishedAfter(0), undefined);
});

t.test('many appends compact without losing order', async (t) => {
  const b = new Backlog({ maxBatches: 10, maxBytes: 1e9 }, 0);
  for (let i = 1; i <= 5000; i++) b.append(batch(i, i));
  t.same([b.size, b.startOffset, b.endOffset], [10, 4990, 5000]);
  for (let o = 4990; o < 5000; o++) t.equal(b.batchAfter(o)!.firstOffset, o + 1);
});

t.test('decideResync: partial vs full', async (t) => {
  const backlog = new Backlog({ maxBatches: 3, maxBytes: 1e9 }, 40);
  for (let i = 0; i < 5; i++) backlog.append(batch(41 + i * 10, 50 + i * 10)); // holds 60..90
  const own = { replicationId: 'R2', backlog };
  t.same(decideResync({ replicationId: '', offset: 0 }, own), { mode: 'full', reason: 'new-backup' });
  t.same(decideResync({ replicationId: 'other', offset: 80 }, own), { mode: 'full', reason: 'other-replication' });
  t.same(decideResync({ replicationId: 'R2', offset: 50 }, own), { mode: 'full', reason: 'offset-not-in-backlog' });
  t.same(decideResync({ replicationId: 'R2', offset: 60 }, own), { mode: 'partial', fromOffset: 60 });
  t.same(decideResync({ replicationId: 'R2', offset: 90 }, own), { mode: 'partial', fromOffset: 90 });
  t.same(decideResync({ replicationId: 'R2', offset: 91 }, own), { mode: 'full', reason: 'offset-not-in-backlog' });
});

t.test('decideResync: a promoted primary continues its predecessor up to the promotion offset', async (t) => {
  const backlog = new Backlog({ maxBatches: 10, maxBytes: 1e9 }, 58); // promoted at offset 58
  backlog.append(batch(59, 70));
  const own = { replicationId: 'NEW', inherited: { replicationId: 'OLD', offset: 58 }, backlog };
  t.same(decideResync({ replicationId: 'OLD', offset: 58 }, own), { mode: 'partial', fromOffset: 58 }, 'old primary after a clean handover');
  t.same(decideResync({ replicationId: 'OLD', offset: 61 }, own), { mode: 'full', reason: 'other-replication' }, 'it had deltas the new primary never got');
  t.same(decideResync({ replicationId: 'OLD', offset: 61, truncatableTo: 55 }, own), { mode: 'partial', fromOffset: 58 }, 'it can roll back to the divergence point: truncate, then partial');
  t.same(decideResync({ replicationId: 'OLD', offset: 61, truncatableTo: 59 }, own), { mode: 'full', reason: 'other-replication' }, 'its undo log does not reach back to 58');
  t.same(decideResync({ replicationId: 'OLD', offset: 61, truncatableTo: 0 }, own), { mode: 'full', reason: 'other-replication' }, '0 = cannot truncate');
  t.same(decideResync({ replicationId: 'OLD', offset: 40 }, own), { mode: 'full', reason: 'offset-not-in-backlog' });
  t.same(decideResync({ replicationId: 'NEW', offset: 65 }, own), { mode: 'full', reason: 'offset-not-in-backlog' }, 'mid-batch');
  t.same(decideResync({ replicationId: 'NEW', offset: 70 }, own), { mode: 'partial', fromOffset: 70 });
});

t.test('limits are validated', async (t) => {
  t.throws(() => new Backlog({ maxBatches: 0, maxBytes: 10 }, 0), /at least 1 batch/);
});

// A batch frame kept in the backlog owns exactly its bytes: a slice of Node's shared 8 KiB pool would
// pin the whole slab for as long as the backlog keeps the frame, and the backlog's byte bound (which
// counts frame lengths) would not bound the memory it holds.
import t from 'tap';
import { encodeDeltaBatch } from '../../src/adapters/sync/delta-codec.js';
import { Backlog } from '../../src/adapters/sync/backlog.js';
import { EncodedFrame } from '../../src/wire/sync-service.js';

t.test('encoded batches are not pooled slices; the backlog bounds what it retains', async (t) => {
  const frames = Array.from({ length: 50 }, (_, i) => encodeDeltaBatch(i + 1, i + 1, [{ op: 'put', coll: 'calls', key: `c${i}`, value: { connId: `c${i}`, parties: [] } }]));
  for (const f of frames) t.equal(f.buffer.byteLength, f.length, 'the frame is its own ArrayBuffer');
  const b = new Backlog({ maxBatches: 1_000, maxBytes: 10 * frames[0]!.length }, 0);
  frames.forEach((f, i) => b.append({ firstOffset: i + 1, lastOffset: i + 1, frame: new EncodedFrame(f), publishedAt: 0 }));
  t.ok(b.size <= 11, `the byte bound binds: ${b.size} batches kept`);
});

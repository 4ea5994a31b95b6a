// The primary's handover sequence (src/adapters/sync/handover.ts) against a scripted host: the offset in
// HandoverReady is final. Chaos found a switchover that fell back to a forced claim after 2 s: deltas
// applied with the lease release were published while the primary waited for the last ack, the
// backup applied past finalOffset, refused HandoverReady ("HandoverReady at 150794 but 150799
// applied") and resynced in full.
import t from 'tap';
import pino from 'pino';
import { runHandover, type HandoverHost } from '../../src/adapters/sync/handover.js';
import type { PrimarySession } from '../../src/adapters/sync/primary-session.js';

const log = pino({ level: 'silent' });

function host() {
  let offset = 100;
  let sealed: string | undefined;
  const listeners = new Set<() => void>();
  const written: unknown[] = [];
  const session = { peerName: 'B', closed: false, ackedOffset: 100, write: (m: unknown) => { written.push(m); } };
  const h: HandoverHost = {
    flush: () => undefined,
    offset: () => offset,
    epoch: () => 7,
    inSyncSession: () => session as unknown as PrimarySession,
    seal: (why) => { sealed = why; },
    onProgress: (l) => { listeners.add(l); return () => listeners.delete(l); },
  };
  /** What the releaser does with a sealed batch: publish (throws once sealed). */
  const publish = (n: number): number => {
    if (sealed) throw new Error(`cannot publish: ${sealed}`);
    offset += n;
    return offset;
  };
  /** The backup acks everything published so far. */
  const ack = (): void => { session.ackedOffset = offset; for (const l of [...listeners]) l(); };
  return { h, publish, ack, written, get sealed() { return sealed; } };
}

t.test('deltas that arrive while the last ack is awaited are not published past finalOffset', async (t) => {
  const x = host();
  let refused = 0;
  const done = runHandover(x.h, {
    releaseLease: () => {
      x.publish(3); // switch events read with the release confirmation: before the final offset
      return Promise.resolve();
    },
  }, log);
  await new Promise((r) => setImmediate(r));
  // Waiting for the ack of the final offset: a straggler batch is sealed now.
  try { x.publish(5); } catch { refused++; }
  x.ack();
  const r = await done;
  t.equal(r.finalOffset, 103, 'the release-time deltas are inside the final offset');
  t.equal(refused, 1, 'the straggler is refused (sealed), not streamed past finalOffset');
  t.same(x.written, [{ handoverReady: { finalOffset: 103, epoch: 7 } }]);
  t.ok(x.sealed);
});

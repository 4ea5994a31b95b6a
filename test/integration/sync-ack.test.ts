// Sync modes: in `ack` mode whenAcked(offset) resolves only once the backup acknowledged it; with no
// backup in sync (never connected, gone, silent, too slow) it runs alone, says so, and never hangs.
import t from 'tap';
import { sy } from '../../src/wire/sync-proto.js';
import { backupAt, backupState, DeltaSource, loopbackPair, rawBackup, type Pair, type RawBackup } from '../helpers/sync-fixtures.js';

const turn = () => new Promise((r) => setImmediate(r));
const addp = { intervalMs: 50, timeoutMs: 300 };

/** A hand-driven backup taken to in-sync, heartbeating, acking nothing yet. */
async function inSyncRaw(t: { teardown(fn: () => unknown): void }, p: Pair): Promise<RawBackup> {
  const raw = rawBackup(t, p.server.port);
  raw.heartbeat(addp.intervalMs);
  raw.send({ hello: { serverName: 'R', replicationId: '', offset: 0 } });
  await raw.waitFor((m) => m.msg === 'inSync', 'InSync');
  return raw;
}

function settled(pr: Promise<void>): () => boolean {
  let done = false;
  void pr.then(() => { done = true; });
  return () => done;
}

t.test('ack mode: whenAcked resolves only after the backup acked that offset', async (t) => {
  const p = await loopbackPair(t, { addp });
  const src = new DeltaSource();
  t.ok(p.primary.alone, 'alone before any backup');
  const raw = await inSyncRaw(t, p);
  t.notOk(p.primary.alone, 'not alone once the backup is in sync');
  const x = p.change(src.next(10));
  const acked = settled(p.primary.whenAcked(x));
  await raw.waitFor((m) => m.msg === 'deltaBatch' && m.deltaBatch!.lastOffset === x, 'the batch');
  await turn(); await turn();
  t.notOk(acked(), 'the backup has the batch but did not ack: still waiting');
  raw.send({ ack: { offset: x - 1 } });
  await raw.waitFor((m) => m.msg === 'heartbeat', 'a heartbeat after the partial ack'); // lets the ack be read
  t.notOk(acked(), 'an ack below the offset does not release it');
  const released = p.primary.whenAcked(x);
  raw.send({ ack: { offset: x } });
  await released;
  t.ok(p.primary.status().ackedOffset === x);
  t.equal(p.primary.status().lagOffsets, 0);
});

t.test('ack mode with a real backup: released after the backup applied it', async (t) => {
  const p = await loopbackPair(t);
  const src = new DeltaSource();
  const b = p.makeBackup();
  b.start();
  await backupState(b, 'in-sync');
  for (let i = 0; i < 20; i++) {
    const x = p.change(src.next(25));
    await p.primary.whenAcked(x);
    t.ok(b.position.offset >= x, `offset ${x} applied by the backup before release`);
  }
  await backupAt(b, p.primary.offset);
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump());
});

t.test('backup gone while releases wait: released, running alone, and it says so', async (t) => {
  const p = await loopbackPair(t, { addp });
  const raw = await inSyncRaw(t, p);
  const x = p.change(new DeltaSource().next(5));
  const waiting = p.primary.whenAcked(x);
  raw.close(); // the backup process died
  await waiting;
  t.ok(p.primary.alone);
  t.equal(p.primary.status().state, 'none');
  await p.log.waitFor((l) => l.msg === 'running alone: no backup in sync, nothing waits for acks' && l.released === 1, 'alone log');
  await p.primary.whenAcked(p.change(new DeltaSource().next(1))); // resolves at once now
});

t.test('backup silent (no heartbeat, stream open): dropped after the ADDP timeout, releases go', async (t) => {
  const p = await loopbackPair(t, { addp });
  const raw = rawBackup(t, p.server.port);
  raw.send({ hello: { serverName: 'R', replicationId: '', offset: 0 } }); // and then nothing, ever
  await raw.waitFor((m) => m.msg === 'inSync', 'InSync');
  const x = p.change(new DeltaSource().next(5));
  const t0 = performance.now();
  await p.primary.whenAcked(x);
  const ms = performance.now() - t0;
  t.ok(ms >= addp.timeoutMs - 60, `released after the ADDP timeout (${Math.round(ms)} ms)`);
  await p.log.waitFor((l) => l.msg === 'addp timeout: peer silent, declared dead' && l.peer === 'backup', 'addp log');
  t.ok(p.primary.alone);
});

t.test('backup heartbeats but never acks: dropped after maxAckWaitMs with ACK_TIMEOUT', async (t) => {
  const p = await loopbackPair(t, { addp, maxAckWaitMs: 300 });
  const raw = await inSyncRaw(t, p);
  const x = p.change(new DeltaSource().next(5));
  await p.primary.whenAcked(x);
  const err = await raw.waitFor((m) => m.msg === 'error', 'Error');
  t.equal(err.error!.code, sy.ErrorCode.ACK_TIMEOUT);
  await raw.ended;
  t.ok(p.primary.alone);
});

t.test('async mode: whenAcked resolves at once even with a backup in sync that acks nothing', async (t) => {
  const p = await loopbackPair(t, { addp, mode: 'async' });
  await inSyncRaw(t, p);
  t.notOk(p.primary.alone);
  t.equal(p.primary.status().mode, 'async');
  const x = p.change(new DeltaSource().next(5));
  const acked = settled(p.primary.whenAcked(x));
  await turn();
  t.ok(acked(), 'released without an ack');
});

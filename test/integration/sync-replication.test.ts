// Loopback replication: two in-process replicas over a real gRPC stream on 127.0.0.1 port 0.
import t from 'tap';
import { DeltaSource, backupAt, backupState, loopbackPair, once } from '../helpers/sync-fixtures.js';

const turn = () => new Promise((r) => setImmediate(r));

t.test('the backup equals the primary after a stream of deltas (one batch per turn)', async (t) => {
  const p = await loopbackPair(t);
  const src = new DeltaSource();
  p.change(src.next(200)); // before the backup exists: reaches it through the snapshot
  const b = p.makeBackup();
  b.start();
  await backupState(b, 'in-sync');
  let last = 0;
  for (let i = 0; i < 50; i++) {
    for (let j = 0; j < 5; j++) last = p.change(src.next(7)); // 5 publishes, one batch
    await turn();
  }
  await backupAt(b, last);
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump(), 'states equal');
  t.equal(b.position.replicationId, p.primary.replicationId);
  t.equal(b.position.offset, p.primary.offset);
  t.ok(p.primary.backlog.size <= 51, `batched per turn (${p.primary.backlog.size} batches for 50 turns + 1)`);
  const welcome = p.log.lines.find((l) => l.msg === 'resync full started');
  t.equal(welcome?.reason, 'new-backup');
  t.equal(p.primary.status().state, 'in-sync');
});

t.test('partial resync after a reconnect inside the backlog', async (t) => {
  const p = await loopbackPair(t);
  const src = new DeltaSource();
  const b1 = p.makeBackup();
  b1.start();
  await backupState(b1, 'in-sync');
  let last = p.change(src.next(100));
  await backupAt(b1, last);
  const pos = b1.position;
  b1.stop('simulated restart');
  for (let i = 0; i < 10; i++) { last = p.change(src.next(10)); await turn(); }
  // Same replica, restarted with its position: only the missing deltas travel.
  const b2 = p.makeBackup({ position: pos });
  const welcome = once<{ mode: string; fromOffset: number }>(b2 as never, 'welcome');
  b2.start();
  t.equal((await welcome).mode, 'partial');
  await backupState(b2, 'in-sync');
  await backupAt(b2, last);
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump());
  const done = await p.log.waitFor((l) => l.msg === 'resync partial done: backup in sync', 'partial done');
  t.equal(done.deltas, 100, 'exactly the 100 missed deltas were resent');
  t.ok((done.bytes as number) > 0);
});

t.test('full snapshot outside the backlog while the primary keeps publishing', async (t) => {
  const p = await loopbackPair(t, { backlog: { maxBatches: 150 }, snapshotChunkBytes: 8192 });
  const src = new DeltaSource();
  for (let i = 0; i < 40; i++) { p.change(src.next(200)); await turn(); }
  const b1 = p.makeBackup();
  b1.start();
  await backupState(b1, 'in-sync');
  const pos = b1.position;
  b1.stop('restart');
  for (let i = 0; i < 200; i++) { p.change(src.next(5)); await turn(); } // the backlog moves past pos
  t.notOk(p.primary.backlog.canContinueFrom(pos.offset));
  const b2 = p.makeBackup({ position: pos });
  const welcome = once<{ mode: string; snapshotDeltas: number }>(b2 as never, 'welcome');
  b2.start();
  // Keep publishing every turn while the snapshot streams.
  let publishing = true;
  let during = 0;
  const pump = async () => { while (publishing && b2.state !== 'stopped') { p.change(src.next(20)); during++; await turn(); } };
  const pumping = pump();
  const w = await welcome;
  t.equal(w.mode, 'full');
  t.ok(w.snapshotDeltas > 400, `snapshot of ${w.snapshotDeltas} deltas`);
  await backupState(b2, 'in-sync');
  publishing = false;
  await pumping;
  await backupAt(b2, p.primary.offset);
  t.ok(during > 1, `the primary published during the snapshot (${during} turns)`);
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump(), 'states equal after snapshot + live deltas');
  const started = p.log.lines.filter((l) => l.msg === 'resync full started');
  t.equal(started.at(-1)?.reason, 'offset-not-in-backlog');
  const done = p.log.lines.filter((l) => l.msg === 'resync full done: backup in sync').at(-1)!;
  t.equal(done.deltas, w.snapshotDeltas, 'size logged: deltas');
  t.ok((done.bytes as number) > 8192 * 2, `size logged: ${done.bytes} bytes in several chunks`);
  t.type(done.ms, 'number', 'duration logged');
});

t.test('handover: drained, HandoverReady, the old primary rejoins the new one with nothing to resend', async (t) => {
  const p = await loopbackPair(t);
  const src = new DeltaSource();
  const b = p.makeBackup();
  b.start();
  await backupState(b, 'in-sync');
  p.change(src.next(50));
  const requested = once<{ peer: string }>(p.primary as never, 'handoverRequested');
  t.ok(b.requestHandover('operator: SIGUSR1'));
  t.equal((await requested).peer, 'B');
  const ready = once<{ finalOffset: number; epoch: number }>(b as never, 'handoverReady');
  const order: string[] = [];
  p.change(src.next(5)); // published right before the handover: part of the final offset
  const result = await p.primary.handover({ releaseLease: () => { order.push('lease released'); p.change(src.next(3)); } });
  const r = await ready;
  t.same(r, { finalOffset: result.finalOffset, epoch: 1, position: { replicationId: p.primary.replicationId, offset: result.finalOffset } });
  t.equal(result.finalOffset, 58, 'deltas published while releasing the lease are included');
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump());
  t.equal(b.state, 'handover');
  t.throws(() => p.primary.publish(src.next(1)), { code: 'SyncPrimaryClosed' }, 'sealed after the handover');
  t.same(order, ['lease released']);

  // Roles swap: B's primary continues A's replication (inherit), A rejoins from its final offset.
  const { SyncServer } = await import('../../src/adapters/sync/server.js');
  const { SyncPrimary } = await import('../../src/adapters/sync/primary.js');
  const { SyncBackup } = await import('../../src/adapters/sync/backup.js');
  const serverB = await SyncServer.listen({ host: '127.0.0.1', port: 0, log: p.log.logger });
  const primaryB = new SyncPrimary({ serverName: 'B', epoch: () => 2, snapshotDeltas: () => p.backupReplica.snapshotDeltas(), log: p.log.logger, inherit: b.position });
  serverB.serve(primaryB);
  b.stop('promoted');
  const backupA = new SyncBackup({
    serverName: 'A', primaryAddress: `127.0.0.1:${serverB.port}`, log: p.log.logger,
    position: { replicationId: p.primary.replicationId, offset: p.primary.offset },
    reset: () => { t.fail('no reset on a clean handover'); p.primaryReplica.reset(); },
    apply: (d) => p.primaryReplica.apply(d),
  });
  t.teardown(async () => { backupA.stop(); primaryB.close(); await serverB.close(); });
  const welcome = once<{ mode: string }>(backupA as never, 'welcome');
  backupA.start();
  t.equal((await welcome).mode, 'partial');
  await backupState(backupA, 'in-sync');
  const more = src.next(10);
  p.backupReplica.apply(more);
  const last = primaryB.publish(more);
  await backupAt(backupA, last);
  t.equal(p.primaryReplica.dump(), p.backupReplica.dump(), 'old primary follows the new one');
  t.equal(primaryB.offset, result.finalOffset + 10, 'offsets continue across the handover');
});

t.test('the real core state (applyDelta, snapshotDeltas) replicates: canonicalState equal', async (t) => {
  const { createState, applyDelta, snapshotDeltas, canonicalState } = await import('../../src/core/index.js');
  const { SyncBackup } = await import('../../src/adapters/sync/backup.js');
  const primaryState = createState();
  let backupState_ = createState();
  const p = await loopbackPair(t, { snapshotDeltas: () => snapshotDeltas(primaryState) });
  const src = new DeltaSource();
  const change = (n: number) => { const d = src.next(n); for (const x of d) applyDelta(primaryState, x); return p.primary.publish(d); };
  for (let i = 0; i < 20; i++) { change(30); await turn(); }
  const b = new SyncBackup({
    serverName: 'B', primaryAddress: `127.0.0.1:${p.server.port}`, log: p.log.logger,
    reset: () => { backupState_ = createState(); },
    apply: (ds) => { for (const d of ds) applyDelta(backupState_, d); },
  });
  t.teardown(() => b.stop());
  b.start();
  await backupState(b, 'in-sync');
  let last = 0;
  for (let i = 0; i < 20; i++) { last = change(30); await turn(); }
  await backupAt(b, last);
  t.equal(canonicalState(backupState_), canonicalState(primaryState));
});

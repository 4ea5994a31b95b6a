// The sync primary (src/adapters/sync/primary.ts, one PrimarySession per backup in primary-session.ts) driven
// through its own seams: a real gRPC sync stream on 127.0.0.1 port 0, the backup's end played by
// the test frame by frame (rawBackup), the primary's timers (ADDP, the ack watch, the handover drain)
// on a manual clock (own-clock.ts). Its contract: Hello -> Welcome, the full / partial resync
// decision, acks gating whenAcked, ADDP timeouts with the resync grace, handover, bad frames.
import t from 'tap';
import { sy } from '../../src/wire/sync-proto.js';
import { HandoverError } from '../../src/adapters/sync/handover.js';
import type { PrimaryLinkStatus } from '../../src/adapters/sync/primary.js';
import { OwnClock, within } from '../helpers/own-clock.js';
import { DeltaSource, loopbackPair, once, rawBackup, type LogLine, type Pair, type RawBackup } from '../helpers/sync-fixtures.js';

interface Teardown { teardown(fn: () => unknown): void }

const ADDP = { intervalMs: 100, timeoutMs: 400 };
/** AddpMonitor checks 8 times per timeout, at most once per interval: 50 ms here. */
const CHECK = 50;
/** primary-session.ts RESYNC_SILENCE_FACTOR. */
const RESYNC_FACTOR = 4;

const turn = () => new Promise<void>((r) => setImmediate(r));

/** Publishes `n` deltas and flushes them as one batch (one event-loop turn's worth). */
function batch(p: Pair, src: DeltaSource, n: number): number {
  const x = p.change(src.next(n));
  p.primary.flush();
  return x;
}

/** Resolves once `offset` is acknowledged (whenAcked), failing the test after 5 s. */
function acked(p: Pair, offset: number): Promise<void> {
  return within(p.primary.whenAcked(offset), `the ack of ${offset}`);
}

function settled(pr: Promise<unknown>): () => boolean {
  let done = false;
  void pr.then(() => { done = true; }, () => { done = true; });
  return () => done;
}

/** Every PrimaryToBackup message received so far of this kind. */
function all(raw: RawBackup, kind: NonNullable<sy.PrimaryToBackup['msg']>): sy.PrimaryToBackup[] {
  return raw.received.flatMap((d) => (d.ok && d.msg.msg === kind ? [d.msg] : []));
}

/** Connects a hand-driven backup and sends its Hello; resolves with the Welcome. */
async function hello(t: Teardown, p: Pair, h: sy.Hello.$Properties): Promise<{ raw: RawBackup; welcome: sy.Welcome }> {
  const raw = rawBackup(t, p.server.port);
  raw.send({ hello: h });
  const w = await raw.waitFor((m) => m.msg === 'welcome', `Welcome for ${h.serverName}`);
  return { raw, welcome: w.welcome as sy.Welcome };
}

/** The 'resync <kind> started' line of this backup: its decision's reason is a field. */
function resyncLine(p: Pair, peer: string): Promise<LogLine> {
  return p.log.waitFor((l) => l.component === 'sync-session' && l.peer === peer && typeof l.kind === 'string' && l.backupOffset !== undefined, `resync line of ${peer}`);
}

/** The session's machine lines ('sync link' from -> to) for this backup, in order. */
function linkMoves(p: Pair, peer: string): string[] {
  return p.log.lines.filter((l) => l.machine === 'sync link' && l.peer === peer && l.from !== undefined).map((l) => `${String(l.from)}->${String(l.to)}`);
}

t.test('Hello from a new backup: Welcome FULL, the snapshot in chunks, then InSync; the link goes connecting -> resyncing -> in-sync', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP, snapshotChunkBytes: 512 });
  const src = new DeltaSource();
  const x = batch(p, src, 40);
  const links: PrimaryLinkStatus[] = [];
  p.primary.on('link', (s) => links.push(s));
  t.ok(p.primary.alone, 'alone before any backup');

  const { raw, welcome } = await hello(t, p, { serverName: 'B1', replicationId: '', offset: 0 });
  t.match(welcome, { serverName: 'A', replicationId: p.primary.replicationId, epoch: 1, mode: sy.ResyncMode.FULL, fromOffset: x, primaryOffset: x });
  const snapshot = p.primaryReplica.snapshotDeltas();
  t.equal(welcome.snapshotDeltas, snapshot.length, 'the Welcome announces the snapshot size');
  const inSync = await raw.waitFor((m) => m.msg === 'inSync', 'InSync');
  t.equal(inSync.inSync!.offset, x);

  const chunks = all(raw, 'snapshotChunk').map((m) => m.snapshotChunk!);
  t.ok(chunks.length > 1, `the snapshot came in ${chunks.length} chunks of ~512 bytes`);
  t.same(chunks.map((c) => c.last), [...chunks.slice(1).map(() => false), true], 'only the last chunk says last');
  t.equal(chunks.reduce((n, c) => n + c.deltas.length, 0), snapshot.length, 'every snapshot delta sent once');
  t.same(all(raw, 'deltaBatch'), [], 'nothing after the snapshot: nothing was published since');
  const kinds = raw.received.map((d) => (d.ok ? d.msg.msg : 'undecodable')).filter((k) => k !== 'heartbeat');
  t.same(kinds, ['welcome', ...chunks.map(() => 'snapshotChunk'), 'inSync'], 'Welcome, chunks, InSync: in that order');

  t.match(await resyncLine(p, 'B1'), { kind: 'full', reason: 'new-backup', fromOffset: x, snapshotDeltas: snapshot.length });
  t.same(linkMoves(p, 'B1'), ['connecting->resyncing', 'resyncing->in-sync']);
  t.same(links.map((l) => l.state), ['connecting', 'resyncing', 'in-sync'], 'link events: one per change');
  t.match(links.at(-1), { alone: false, peer: 'B1', offset: x });
  t.notOk(p.primary.alone);
});

t.test('the resync decision: partial from the backlog, full for a new backup, another replication or an offset the backlog lost', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP, backlog: { maxBatches: 2 } });
  const src = new DeltaSource();
  batch(p, src, 2); // 1..2, trimmed by the next two
  const four = batch(p, src, 2); // 3..4
  const six = batch(p, src, 2); // 5..6
  t.equal(p.primary.backlog.startOffset, 2, 'the backlog holds 3..6');
  const id = p.primary.replicationId;

  const partial = await hello(t, p, { serverName: 'P4', replicationId: id, offset: four });
  t.match(partial.welcome, { mode: sy.ResyncMode.PARTIAL, fromOffset: four, snapshotDeltas: 0, primaryOffset: six });
  await partial.raw.waitFor((m) => m.msg === 'inSync', 'InSync P4');
  t.same(all(partial.raw, 'deltaBatch').map((m) => [m.deltaBatch!.firstOffset, m.deltaBatch!.lastOffset]), [[5, 6]], 'exactly the batches after its offset');
  t.same(all(partial.raw, 'snapshotChunk'), [], 'no snapshot');
  t.match(await resyncLine(p, 'P4'), { kind: 'partial', reason: 'offset-in-backlog' });

  const atEnd = await hello(t, p, { serverName: 'P6', replicationId: id, offset: six });
  t.match(atEnd.welcome, { mode: sy.ResyncMode.PARTIAL, fromOffset: six });
  t.equal((await atEnd.raw.waitFor((m) => m.msg === 'inSync', 'InSync P6')).inSync!.offset, six);
  t.same(all(atEnd.raw, 'deltaBatch'), [], 'already there: nothing to send');

  const full: [string, sy.Hello.$Properties, string][] = [
    ['F-new', { replicationId: '', offset: 0 }, 'new-backup'],
    ['F-other', { replicationId: 'another-replication', offset: four }, 'other-replication'],
    ['F-trimmed', { replicationId: id, offset: 1 }, 'offset-not-in-backlog'],
    ['F-midbatch', { replicationId: id, offset: 3 }, 'offset-not-in-backlog'],
  ];
  for (const [name, h, reason] of full) {
    const { raw, welcome } = await hello(t, p, { serverName: name, ...h });
    t.match(welcome, { mode: sy.ResyncMode.FULL, fromOffset: six, replicationId: id }, `${name}: FULL`);
    t.match(await resyncLine(p, name), { kind: 'full', reason }, `${name}: ${reason}`);
    await raw.waitFor((m) => m.msg === 'inSync', `InSync ${name}`);
  }
});

t.test('the resync decision after a promotion: the inherited replication continues up to the promotion offset, a longer one truncates to it', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP, inherit: { replicationId: 'r-old', offset: 10 } });
  t.equal(p.primary.offset, 10, 'offsets continue from the inherited one');
  const src = new DeltaSource();
  const twelve = batch(p, src, 2);

  const cases: [string, sy.Hello.$Properties, { mode: sy.ResyncMode; fromOffset: number }, string | undefined][] = [
    ['I-at', { replicationId: 'r-old', offset: 10 }, { mode: sy.ResyncMode.PARTIAL, fromOffset: 10 }, undefined],
    ['I-ahead-undo', { replicationId: 'r-old', offset: 12, truncatableTo: 8 }, { mode: sy.ResyncMode.PARTIAL, fromOffset: 10 }, undefined],
    ['I-ahead', { replicationId: 'r-old', offset: 12 }, { mode: sy.ResyncMode.FULL, fromOffset: twelve }, 'other-replication'],
    ['I-before', { replicationId: 'r-old', offset: 8 }, { mode: sy.ResyncMode.FULL, fromOffset: twelve }, 'offset-not-in-backlog'],
  ];
  for (const [name, h, expected, reason] of cases) {
    const { raw, welcome } = await hello(t, p, { serverName: name, ...h });
    t.match(welcome, { ...expected, replicationId: p.primary.replicationId }, name);
    if (reason) t.match(await resyncLine(p, name), { kind: 'full', reason }, `${name}: ${reason}`);
    await raw.waitFor((m) => m.msg === 'inSync', `InSync ${name}`);
    if (expected.mode === sy.ResyncMode.PARTIAL) {
      t.same(all(raw, 'deltaBatch').map((m) => [m.deltaBatch!.firstOffset, m.deltaBatch!.lastOffset]), [[11, 12]], `${name}: the batch after the promotion offset`);
    }
  }
});

t.test('acks: whenAcked waits for an ack at or above its offset; lower and beyond-sent acks change nothing', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const src = new DeltaSource();
  const { raw } = await hello(t, p, { serverName: 'B', replicationId: '', offset: 0 });
  await raw.waitFor((m) => m.msg === 'inSync', 'InSync');
  const x = batch(p, src, 3);
  const y = batch(p, src, 3);
  const ackedX = settled(p.primary.whenAcked(x));
  const ackedY = settled(p.primary.whenAcked(y));
  await raw.waitFor((m) => m.msg === 'deltaBatch' && m.deltaBatch!.lastOffset === y, 'both batches');
  await turn();
  t.notOk(ackedX(), 'sent is not acked');

  raw.send({ ack: { offset: y + 5 } });
  const beyond = await p.log.waitFor((l) => l.offset === y + 5 && l.sentOffset === y, 'ack beyond what was sent');
  t.equal(beyond.level, 40, 'warned');
  t.notOk(ackedX() || ackedY(), 'an ack beyond what was sent releases nothing');

  raw.send({ ack: { offset: x } });
  await acked(p, x);
  t.match(p.primary.status(), { state: 'in-sync', ackedOffset: x, lagOffsets: y - x });
  raw.send({ ack: { offset: x - 1 } }); // late, lower: ignored
  raw.send({}); // answered BAD_MESSAGE: everything before it was read
  await raw.waitFor((m) => m.msg === 'error', 'the answer to the empty message');
  t.equal(p.primary.status().ackedOffset, x, 'a lower ack does not move the acked offset back');
  const again = settled(p.primary.whenAcked(x));
  await turn();
  t.ok(again(), 'what was acked stays acked');
  raw.send({ ack: { offset: y } });
  await acked(p, y);
  t.match(p.primary.status(), { ackedOffset: y, lagOffsets: 0 });
});

/** A backup taken to in-sync (full resync of `n` deltas) that acked nothing since its Hello. */
async function inSyncSilent(t: Teardown, p: Pair, name = 'B'): Promise<RawBackup> {
  const { raw } = await hello(t, p, { serverName: name, replicationId: '', offset: 0 });
  await raw.waitFor((m) => m.msg === 'inSync', 'InSync');
  return raw;
}

function closedBy(p: Pair, peer: string): LogLine | undefined {
  return p.log.lines.find((l) => l.machine === 'sync link' && l.peer === peer && l.to === 'closed');
}

t.test('ADDP: a backup in sync that acked the resync is dropped after one timeout of silence, not before', async (t) => {
  const clock = OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const src = new DeltaSource();
  batch(p, src, 5);
  const raw = await inSyncSilent(t, p);
  const x = batch(p, src, 1);
  await raw.waitFor((m) => m.msg === 'deltaBatch', 'a batch after the resync');
  raw.send({ ack: { offset: x } });
  await acked(p, x); // read: the grace is over, and the silence counts from here
  const alone = once<PrimaryLinkStatus>(p.primary as never, 'link', (s) => s.alone);

  clock.advance(ADDP.timeoutMs - CHECK);
  t.notOk(closedBy(p, 'B'), `silent ${ADDP.timeoutMs - CHECK} ms: kept`);
  t.notOk(p.primary.alone);
  clock.advance(CHECK);
  t.match(closedBy(p, 'B'), { from: 'in-sync', reason: /^addp timeout: backup silent for \d+ ms$/ }, `silent ${ADDP.timeoutMs} ms: dropped`);
  const dead = p.log.lines.find((l) => l.peer === 'backup' && typeof l.silentMs === 'number');
  t.match(dead, { timeoutMs: ADDP.timeoutMs });
  t.ok((dead!.silentMs as number) >= ADDP.timeoutMs && (dead!.silentMs as number) < ADDP.timeoutMs + CHECK, `silentMs ${String(dead!.silentMs)}`);
  t.match(await alone, { state: 'none', alone: true });
  await within(raw.ended, 'the stream to end');
});

t.test('resync grace: a backup that has not acked its full snapshot may be silent 4 ADDP timeouts', async (t) => {
  const clock = OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const x = batch(p, new DeltaSource(), 50);
  const raw = await inSyncSilent(t, p);
  t.match(p.primary.status(), { state: 'in-sync', ackedOffset: x }, 'in sync; the snapshot\'s offset counts as acked, but it is not applied yet');
  clock.advance(RESYNC_FACTOR * ADDP.timeoutMs - CHECK);
  t.notOk(closedBy(p, 'B'), `applying its snapshot, silent ${RESYNC_FACTOR * ADDP.timeoutMs - CHECK} ms: kept`);
  clock.advance(CHECK);
  t.match(closedBy(p, 'B'), { reason: /^addp timeout/ }, `silent ${RESYNC_FACTOR}x the timeout: dropped`);
  await within(raw.ended, 'the stream to end');
});

t.test('resync grace ends with the ack of the resync\'s last offset: from then on one timeout', async (t) => {
  const clock = OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const src = new DeltaSource();
  const two = batch(p, src, 2);
  const five = batch(p, src, 3);
  // A partial resync that sends 3..5: the backup must apply it before the grace ends.
  const { raw } = await hello(t, p, { serverName: 'B', replicationId: p.primary.replicationId, offset: two });
  await raw.waitFor((m) => m.msg === 'inSync', 'InSync');
  t.equal(all(raw, 'deltaBatch').length, 1);

  raw.send({ ack: { offset: five - 1 } }); // below the resync's last offset: still in grace
  await acked(p, five - 1); // read
  clock.advance(2 * ADDP.timeoutMs);
  t.notOk(closedBy(p, 'B'), 'an ack below the resync\'s end keeps the grace');

  raw.send({ ack: { offset: five } });
  await acked(p, five);
  clock.advance(ADDP.timeoutMs - CHECK);
  t.notOk(closedBy(p, 'B'));
  clock.advance(CHECK);
  t.match(closedBy(p, 'B'), { reason: /^addp timeout/ }, 'one timeout after the resync was acked');
  await within(raw.ended, 'the stream to end');
});

t.test('a backup that goes away during the grace is dropped at once (no clock moved)', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  batch(p, new DeltaSource(), 20);
  const raw = await inSyncSilent(t, p);
  const alone = once<PrimaryLinkStatus>(p.primary as never, 'link', (s) => s.alone);
  raw.close(); // kill -9
  t.match(await alone, { state: 'none', alone: true });
  t.match(closedBy(p, 'B'), { from: 'in-sync' });
});

t.test('a backup in sync that heartbeats no ack while releases wait: dropped after maxAckWaitMs with ACK_TIMEOUT', async (t) => {
  const clock = OwnClock.install(t);
  const maxAckWaitMs = 300;
  const p = await loopbackPair(t, { addp: { intervalMs: 100, timeoutMs: 5_000 }, maxAckWaitMs });
  const raw = await inSyncSilent(t, p);
  const x = batch(p, new DeltaSource(), 5);
  const released = settled(p.primary.whenAcked(x));
  await raw.waitFor((m) => m.msg === 'deltaBatch', 'the batch');
  clock.advance(maxAckWaitMs);
  await turn();
  t.notOk(released(), `waited ${maxAckWaitMs} ms: not yet`);
  clock.advance(100); // the next watch
  const err = await raw.waitFor((m) => m.msg === 'error', 'Error');
  t.equal(err.error!.code, sy.ErrorCode.ACK_TIMEOUT);
  await turn();
  t.ok(released(), 'the waiting release went out: running alone');
  t.ok(p.primary.alone);
  await within(raw.ended, 'the stream to end');
});

t.test('handover: drain, release the lease, seal, drain the final offset, HandoverReady; publish refused after', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const src = new DeltaSource();
  const raw = await inSyncSilent(t, p);
  const eight = batch(p, src, 8);
  let released = false;
  let lastDuringRelease = 0;
  const result = p.primary.handover({
    releaseLease: () => {
      released = true;
      lastDuringRelease = p.change(src.next(2)); // the switch's last events, applied with the release
    },
  });
  await raw.waitFor((m) => m.msg === 'deltaBatch' && m.deltaBatch!.lastOffset === eight, 'the batch before the handover');
  await turn();
  t.notOk(released, 'the lease is kept until the backup acked everything published');
  raw.send({ ack: { offset: eight } });
  const final = await raw.waitFor((m) => m.msg === 'deltaBatch' && m.deltaBatch!.lastOffset === lastDuringRelease, 'the deltas of the release');
  t.ok(released);
  t.throws(() => p.primary.publish(src.next(1)), { code: 'SyncPrimaryClosed' }, 'sealed at the final offset');
  t.same(all(raw, 'handoverReady'), [], 'HandoverReady waits for the final ack');
  raw.send({ ack: { offset: final.deltaBatch!.lastOffset } });
  const ready = await raw.waitFor((m) => m.msg === 'handoverReady', 'HandoverReady');
  t.match(ready.handoverReady, { finalOffset: lastDuringRelease, epoch: 1 });
  t.same(await within(result, 'the handover'), { finalOffset: lastDuringRelease, epoch: 1, peer: 'B' });
});

t.test('handover refused: nobody in sync (NoBackupInSync), or the backup never acks (DrainTimeout, lease kept, still serving)', async (t) => {
  const clock = OwnClock.install(t);
  const p = await loopbackPair(t, { addp: { intervalMs: 100, timeoutMs: 5_000 } });
  const src = new DeltaSource();
  let released = 0;
  const releaseLease = () => { released++; };
  await t.rejects(within(p.primary.handover({ releaseLease }), 'the refusal'), { code: 'NoBackupInSync', leaseReleased: false });

  await inSyncSilent(t, p);
  batch(p, src, 3);
  const drain = p.primary.handover({ releaseLease, drainTimeoutMs: 500 });
  const failed = drain.catch((e: unknown) => e);
  clock.advance(499);
  await turn();
  t.equal(settled(drain)(), false);
  clock.advance(1);
  const e = await within(failed, 'the drain timeout');
  t.ok(e instanceof HandoverError);
  t.match(e, { code: 'DrainTimeout', leaseReleased: false });
  t.equal(released, 0, 'the lease was never released');
  t.doesNotThrow(() => p.primary.publish(src.next(1)), 'still serving: publish works');
});

t.test('HandoverRequest from the backup: handoverRequested with its reason', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const raw = await inSyncSilent(t, p);
  const asked = once<{ peer: string; reason: string }>(p.primary as never, 'handoverRequested');
  raw.send({ handoverRequest: { reason: 'operator promoted B' } });
  t.same(await asked, { peer: 'B', reason: 'operator promoted B' });
});

t.test('bad frames: each answered with its Error code; the stream stays unless the Hello is unauthorized', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP }, 'the-secret');
  const raw = rawBackup(t, p.server.port, { secret: 'the-secret' });
  const errors = (): [string, string][] => all(raw, 'error').map((m) => [sy.ErrorCode[m.error!.code], m.error!.message]);

  raw.sendBytes(Buffer.from([0xff, 0xff, 0xff]));
  await raw.waitFor((m) => m.msg === 'error', 'BAD_MESSAGE');
  raw.send({ ack: { offset: 1 } });
  await raw.waitFor((m) => m.msg === 'error' && m.error!.code === sy.ErrorCode.NOT_HELLO, 'NOT_HELLO');
  raw.send({ heartbeat: { sentMs: 1 } }); // life, not junk: unanswered
  raw.send({ hello: { serverName: 'B', secret: 'the-secret' } });
  await raw.waitFor((m) => m.msg === 'inSync', 'in sync after the junk');
  raw.send({ hello: { serverName: 'B', secret: 'the-secret' } });
  raw.send({});
  raw.sendBytes(Buffer.from([0x0a, 0x05, 0x01]));
  await raw.waitFor(() => errors().length === 5, 'five errors');
  t.match(errors(), [
    ['BAD_MESSAGE', /^undecodable sync message \(3 bytes\)/],
    ['NOT_HELLO', /^expected Hello first, got ack$/],
    ['BAD_MESSAGE', /second Hello/],
    ['BAD_MESSAGE', /empty sync message/],
    ['BAD_MESSAGE', /^undecodable sync message \(3 bytes\)/],
  ]);
  t.equal(p.primary.status().state, 'in-sync', 'junk after the Hello does not drop the backup');

  const wrong = rawBackup(t, p.server.port, { secret: 'the-secret' });
  wrong.send({ hello: { serverName: 'W', secret: 'not-the-secret' } });
  const refused = await wrong.waitFor((m) => m.msg === 'error', 'UNAUTHORIZED');
  t.equal(refused.error!.code, sy.ErrorCode.UNAUTHORIZED);
  await within(wrong.ended, 'the stream to end');
  t.same(all(wrong, 'welcome'), [], 'no Welcome');
  t.notOk(p.log.lines.some((l) => JSON.stringify(l).includes('not-the-secret')), 'the offered secret is never logged');
});

t.test('the same backup on a new stream replaces the old one (REPLACED); a closed primary answers SHUTTING_DOWN', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const first = await inSyncSilent(t, p, 'B');
  const second = await inSyncSilent(t, p, 'B');
  const replaced = await first.waitFor((m) => m.msg === 'error', 'REPLACED');
  t.equal(replaced.error!.code, sy.ErrorCode.REPLACED);
  await within(first.ended, 'the stream to end');
  t.match(p.primary.status(), { state: 'in-sync', peer: 'B' });

  p.primary.close('demoted');
  const bye = await second.waitFor((m) => m.msg === 'error', 'SHUTTING_DOWN');
  t.match(bye.error, { code: sy.ErrorCode.SHUTTING_DOWN, message: 'demoted' });
  await within(second.ended, 'the stream to end');
  const late = rawBackup(t, p.server.port);
  const answer = await late.waitFor((m) => m.msg === 'error', 'SHUTTING_DOWN at accept');
  t.match(answer.error, { code: sy.ErrorCode.SHUTTING_DOWN, message: /demoted/ });
  await within(late.ended, 'the stream to end');
  t.throws(() => p.primary.publish(new DeltaSource().next(1)), { code: 'SyncPrimaryClosed' });
});

t.test('closing the sync server lets the last frames written reach the backup (a handover\'s HandoverReady was cut by SIGTERM)', async (t) => {
  const p = await loopbackPair(t, { addp: ADDP });
  const raw = await inSyncSilent(t, p, 'B');
  // Big, so it is still in flight when close() runs: ~4 MB of deltas in one batch, then the close.
  const big = Array.from({ length: 2_000 }, (_, i) => ({ op: 'put' as const, coll: 'calls' as const, key: `c${i}`, value: { pad: 'x'.repeat(2_000) } }));
  const last = p.change(big);
  p.primary.flush();
  await p.server.close();
  const batch = await raw.waitFor((m) => m.msg === 'deltaBatch' && m.deltaBatch!.lastOffset === last, 'the big batch');
  t.equal(batch.deltaBatch!.deltas.length, 2_000, 'the whole batch written before the close arrived');
  const bye = await raw.waitFor((m) => m.msg === 'error', 'SHUTTING_DOWN');
  t.equal(bye.error!.code, sy.ErrorCode.SHUTTING_DOWN, 'then the SHUTTING_DOWN written by the close');
  t.equal((await raw.status).code, 0, 'the call ended with OK, not CANCELLED');
});

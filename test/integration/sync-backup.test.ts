// The sync backup (src/adapters/sync/backup.ts) driven through its own seams: a real gRPC sync stream on
// 127.0.0.1 port 0 to a hand-driven primary (raw-sync-primary.ts: the test writes every frame) or to
// the real SyncPrimary, its timers (ADDP, the suspect give-up, reconnect backoff) on a manual clock
// (own-clock.ts). Its contract: follow (Welcome, snapshot or backlog, batches, acks), report in sync
// only at an InSync offset it applied, suspect the primary on an ADDP timeout and keep the stream,
// reconnect with backoff, and a state machine (common/fsm.ts) that refuses stale callers.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { sy } from '../../src/wire/sync-proto.js';
import type { Delta } from '../../src/core/api.js';
import { SyncBackup, type ReplicationPosition, type SyncBackupOptions } from '../../src/adapters/sync/backup.js';
import { RESYNC_SILENCE_FACTOR } from '../../src/ha/addp.js';
import { OwnClock, within } from '../helpers/own-clock.js';
import { RawPrimary, type RawStream } from '../helpers/raw-sync-primary.js';
import { backupState, captureLog, DeltaSource, FakeReplica, loopbackPair, once, type LogCapture, type LogLine } from '../helpers/sync-fixtures.js';

interface Teardown { teardown(fn: () => unknown): void }

const ADDP = { intervalMs: 100, timeoutMs: 400 };
/** AddpMonitor checks 8 times per timeout, at most once per interval: 50 ms here. */
const CHECK = 50;
/** backup.ts: a suspect primary's stream is given up after this many ADDP timeouts of silence. */
const GIVE_UP_FACTOR = 4;
const RECONNECT = { initialMs: 100, maxMs: 400 };

type Lost = { reason: string; detail: string; inSync: boolean; position: ReplicationPosition; primary?: { serverName: string; epoch: number; replicationId: string } };

interface Rig {
  clock: OwnClock;
  log: LogCapture;
  prim: RawPrimary;
  replica: FakeReplica;
  b: SyncBackup;
  /** 'from->to' of every state event, in order. */
  states: string[];
  lost: Lost[];
  resets: () => number;
}

/** A backup following a hand-driven primary, started unless `start` is false. */
async function rig(t: Teardown, extra: Partial<SyncBackupOptions> = {}, start = true): Promise<Rig> {
  const clock = OwnClock.install(t);
  const log = captureLog();
  const prim = await RawPrimary.listen(t);
  const replica = new FakeReplica();
  let resets = 0;
  const b = new SyncBackup({
    serverName: 'B', primaryAddress: prim.address, log: log.logger,
    reset: () => { resets++; replica.reset(); }, apply: (d) => replica.apply(d),
    addp: ADDP, reconnect: RECONNECT, ...extra,
  });
  const states: string[] = [];
  const lost: Lost[] = [];
  b.on('state', (s) => states.push(`${s.from}->${s.to}`));
  b.on('lost', (l) => lost.push(l));
  t.teardown(() => b.stop('test over'));
  if (start) b.start();
  return { clock, log, prim, replica, b, states, lost, resets: () => resets };
}

/** Answers stream `n`'s Hello with a partial Welcome at the backup's offset and InSync: in sync. */
async function toInSync(r: Rig, n: number, replicationId = 'r1'): Promise<RawStream> {
  const s = await r.prim.stream(n);
  const h = await s.hello();
  s.welcome({ replicationId, mode: sy.ResyncMode.PARTIAL, fromOffset: h.offset, primaryOffset: h.offset });
  s.inSync(h.offset);
  await backupState(r.b, 'in-sync');
  return s;
}

const isRetry = (l: LogLine) => typeof l.retryMs === 'number';

/** The `n`-th 'retrying' line (1-based): its retryMs is the backoff delay chosen. */
function retry(r: Rig, n: number): Promise<LogLine> {
  return r.log.waitFor(() => r.log.lines.filter(isRetry).length >= n, `retry ${n}`).then(() => r.log.lines.filter(isRetry)[n - 1]!);
}

/** Resolves once the backup reported the primary lost `n` times (the 'lost' event). */
async function lostCount(r: Rig, n: number): Promise<Lost> {
  while (r.lost.length < n) await once(r.b as never, 'lost');
  return r.lost[n - 1]!;
}

/** The backup's own one-shot timers (retry, give-up), as due now. */
function ownTimers(r: Rig): number[] {
  return r.clock.pending('sync/backup.ts').map((p) => p.inMs);
}

function deltas(n: number): Delta[] { return new DeltaSource().next(n); }

t.test('follows a real primary: full resync, live batches acked, stopped and started again: partial from where it stood', async (t) => {
  OwnClock.install(t);
  const p = await loopbackPair(t, { addp: ADDP });
  const src = new DeltaSource();
  p.change(src.next(30));
  let resets = 0;
  const b = p.makeBackup({ addp: ADDP, reset: () => { resets++; p.backupReplica.reset(); } });
  const states: string[] = [];
  let atInSync: ReplicationPosition | undefined;
  b.on('state', (s) => { states.push(`${s.from}->${s.to}`); if (s.to === 'in-sync') atInSync ??= b.position; });
  const welcome = once<{ mode: string; primary: { serverName: string; epoch: number; replicationId: string }; fromOffset: number; snapshotDeltas: number; primaryOffset: number }>(b as never, 'welcome');
  t.equal(b.state, 'stopped');
  b.start();
  t.match(await welcome, { mode: 'full', primary: { serverName: 'A', epoch: 1, replicationId: p.primary.replicationId }, fromOffset: 30, primaryOffset: 30 });
  await backupState(b, 'in-sync');
  t.same(states, ['stopped->connecting', 'connecting->resyncing', 'resyncing->in-sync']);
  t.same(atInSync, { replicationId: p.primary.replicationId, offset: 30 }, 'in sync only with the InSync offset applied');
  t.equal(resets, 1, 'the state was emptied once, before the snapshot');
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump());
  t.same(b.primary, { serverName: 'A', epoch: 1, replicationId: p.primary.replicationId });

  for (let i = 0; i < 5; i++) await within(p.primary.whenAcked(p.change(src.next(7))), 'the backup\'s ack'); // acked: applied
  t.same(b.position, { replicationId: p.primary.replicationId, offset: 65 });
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump(), 'batches applied in order');

  b.stop('maintenance');
  t.equal(b.state, 'stopped');
  p.change(src.next(5));
  const again = once<{ mode: string; fromOffset: number }>(b as never, 'welcome');
  b.start();
  t.match(await again, { mode: 'partial', fromOffset: 65 });
  await backupState(b, 'in-sync');
  await within(p.primary.whenAcked(p.primary.offset), 'the backup\'s ack');
  t.equal(resets, 1, 'a partial resync keeps the state');
  t.equal(p.backupReplica.dump(), p.primaryReplica.dump());
  t.same(states.slice(3), ['in-sync->stopped', 'stopped->connecting', 'connecting->resyncing', 'resyncing->in-sync']);
});

t.test('in sync is reported only once InSync names an offset it applied; a premature InSync restarts with a full resync', async (t) => {
  const r = await rig(t);
  const s1 = await r.prim.stream(1);
  t.match(await s1.hello(), { serverName: 'B', replicationId: '', offset: 0, truncatableTo: 0 });
  const snap = deltas(4);
  s1.welcome({ replicationId: 'r1', mode: sy.ResyncMode.FULL, fromOffset: 9, snapshotDeltas: 4, primaryOffset: 9 });
  s1.chunk(snap.slice(0, 2), false);
  s1.inSync(9); // before the last chunk
  const err = await r.log.waitFor((l) => l.level === 50 && typeof l.err === 'string', 'could not apply');
  t.match(err.err, /InSync at 9 but only 0 applied/);
  t.notOk(r.states.includes('resyncing->in-sync'), 'never reported in sync');
  t.equal((await retry(r, 1)).retryMs, 0, 'a protocol error retries at once');
  t.same(r.b.position, { replicationId: '', offset: 0 }, 'the state is doubtful: full resync next');
  t.ok(await s1.ended(), 'the stream is dropped');

  r.clock.advance(1);
  const s2 = await r.prim.stream(2);
  t.match(await s2.hello(), { replicationId: '', offset: 0 });
  s2.welcome({ replicationId: 'r1', mode: sy.ResyncMode.FULL, fromOffset: 9, snapshotDeltas: 4, primaryOffset: 11 });
  s2.chunk(snap.slice(0, 2), false);
  s2.chunk(snap.slice(2), true);
  const last = s2.batch(10, deltas(2));
  s2.inSync(last);
  await backupState(r.b, 'in-sync');
  t.same(r.b.position, { replicationId: 'r1', offset: 11 });
  t.equal((await s2.waitFor((m) => m.msg === 'ack' && m.ack!.offset === 11, 'ack 11')).ack!.offset, 11, 'acked what it applied');
  t.equal(r.resets(), 2, 'reset before each snapshot');
});

t.test('a snapshot cut short (the primary gone mid-resync): the old position is not trusted any more, the next Hello asks for a full one', async (t) => {
  const r = await rig(t, { position: { replicationId: 'r0', offset: 5 } });
  const s1 = await r.prim.stream(1);
  t.match(await s1.hello(), { replicationId: 'r0', offset: 5 });
  s1.welcome({ replicationId: 'r1', mode: sy.ResyncMode.FULL, fromOffset: 9, snapshotDeltas: 4, primaryOffset: 9 });
  s1.chunk(deltas(2), false);
  await backupState(r.b, 'resyncing');
  t.equal(r.resets(), 1, 'the state was emptied for the snapshot');
  s1.end();
  t.match(await lostCount(r, 1), { reason: 'closed', inSync: false, position: { replicationId: '', offset: 0 } });
  r.clock.advance(RECONNECT.initialMs);
  t.match(await (await r.prim.stream(2)).hello(), { replicationId: '', offset: 0 });
});

t.test('bad input restarts the stream: undecodable (position kept), a batch that does not follow or cannot be applied (full resync next)', async (t) => {
  let failApply = false;
  const r = await rig(t, { apply: (d) => { if (failApply) throw new Error('apply failed'); r.replica.apply(d); } });
  const s1 = await toInSync(r, 1);
  s1.batch(1, deltas(2));
  await s1.waitFor((m) => m.msg === 'ack' && m.ack!.offset === 2, 'ack 2');
  s1.sendBytes(Buffer.from([0xff, 0xff, 0xff]));
  t.match(await r.log.waitFor((l) => l.level === 50 && l.bytes === 3, 'undecodable'), { err: /./ });
  t.ok(await s1.ended());
  r.clock.advance(1);
  const s2 = await r.prim.stream(2);
  t.match(await s2.hello(), { replicationId: 'r1', offset: 2 }, 'nothing was applied from it: continues from where it stood');

  s2.welcome({ replicationId: 'r1', mode: sy.ResyncMode.PARTIAL, fromOffset: 2, primaryOffset: 2 });
  const before = r.replica.dump();
  s2.batch(5, deltas(2)); // 3..4 missing
  await r.log.waitFor((l) => typeof l.err === 'string' && /batch 5\.\.6 \(2 deltas\) does not follow offset 2/.test(l.err), 'does not follow');
  t.equal(r.replica.dump(), before, 'not applied');
  r.clock.advance(1);
  const s3 = await r.prim.stream(3);
  t.match(await s3.hello(), { replicationId: '', offset: 0 }, 'full resync next');

  s3.welcome({ replicationId: 'r1', mode: sy.ResyncMode.FULL, fromOffset: 2, snapshotDeltas: 2, primaryOffset: 2 });
  failApply = true;
  s3.chunk(deltas(2), true);
  await r.log.waitFor((l) => l.err === 'apply failed', 'apply failed');
  t.equal(r.states.filter((x) => x === 'resyncing->in-sync').length, 1, 'in sync on the first stream only');
  r.clock.advance(1);
  t.match(await (await r.prim.stream(4)).hello(), { replicationId: '', offset: 0 }, 'after a failed apply: full resync');
});

t.test('ADDP timeout: the primary is suspect, the stream is kept, and it is in sync again when heard; given up after 4 timeouts', async (t) => {
  const r = await rig(t);
  const s1 = await toInSync(r, 1);
  r.clock.advance(ADDP.timeoutMs - CHECK);
  t.equal(r.b.state, 'in-sync', `silent ${ADDP.timeoutMs - CHECK} ms: in sync`);
  r.clock.advance(CHECK);
  t.equal(r.b.state, 'suspect', `silent ${ADDP.timeoutMs} ms: suspect`);
  t.match(r.lost, [{ reason: 'addp-timeout', inSync: true, position: { replicationId: 'r1', offset: 0 }, primary: { serverName: 'P', epoch: 1, replicationId: 'r1' } }]);
  t.match(r.log.lines.find((l) => l.reason === 'addp-timeout' && l.streamKept !== undefined), { streamKept: true, inSync: true });

  const beats = s1.all('heartbeat').length;
  r.clock.advance(ADDP.intervalMs);
  await s1.waitFor(() => s1.all('heartbeat').length > beats, 'a heartbeat on the kept stream');
  t.same(ownTimers(r), [GIVE_UP_FACTOR * ADDP.timeoutMs - ADDP.intervalMs], 'the give-up timer runs');

  s1.heartbeat();
  await backupState(r.b, 'in-sync');
  t.same(ownTimers(r), [], 'heard again: the give-up timer is off');
  t.equal(r.lost.length, 1);

  r.clock.advance(ADDP.timeoutMs);
  t.equal(r.b.state, 'suspect', 'silent again');
  t.equal(r.lost.length, 2);
  r.clock.advance(GIVE_UP_FACTOR * ADDP.timeoutMs - CHECK);
  t.equal(r.b.state, 'suspect');
  t.equal(s1.endedBy, undefined);
  r.clock.advance(CHECK);
  t.ok(await s1.ended(), `given up after ${GIVE_UP_FACTOR} more timeouts`);
  t.match(await retry(r, 1), { reason: 'closed', retryMs: RECONNECT.initialMs, detail: /primary silent for \d+ ms: reconnecting/ });
  t.equal(r.lost.length, 2, 'no second report: the owner already knows');
  r.clock.advance(RECONNECT.initialMs);
  const s2 = await r.prim.stream(2);
  t.match(await s2.hello(), { replicationId: 'r1', offset: 0 });
  t.same(r.states, ['stopped->connecting', 'connecting->resyncing', 'resyncing->in-sync', 'in-sync->suspect', 'suspect->in-sync', 'in-sync->suspect', 'suspect->connecting']);
});

t.test('a primary silent before its Welcome gets the resync grace (RESYNC_SILENCE_FACTOR timeouts: it may be building a snapshot), then the stream is dropped and retried', async (t) => {
  const r = await rig(t);
  const s1 = await r.prim.stream(1);
  await s1.hello();
  r.clock.advance(ADDP.timeoutMs + CHECK);
  t.equal(s1.endedBy, undefined, 'one timeout of silence: still waiting for the Welcome');
  r.clock.advance(RESYNC_SILENCE_FACTOR * ADDP.timeoutMs - ADDP.timeoutMs - 2 * CHECK);
  t.equal(s1.endedBy, undefined);
  r.clock.advance(CHECK);
  t.ok(await s1.ended());
  t.match(await retry(r, 1), { reason: 'addp-timeout', retryMs: RECONNECT.initialMs });
  t.same(r.lost, [], 'nothing was followed: nothing lost');
  t.equal(r.b.state, 'connecting');
});

t.test('reconnect backoff: 100, 200, 400, 400 ms; a protocol error retries at once but counts; a Welcome starts over (the first retry after a lost primary: 100 ms)', async (t) => {
  const r = await rig(t);
  const refused = once<{ code: string; message: string }>(r.b as never, 'refused');
  let n = 0;
  /** Stream `n` is refused after its Hello; the backup then waits `ms` (exactly) before the next. */
  const refuseAndExpect = async (ms: number) => {
    const s = await r.prim.stream(++n);
    await s.hello();
    s.send({ error: { code: sy.ErrorCode.NOT_PRIMARY, message: 'not primary now' } });
    s.end();
    t.match(await retry(r, n), { reason: 'closed', retryMs: ms }, `after stream ${n}: ${ms} ms`);
    t.same(ownTimers(r), [ms]);
    r.clock.advance(ms - 1);
    t.same(ownTimers(r), [1], 'not yet');
    r.clock.advance(1);
    t.same(ownTimers(r), [], 'reconnecting');
  };
  await refuseAndExpect(100);
  t.same(await refused, { code: 'NOT_PRIMARY', message: 'not primary now' });
  await refuseAndExpect(200);
  await refuseAndExpect(400);
  await refuseAndExpect(400);
  t.equal(r.b.state, 'connecting', 'failed attempts before any Welcome stay in connecting');

  const s5 = await r.prim.stream(++n);
  const h = await s5.hello();
  s5.welcome({ replicationId: 'r1', mode: sy.ResyncMode.PARTIAL, fromOffset: h.offset, primaryOffset: h.offset }); // the backoff starts over
  await backupState(r.b, 'resyncing');
  s5.sendBytes(Buffer.from([0xff, 0xff, 0xff]));
  t.match(await retry(r, n), { reason: 'protocol', retryMs: 0 });
  r.clock.advance(1);
  await refuseAndExpect(200); // the protocol error counted the first step (100)

  await toInSync(r, ++n);
  (await r.prim.stream(n)).end();
  t.match(await lostCount(r, 1), { reason: 'closed', inSync: true });
  t.same(ownTimers(r), [RECONNECT.initialMs], 'a lost primary starts the backoff over');
});

t.test('the state machine refuses stale callers: a second InSync, HandoverReady outside in-sync; a real HandoverReady ends following', async (t) => {
  const r = await rig(t);
  const refusal = (to: string, state: string) => r.log.lines.find((l) => l.machine === 'sync backup' && l.to === to && l.state === state && Array.isArray(l.expected));

  const s1 = await r.prim.stream(1);
  await s1.hello();
  s1.welcome({ replicationId: 'r1', mode: sy.ResyncMode.PARTIAL, fromOffset: 0, primaryOffset: 0 });
  await backupState(r.b, 'resyncing');
  s1.send({ handoverReady: { finalOffset: 0, epoch: 1 } });
  await r.log.waitFor(() => refusal('handover', 'resyncing') !== undefined, 'handover refused');
  t.match(refusal('handover', 'resyncing'), { level: 20 });
  t.same(refusal('handover', 'resyncing')!.expected, ['in-sync'], 'refused as a stale caller: it acted on in-sync');
  t.notOk(r.states.includes('resyncing->handover'));
  t.ok(await s1.ended(), 'a protocol error: the stream restarts');
  r.clock.advance(1);

  const s2 = await toInSync(r, 2);
  const before = r.states.length;
  s2.inSync(0);
  s2.batch(1, deltas(1));
  await s2.waitFor((m) => m.msg === 'ack' && m.ack!.offset === 1, 'the ack of the batch after it: the InSync was read');
  t.same(refusal('in-sync', 'in-sync')?.expected, ['resyncing'], 'the second InSync refused by the guard');
  t.equal(r.states.length, before, 'no state event');
  t.equal(r.b.state, 'in-sync');

  const ready = once<{ finalOffset: number; epoch: number; position: ReplicationPosition }>(r.b as never, 'handoverReady');
  t.ok(r.b.requestHandover('operator'), 'in sync: the request goes out');
  t.equal((await s2.waitFor((m) => m.msg === 'handoverRequest', 'HandoverRequest')).handoverRequest!.reason, 'operator');
  s2.send({ handoverReady: { finalOffset: 1, epoch: 7 } });
  t.same(await ready, { finalOffset: 1, epoch: 7, position: { replicationId: 'r1', offset: 1 } });
  t.equal(r.b.state, 'handover');
  t.ok(await s2.ended(), 'the stream to the old primary is dropped');
  t.same(ownTimers(r), [], 'and not reconnected: the owner claims the switch');
  t.notOk(r.b.requestHandover('again'), 'not in sync any more: nothing sent');
  r.b.start();
  t.match(await (await r.prim.stream(3)).hello(), { replicationId: 'r1', offset: 1 }, 'start() after a handover follows again');
});

t.test('stop() cancels a pending reconnect and closes the stream', async (t) => {
  const r = await rig(t);
  const s1 = await toInSync(r, 1);
  s1.end();
  t.match(await lostCount(r, 1), { reason: 'closed', inSync: true, position: { replicationId: 'r1', offset: 0 } });
  t.equal(r.b.state, 'lost');
  t.same(ownTimers(r), [RECONNECT.initialMs]);
  r.b.stop('promoted');
  t.equal(r.b.state, 'stopped');
  t.same(ownTimers(r), [], 'no reconnect');
  t.same(r.clock.pending(), [], 'no timer of its own left (ADDP included)');
  r.clock.advance(10 * RECONNECT.maxMs);
  t.equal(r.prim.streams.length, 1);
});

t.test('a broken stream is reported lost before its gRPC channel is closed (a turn later: the owner claims first)', async (t) => {
  const r = await rig(t);
  const s1 = await toInSync(r, 1);
  const order: string[] = [];
  const close = grpc.Client.prototype.close;
  grpc.Client.prototype.close = function (this: grpc.Client) { order.push('close'); close.call(this); };
  t.teardown(() => { grpc.Client.prototype.close = close; });
  r.b.on('lost', () => order.push('lost'));
  s1.end();
  await lostCount(r, 1);
  await new Promise((res) => setImmediate(res));
  t.same(order, ['lost', 'close'], 'lost first, the channel closed after');
});

t.test('a rejoining primary ahead of the new one rolls back to the divergence point; a refused rollback means a full resync', async (t) => {
  let canRollBack = true;
  const rollbacks: number[] = [];
  const r = await rig(t, {
    position: { replicationId: 'r-old', offset: 12 },
    undo: { truncatableTo: () => 8, rollback: (to) => { rollbacks.push(to); return canRollBack; } },
  }, false);
  r.b.start();
  const s1 = await r.prim.stream(1);
  t.match(await s1.hello(), { replicationId: 'r-old', offset: 12, truncatableTo: 8 });
  s1.welcome({ replicationId: 'r-new', mode: sy.ResyncMode.PARTIAL, fromOffset: 10, primaryOffset: 11 });
  s1.batch(11, deltas(1));
  s1.inSync(11);
  await backupState(r.b, 'in-sync');
  t.same(rollbacks, [10]);
  t.equal(r.b.truncations, 1);
  t.same(r.b.position, { replicationId: 'r-new', offset: 11 });

  canRollBack = false;
  s1.end();
  await lostCount(r, 1);
  r.clock.advance(RECONNECT.initialMs);
  const s2 = await r.prim.stream(2);
  t.match(await s2.hello(), { replicationId: 'r-new', offset: 11, truncatableTo: 8 });
  s2.welcome({ replicationId: 'r-newer', mode: sy.ResyncMode.PARTIAL, fromOffset: 9, primaryOffset: 9 });
  await r.log.waitFor((l) => typeof l.err === 'string' && /cannot roll back from 11 to the divergence point 9/.test(l.err), 'rollback refused');
  t.same(rollbacks, [10, 9]);
  r.clock.advance(1);
  t.match(await (await r.prim.stream(3)).hello(), { replicationId: '', offset: 0, truncatableTo: 0 }, 'full resync next');
});

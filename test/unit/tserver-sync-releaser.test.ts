// The ack releaser's gate: what a primary may hand to desktops, and when. Ack mode must never
// release what the backup that may take over has not acked.
import t from 'tap';
import pino from 'pino';
import type { Delta } from '../../src/core/api.js';
import type { SyncPrimary } from '../../src/adapters/sync/primary.js';
import type { OutboundBatch } from '../../src/pipeline/outbound.js';
import { mayRelease, SyncReleaser } from '../../src/pipeline/sync-releaser.js';

const log = pino({ level: 'silent' });

t.test('mayRelease: lease held, or handing over to a backup still in sync', async (t) => {
  // [leaseValid, handingOver, alone] -> may deliver
  const table: [boolean, boolean, boolean, boolean][] = [
    [true, false, false, true], // serving, backup in sync: acked batches go
    [true, false, true, true], // serving alone: no backup can be promoted while we hold the lease
    [false, false, false, false], // lease lapsed (SIGCONT after SIGSTOP): nothing
    [false, false, true, false], // ... even though the library released everything "alone"
    [false, true, false, true], // lease released during a handover: the backup acked these
    [false, true, true, false], // backup lost mid-handover: "acked" only means released alone
  ];
  for (const [lease, handing, alone, want] of table) t.equal(mayRelease(lease, handing, alone), want, `lease ${lease}, handing over ${handing}, alone ${alone}`);
});

t.test('a backup lost mid-handover: batches released "alone" reach no desktop; abandon drops them', async (t) => {
  let alone = false;
  let handingOver = true;
  const waiters: (() => void)[] = [];
  const primary = {
    mode: 'ack', offset: 0,
    publish: (ds: Delta[]) => ds.length,
    flush: () => {},
    whenAcked: () => (alone ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    status: () => ({ alone, state: alone ? 'closed' : 'in-sync' }),
  } as unknown as SyncPrimary;
  const delivered: number[] = [];
  const r = new SyncReleaser(primary, (b: OutboundBatch) => { delivered.push(b.id); }, () => mayRelease(false, handingOver, alone), log);
  const entry = { seq: 1, dn: '5000', event: { event: 'EventReleased', seq: 1 } } as never;
  r.submit({ id: 1, deltas: [{ op: 'journal', entry } as Delta], items: [{ kind: 'event', entry }] });
  // The backup's stream closes: the library releases every waiter at once.
  alone = true;
  for (const w of waiters.splice(0)) w();
  await new Promise((res) => setImmediate(res));
  t.same(delivered, [], 'not delivered: the backup never acked it');
  handingOver = false;
  t.equal(r.abandon('handover failed: backup lost'), 1, 'the event is dropped');
  t.same(delivered, []);
});

t.test('lease uncertain: a batch that reveals no state goes out, but never ahead of one that does', async (t) => {
  const waiters: (() => void)[] = [];
  const primary = {
    mode: 'ack', offset: 0,
    publish: (ds: Delta[]) => ds.length,
    flush: () => {},
    whenAcked: () => new Promise<void>((r) => waiters.push(r)),
    status: () => ({ alone: false, state: 'in-sync' }),
  } as unknown as SyncPrimary;
  const delivered: number[] = [];
  let leaseValid = false;
  const r = new SyncReleaser(primary, (b: OutboundBatch) => { delivered.push(b.id); }, () => mayRelease(leaseValid, false, false), log);
  const notPrimary = (id: number): OutboundBatch => ({ id, deltas: [], items: [{ kind: 'session', event: { event: 'EventError', errorCode: 'NotPrimary', referenceId: id } } as never] });
  r.submit(notPrimary(1));
  for (const w of waiters.splice(0)) w();
  await new Promise((res) => setImmediate(res));
  t.same(delivered, [1], 'a NotPrimary answer is not held behind the uncertain lease');
  const entry = { seq: 1, dn: '5000', event: { event: 'EventReleased', seq: 1 } } as never;
  r.submit({ id: 2, deltas: [{ op: 'journal', entry } as Delta], items: [{ kind: 'event', entry }] });
  r.submit(notPrimary(3));
  for (const w of waiters.splice(0)) w();
  await new Promise((res) => setImmediate(res));
  t.same(delivered, [1], 'the state batch waits for the lease, and the answer after it waits behind it (order)');
  leaseValid = true;
  r.pump();
  t.same(delivered, [1, 2, 3]);
});

t.test('a sealed batch goes to the sync stream in the same turn, not a loop iteration later', async (t) => {
  const calls: string[] = [];
  const primary = {
    mode: 'ack', offset: 0,
    publish: (ds: Delta[]) => { calls.push(`publish ${ds.length}`); return ds.length; },
    flush: () => { calls.push('flush'); },
    whenAcked: () => new Promise<void>(() => {}),
    status: () => ({ alone: false, state: 'in-sync' }),
  } as unknown as SyncPrimary;
  const r = new SyncReleaser(primary, () => {}, () => true, log);
  const entry = { seq: 1, dn: '5000', event: { event: 'EventReleased', seq: 1 } } as never;
  r.submit({ id: 1, deltas: [{ op: 'journal', entry } as Delta], items: [{ kind: 'event', entry }] });
  t.same(calls, ['publish 1', 'flush'], 'published and written before submit returns');
  r.submit({ id: 2, deltas: [], items: [] });
  t.same(calls, ['publish 1', 'flush'], 'a batch without deltas writes nothing');
});

// The sync link alone is cut (a TCP proxy between the servers) while both still see the switch: the
// backup's claims are refused (the primary renews its lease), so there is no promotion; the primary
// runs alone and says so in its log and /healthz. The link back: the backup resyncs and is in sync.
import t from 'tap';
import { after, healthUntil, inSync, mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

t.test('sync link cut: no promotion, the primary runs alone; healed: the backup resyncs', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  const onA = await openClient(t, a.url, 'desk');
  await onA.request('RequestRegisterAddress', { thisDN: '5031' });
  await inSync(a, b);

  const fromA = mark(a);
  const fromB = mark(b);
  a.proxy.cut();
  await after(a, fromA, (l) => l.msg === 'running alone: no backup in sync, nothing waits for acks', 5_000, 'running alone');
  await healthUntil(a, (h) => h.syncState === 'alone' && h.haState === 'primary' && h.serving === true, 5_000, 'syncState alone');
  t.pass('the primary runs alone and says so (log, /healthz)');
  await after(b, fromB, (l) => l.msg === 'primary lost', 5_000, 'primary lost');
  // The backup tries to promote, the switch refuses (LeaseHeld) until the backup gives up.
  await after(b, fromB, (l) => l.msg === 'role changed' && l.from === 'promoting' && l.to === 'backup-syncing' && String(l.reason).includes('LeaseHeld'), 5_000, 'claim refused LeaseHeld');
  await after(b, fromB, (l) => String(l.msg).startsWith('the primary still holds the switch lease'), 5_000, 'claims stopped');
  t.notOk(b.proc.lines.slice(fromB).some((l) => l.msg === 'role changed' && l.to === 'primary'), 'the backup never became primary');
  t.match(await b.health(), { role: 'backup', serving: false });

  // The primary keeps serving alone meanwhile.
  const d = await onA.request('RequestMakeCall', { thisDN: '5031', otherDN: '5032' });
  t.equal(d.event, 'EventDialing', 'requests are served while alone');

  a.proxy.heal();
  const done = await after(b, fromB, (l) => l.msg === 'resync done: in sync', 10_000, 'resync done');
  // Partial, never full: the backup kept its replication id and offset through the refused claim (a
  // failed promotion does not reset it), and the few batches the primary published alone (the call
  // above) are still in its backlog (decideResync). So the backlog replays exactly those deltas.
  t.match(done, { kind: 'partial' }, `a partial resync (${String(done.kind)}, ${String(done.deltas)} deltas, ${String(done.bytes)} bytes)`);
  t.ok(Number(done.deltas) > 0, `the deltas published while alone were replayed (${String(done.deltas)})`);
  await inSync(a, b);
  t.equal(await b.state(), await a.state(), 'in sync again with the same state');
  await after(a, fromA, (l) => l.msg === 'backup in sync: releases wait for its acks', 5_000, 'backup in sync (primary log)');
});

t.test('sync cut, then the primary killed: restarted, it starts fresh at once because the stale backup says it will not claim', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  await inSync(a, b);
  const fromB = mark(b);
  a.proxy.cut();
  await after(b, fromB, (l) => String(l.msg).startsWith('the primary still holds the switch lease'), 10_000, 'the backup gave up: untrusted');
  a.proc.kill('SIGKILL');
  await a.proc.exited;
  a.proxy.heal();

  const restarted = await pair.start('A');
  const waiting = await roleChanged(restarted, 'backup-syncing');
  t.match(String(waiting.reason), /waiting 3000 ms for the peer before a fresh start/);
  const fresh = await roleChanged(restarted, 'promoting');
  t.match(String(fresh.reason), /will not claim/, 'the wait ended on the peer\'s answer, not on the timer');
  const waitedMs = Date.parse(String(fresh.time)) - Date.parse(String(waiting.time));
  t.ok(waitedMs < 2_000, `fresh start ${waitedMs} ms after the wait began (the timer would take 3,000)`);
  await roleChanged(restarted, 'primary');
  await inSync(restarted, b);
  t.match(await b.health(), { role: 'backup', syncState: 'in-sync' }, 'the stale backup follows the fresh primary');
});

// A demoted primary that went further than the new primary inherited rolls its state back to the
// divergence point and rejoins with a partial resync (PSYNC-style truncation), not a full snapshot.
// The divergence is made certain: the sync link is cut (the primary runs alone and publishes batches
// the backup never gets), then the primary hangs (SIGSTOP) within the backup's claim window, so the
// backup takes over with the older state. After SIGCONT the old primary truncates what the new one
// never had and ends with exactly its state.
import t from 'tap';
import { after, inSync, mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

t.test('old primary rejoins by truncating to the divergence point, then partial resync; states equal', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  const desk = await openClient(t, a.url, 'desk');
  await desk.request('RequestAgentLogin', { thisDN: '5011', agentId: 'ann', thisQueue: '7000' });
  await inSync(a, b);

  const fromA = mark(a);
  const fromB = mark(b);
  a.proxy.cut(); // B's stream to A: A goes on alone
  await after(a, fromA, (l) => String(l.msg).startsWith('running alone'), 5_000, 'running alone');
  for (let i = 0; i < 6; i++) await desk.request(i % 2 === 0 ? 'RequestAgentReady' : 'RequestAgentNotReady', { thisDN: '5011' });
  a.proc.kill('SIGSTOP');
  await roleChanged(b, 'primary', fromB, 5_000);
  a.proxy.heal();
  const resumed = mark(a);
  a.proc.kill('SIGCONT');
  const truncated = await after(a, resumed, (l) => l.msg === 'truncated to the divergence point: partial resync', 10_000, 'truncation');
  t.ok(Number(truncated.truncated) > 0, `rolled back ${String(truncated.truncated)} deltas (${String(truncated.from)} -> ${String(truncated.to)})`);
  const done = await after(a, resumed, (l) => l.msg === 'resync done: in sync', 10_000, 'in sync');
  t.equal(done.kind, 'partial', 'no full snapshot');
  await inSync(b, a);
  t.equal(await a.state(), await b.state(), 'the truncated old primary equals the new primary');
});

// A primary whose lease renewals are late (here: the switch is stopped longer than the lease) stops
// serving at once (fencing) but is not deposed: requests that reach it meanwhile wait and are run
// when the renewal comes, instead of being refused NotPrimary by a server that kept its lease
// (soak under a loaded machine: 62 NotPrimary answers, 62 calls never released by raw desktops).
// A renewal that never comes within tserver.maxLeaseHoldMs: NotPrimary, so the SDK goes elsewhere.
import t from 'tap';
import { after, healthUntil, inSync, mark, startPair, type Member } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function heldUntil(m: Member, n: number): Promise<void> {
  for (;;) {
    const line = (await m.metrics()).split('\n').find((l) => l.startsWith('tandem_requests_lease_held '));
    if (Number(line?.split(' ')[1]) >= n) return;
    await delay(10);
  }
}

t.test('held while the lease is uncertain, run when it is renewed: no NotPrimary, no failover', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  await inSync(a, b);
  const desk = await openClient(t, a.url, 'desk');
  const fromA = mark(a);
  pair.sw.proc.kill('SIGSTOP');
  t.teardown(() => { try { pair.sw.proc.kill('SIGCONT'); } catch { /* gone */ } });
  await healthUntil(a, (h) => h.serving === false, 5_000, 'A fenced (renewals not acknowledged)');
  const answer = desk.request('RequestAgentLogin', { thisDN: '5011', agentId: 'ann', thisQueue: '7000' });
  await heldUntil(a, 1);
  pair.sw.proc.kill('SIGCONT');
  const r = await answer;
  t.equal(r.event, 'EventAgentLogin', 'answered as primary once the lease was renewed');
  const ran = await after(a, fromA, (l) => l.msg === 'lease renewed: held requests run now');
  t.equal(ran.requests, 1);
  const roles = [...a.proc.lines.slice(fromA), ...b.proc.lines].filter((l) => l.msg === 'role changed' && l.to === 'primary' && l.server === 'B');
  t.same(roles, [], 'B never became primary');
});

t.test('a renewal that does not come within maxLeaseHoldMs: NotPrimary', async (t) => {
  const pair = await startPair(t, { config: { tserver: { maxLeaseHoldMs: 200 } } });
  const { a, b } = pair;
  await inSync(a, b);
  const desk = await openClient(t, a.url, 'desk');
  pair.sw.proc.kill('SIGSTOP');
  t.teardown(() => { try { pair.sw.proc.kill('SIGCONT'); } catch { /* gone */ } });
  await healthUntil(a, (h) => h.serving === false, 5_000, 'A fenced');
  const r = await desk.request('RequestAgentLogin', { thisDN: '5012', agentId: 'bob', thisQueue: '7000' });
  t.equal(r.event, 'EventError');
  t.equal(r.errorCode, 'NotPrimary');
  t.match(String(r.errorMessage), /not renewed within 200 ms \(tserver\.maxLeaseHoldMs\)/);
  pair.sw.proc.kill('SIGCONT');
  await healthUntil(a, (h) => h.serving === true, 5_000, 'A serving again');
});

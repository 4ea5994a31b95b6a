// The switch itself stalls (SIGSTOP 700 ms, longer than the 400 ms lease): the primary stops serving
// while it cannot renew (fencing), but keeps its link; the switch, resumed, does not count its own
// stall against the lease and takes the queued renewals, so the primary serves again and the backup's
// claims (if any) are refused. No failover. (chaos: the primary dropped its link after 400 ms of
// silence, the closed link freed the lease, and the backup took over.)
import t from 'tap';
import { healthUntil, inSync, mark, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a stalled switch causes no failover; the primary serves again when it resumes', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  await inSync(a, b);
  const fromA = mark(a);
  const fromB = mark(b);
  pair.sw.proc.kill('SIGSTOP');
  await delay(700);
  pair.sw.proc.kill('SIGCONT');
  await healthUntil(a, (h) => h.serving === true && h.switchLink === 'up', 5_000, 'A serving again');
  await inSync(a, b);
  const desk = await openClient(t, a.url, 'desk');
  const r = await desk.request('RequestAgentLogin', { thisDN: '5011', agentId: 'ann', thisQueue: '7000' });
  t.equal(r.event, 'EventAgentLogin', 'A answers as primary');
  const roles = [...a.proc.lines.slice(fromA), ...b.proc.lines.slice(fromB)].filter((l) => l.msg === 'role changed');
  t.same(roles.map((l) => `${String(l.server)}:${String(l.from)}->${String(l.to)}`).filter((x) => x.endsWith('->primary') || x.includes('primary->')), [], 'nobody became or stopped being primary');
  t.notOk(a.proc.lines.slice(fromA).some((l) => l.msg === 'switch link up -> down'), 'A kept its switch link');
});

// SIGSTOP of the primary (a hang): the switch tells the backup once the frozen primary's lease lapsed
// (or the backup's ADDP notices the silence first, and its claims are refused until then). SIGCONT: the old primary answers
// nothing from before (its lease check fails first: NotPrimary), learns it was deposed, demotes and
// rejoins as backup. The switch's record of accepted commands shows never two servers commanding.
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { inSync, mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

t.test('SIGSTOP: promotion after the lease lapses; SIGCONT: the old primary demotes and rejoins', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  const onA = await openClient(t, a.url, 'desk');
  for (const dn of ['5031', '5032', '5041', '5042']) await onA.request('RequestRegisterAddress', { thisDN: dn });
  const d1 = await onA.request('RequestMakeCall', { thisDN: '5031', otherDN: '5032' });
  t.equal(d1.event, 'EventDialing', 'a command under epoch 1');
  await inSync(a, b);

  const fromB = mark(b);
  const stoppedAt = Date.now();
  a.proc.kill('SIGSTOP');
  // A request that reaches the frozen primary: it must not be served when the process resumes.
  const ref = onA.ref();
  onA.sendRaw(JSON.stringify({ request: 'RequestMakeCall', referenceId: ref, thisDN: '5041', otherDN: '5042' }));

  // A hang is detected by whichever comes first: the switch's notice that the frozen primary's lease
  // lapsed, or the backup's ADDP silence (then its claims are refused until the lease lapsed).
  const promoting = await roleChanged(b, 'promoting', fromB, 5_000);
  t.match(String(promoting.reason), /LeaseLapsed|addp-timeout/, `promotion triggered by the hang (${String(promoting.reason)})`);
  const promoted = await roleChanged(b, 'primary', fromB, 5_000);
  t.comment(`promoted ${Date.parse(String(promoted.time)) - stoppedAt} ms after SIGSTOP`);
  const refused = b.proc.lines.slice(fromB).filter((l) => l.msg === 'role changed' && l.from === 'promoting' && l.to === 'backup-syncing').length;
  t.comment(`${refused} claim(s) refused before the frozen primary's lease lapsed`);

  const onB = await openClient(t, b.url, 'desk2');
  await onB.request('RequestRegisterAddress', { thisDN: '5061' });
  const d2 = await onB.request('RequestMakeCall', { thisDN: '5061', otherDN: '5062' }, 10_000);
  t.equal(d2.event, 'EventDialing', `a command under epoch 2${d2.event === 'EventError' ? ` (got ${d2.errorCode}: ${d2.errorMessage})` : ''}`);

  const fromA = mark(a);
  a.proc.kill('SIGCONT');
  const answer = await onA.waitFor((e) => e.referenceId === ref, 5_000, 'answer to the request sent while frozen');
  t.match(answer, { event: 'EventError', errorCode: 'NotPrimary' }, 'the resumed old primary answers NotPrimary');
  const demoted = await roleChanged(a, 'backup-syncing', fromA, 5_000);
  t.equal(demoted.from, 'primary');
  await roleChanged(a, 'backup-in-sync', fromA, 10_000);
  await inSync(b, a);
  t.equal(await a.state(), await b.state(), 'the rejoined backup equals the new primary');

  // Never two servers commanding: every accepted command of epoch e comes before the first of e+1.
  const link = await connectLink({ address: pair.sw.address, serverName: 'checker' });
  t.teardown(() => link.close());
  const log = await link.commandLog();
  const byEpoch = new Map<number, { server: Set<string>; firstSeq: number; lastSeq: number; first: number; last: number }>();
  for (const c of log.commands) {
    const e = byEpoch.get(Number(c.epoch)) ?? { server: new Set<string>(), firstSeq: Infinity, lastSeq: -1, first: Infinity, last: -1 };
    e.server.add(c.serverName);
    e.firstSeq = Math.min(e.firstSeq, Number(c.seqAfter)); e.lastSeq = Math.max(e.lastSeq, Number(c.seqAfter));
    e.first = Math.min(e.first, Number(c.timeMs)); e.last = Math.max(e.last, Number(c.timeMs));
    byEpoch.set(Number(c.epoch), e);
  }
  const epochs = [...byEpoch.keys()].sort((x, y) => x - y);
  t.ok(epochs.length >= 2, `commands under epochs ${epochs.join(', ')}`);
  for (let i = 0; i + 1 < epochs.length; i++) {
    const cur = byEpoch.get(epochs[i]!)!;
    const next = byEpoch.get(epochs[i + 1]!)!;
    t.equal(cur.server.size, 1, `epoch ${epochs[i]}: one server commanded`);
    t.ok(cur.lastSeq <= next.firstSeq && cur.last <= next.first, `epoch ${epochs[i]} ended before epoch ${epochs[i + 1]} began`);
  }
  t.same([...byEpoch.get(epochs[0]!)!.server], ['A']);
  t.same([...byEpoch.get(epochs.at(-1)!)!.server], ['B']);
});

// Rejoin: a backup that comes back resyncs partially when the primary's backlog still holds every
// batch it missed, with a full snapshot (streamed while the primary keeps serving) when it does not,
// and a restarted backup process gets the full state — calls begun before it started included. Each
// resync is logged with its kind and size on both ends.
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { after, inSync, mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

const BACKLOG = 10;

t.test('partial inside the backlog, full outside it, full for a restarted backup', async (t) => {
  const pair = await startPair(t, { args: ['--backlog-batches', String(BACKLOG)] });
  const { a } = pair;
  let b = pair.b;
  const caller = await connectLink({ address: pair.sw.address, serverName: 'caller' });
  t.teardown(() => caller.close());
  const onA = await openClient(t, a.url, 'desk');
  for (const dn of ['5011', '5021', '5031', '5032']) await onA.request('RequestRegisterAddress', { thisDN: dn });
  await onA.request('RequestAgentLogin', { thisDN: '5011', agentId: 'ann', thisQueue: '7002' });
  await inSync(a, b);

  // One request per event-loop turn of the primary = one batch.
  const toggle = async (n: number) => {
    for (let i = 0; i < n; i++) await onA.request(i % 2 === 0 ? 'RequestAgentReady' : 'RequestAgentNotReady', { thisDN: '5011' });
  };
  const gap = async (batches: number, kind: 'partial' | 'full') => {
    const fa = mark(a);
    const fb = mark(b);
    a.proxy.cut();
    await after(a, fa, (l) => String(l.msg).startsWith('running alone'), 5_000, 'running alone');
    await toggle(batches);
    a.proxy.heal();
    const started = await after(a, fa, (l) => l.msg === `resync ${kind} started`, 10_000, `resync ${kind} started`);
    const done = await after(a, fa, (l) => l.msg === `resync ${kind} done: backup in sync`, 10_000, `resync ${kind} done`);
    const onB = await after(b, fb, (l) => l.msg === 'resync done: in sync', 10_000, 'backup: resync done');
    t.equal(onB.kind, kind, `${batches} batches missed: ${kind} resync (${String(started.reason)})`);
    t.ok(typeof done.deltas === 'number' && typeof done.bytes === 'number', `logged with sizes: ${String(done.deltas)} deltas, ${String(done.bytes)} bytes, snapshot ${String(started.snapshotDeltas)} deltas`);
    await inSync(a, b);
    t.equal(await b.state(), await a.state(), `same state after the ${kind} resync`);
  };
  await gap(3, 'partial');
  await gap(BACKLOG * 3, 'full');

  // A restarted backup process: calls begun while it was down are on it after it joins.
  b.proc.kill('SIGKILL');
  await b.proc.exited;
  let mk = onA.events.length;
  await caller.inboundCall('4155550021', '5021');
  const ringing = await onA.waitFor((e) => e.event === 'EventRinging' && e.thisDN === '5021' && onA.events.indexOf(e) >= mk);
  mk = onA.events.length;
  const dial = await onA.request('RequestMakeCall', { thisDN: '5031', otherDN: '5032', userData: { account: '7' } });
  await onA.waitFor((e) => e.event === 'EventRinging' && e.thisDN === '5032' && onA.events.indexOf(e) >= mk);
  await onA.request('RequestAnswerCall', { thisDN: '5032', connId: dial.connId });
  b = await pair.start('B');
  await roleChanged(b, 'backup-in-sync', 0, 10_000);
  const joined = b.proc.lines.find((l) => l.msg === 'resync done: in sync');
  t.equal(joined?.kind, 'full', `the restarted backup got a full snapshot (${String(joined?.deltas)} deltas, ${String(joined?.bytes)} bytes)`);
  await inSync(a, b);
  const state = JSON.parse(await b.state()) as { calls: Record<string, { userData: Record<string, unknown> }> };
  t.ok(state.calls[ringing.connId!], 'the ringing call begun before the backup started is there');
  t.same(state.calls[dial.connId!]?.userData, { account: '7' }, 'the established call with its user data is there');
  t.equal(await b.state(), await a.state(), 'same state as the primary');
});

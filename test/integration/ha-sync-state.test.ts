// Guarantee "backup equals primary": after a mixed workload (agents in every state, calls in every
// state, user data, registrations) the backup's whole replicated state is the primary's, compared as
// canonical JSON once both report the same sync offset. Registrations sent to the backup are
// answered there but change nothing in its state (it only applies the primary's deltas).
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { inSync, startPair } from '../helpers/pair-fixture.js';
import { runWorkload, WORKLOAD_CONFIG } from '../helpers/ha-workload.js';
import { openClient } from '../helpers/tserver-fixture.js';

t.test('after a mixed workload the backup state equals the primary state', async (t) => {
  const pair = await startPair(t, { config: WORKLOAD_CONFIG });
  const { a, b } = pair;
  t.match(await a.health(), { haState: 'primary', role: 'primary', serving: true });
  t.match(await b.health(), { haState: 'backup-in-sync', haTrusted: true, role: 'backup', serving: false });

  const caller = await connectLink({ address: pair.sw.address, serverName: 'caller' });
  t.teardown(() => caller.close());
  const onA = await openClient(t, a.url, 'desk');
  const onB = await openClient(t, b.url, 'desk');
  const before = await b.state();
  const reg = await onB.request('RequestRegisterAddress', { thisDN: '5011' });
  t.equal(reg.event, 'EventRegistered', 'the backup answers a registration');
  t.equal(await b.state(), before, 'a registration on the backup changes nothing in its replicated state');
  const refused = await onB.request('RequestAgentReady', { thisDN: '5011' });
  t.match(refused, { event: 'EventError', errorCode: 'NotPrimary' }, 'call requests on the backup: NotPrimary');

  await runWorkload(onA, caller);
  const offset = await inSync(a, b);
  const [sa, sb] = await Promise.all([a.state(), b.state()]);
  const parsed = JSON.parse(sa) as { calls: Record<string, unknown>; agents: Record<string, unknown>; registrations: Record<string, unknown>; queues: Record<string, { waiting: unknown[] }>; routeRequests: Record<string, unknown> };
  t.ok(Object.keys(parsed.calls).length >= 7, `calls replicated (${Object.keys(parsed.calls).length})`);
  t.ok(Object.keys(parsed.agents).length >= 3, 'agents replicated');
  t.ok(parsed.registrations.desk, 'registrations replicated');
  t.equal(Object.values(parsed.queues).reduce((n, q) => n + q.waiting.length, 0), 1, 'one caller waiting in a queue');
  t.equal(Object.keys(parsed.routeRequests).length, 1, 'one call at a route point');
  t.equal(sb, sa, `backup state equals primary state at offset ${offset}`);
  const digestOf = async (m: typeof a) => ((await (await fetch(`${m.http}/healthz?digest=1`)).json()) as Record<string, unknown>).stateDigest;
  const [da, db] = await Promise.all([digestOf(a), digestOf(b)]);
  t.match(da, /^[0-9a-f]{8}$/, 'stateDigest in /healthz?digest=1');
  t.equal(db, da, 'same digest in /healthz?digest=1');
  const [ha, hb] = await Promise.all([a.health(), b.health()]);
  t.notOk('stateDigest' in ha, 'plain /healthz stays cheap: no digest');
  t.equal(hb.replicationId, ha.replicationId, 'same replication');
  t.match(await a.metrics(), /tandem_sync_in_sync 1/);
});

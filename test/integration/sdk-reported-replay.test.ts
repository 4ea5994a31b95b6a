// The reported replay end to end (docs/protocol.md Session 4, docs/sdk.md "Failover"): an SDK desktop
// on a real pair whose heartbeat reported its lastSeq to the backup resumes after kill -9, SIGSTOP or a
// switchover of the primary with no RequestReplay at all (the new primary's /metrics count none, and
// one reported replay), each event once, in seq order, and its requests keep working.
import t from 'tap';
import { inSync, mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';
import { createNodeClient } from '../../src/sdk/node.js';
import type { ClientStatus, TEvent } from '../../src/sdk/index.js';

const replays = async (http: string, outcome: string): Promise<number> => {
  const text = await (await fetch(`${http}/metrics`)).text();
  return Number(new RegExp(`^tandem_requests_total\\{request="RequestReplay",outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
};

async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !pred();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10)); // polls the client's own state, not a result
  }
}

for (const fault of ['kill -9', 'SIGSTOP', 'switchover'] as const) {
  t.test(`${fault} of the primary: the SDK resumes on the replay pushed behind the new primary's info`, async (t) => {
    const { a, b } = await startPair(t);
    const sup = await openClient(t, a.url, 'sup');
    const client = createNodeClient({ servers: [a.url, b.url], clientName: 'desk', heartbeatMs: 100, requestTimeoutMs: 20_000 });
    t.teardown(() => client.close());
    const events: TEvent[] = [];
    const statuses: ClientStatus[] = [];
    client.on('event', (e) => events.push(e));
    client.on('status', (s) => statuses.push(s));
    await client.register('5003');
    const login = await sup.request('RequestAgentLogin', { thisDN: '5003', agentId: 'a3', thisQueue: '7000', workMode: 'ManualIn' });
    await until(() => client.lastSeq === login.seq, 'the login event at the desktop');
    await until(() => client.servers()[1]!.reporting, 'B holds the report');
    const late = await sup.request('RequestAgentReady', { thisDN: '5003' });
    await until(() => client.lastSeq === late.seq, 'the ready event at the desktop');
    await inSync(a, b);

    const from = mark(b);
    if (fault === 'kill -9') a.proc.kill('SIGKILL');
    else if (fault === 'SIGSTOP') a.proc.kill('SIGSTOP');
    else b.proc.kill('SIGUSR1');
    await roleChanged(b, 'primary', from);
    await until(() => statuses.some((s) => s.type === 'failover-complete'), 'failover-complete');

    t.equal(await replays(b.http, 'ok'), 0, 'no RequestReplay reached the new primary');
    t.equal(await replays(b.http, 'reported'), 1, 'one replay pushed behind its info');
    const after = await client.notReady('5003');
    await until(() => events.some((e) => e.seq === after.seq), 'the new primary\'s event at the desktop');
    t.same(events.map((e) => e.seq), [login.seq, late.seq, after.seq], 'each event once, in seq order; requests answered after the failover');
    if (fault === 'SIGSTOP') a.proc.kill('SIGCONT'); // the frozen primary answers the closes at teardown (it demotes)
  });
}

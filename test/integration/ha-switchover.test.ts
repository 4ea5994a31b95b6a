// Graceful switchover by the operator while an SDK client sends requests the whole time: SIGUSR1 to
// the backup (promote it: the primary hands over cleanly), then SIGUSR2 to the new primary (demote
// it: hand back). Requests caught in a handover get NotPrimary, which the SDK retries on the new
// primary with the same referenceId: zero failed requests, each one done once.
import t from 'tap';
import { createNodeClient } from '../../src/sdk/node.js';
import { inSync, mark, roleChanged, startPair, type Member } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

t.test('SIGUSR1 to the backup, then SIGUSR2 to the new primary: zero failed requests', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  const client = createNodeClient({ servers: [a.url, b.url], clientName: 'desk', requestTimeoutMs: 20_000 });
  t.teardown(() => client.close());
  // Raw connections that only watch the EventServerInfo pushes of each server.
  const watch = [await openClient(t, a.url, 'watch-a'), await openClient(t, b.url, 'watch-b')];
  const switched: string[] = [];
  client.on('status', (s) => { if (s.type === 'switched') switched.push(s.to); });
  for (const dn of ['5011', '5012']) {
    await client.register(dn);
    await client.login(dn, `agent-${dn}`, { queue: '7002' });
  }

  let ok = 0;
  const failures: string[] = [];
  let running = true;
  // Two desktops' worth of work: each toggles its agent Ready / NotReady, one request at a time, so a
  // request done twice (or lost) would show up as an error (InvalidState) or a hang.
  const loop = async (dn: string) => {
    let ready = false;
    while (running) {
      try {
        const ev = ready ? await client.notReady(dn) : await client.ready(dn);
        if (ev.event !== (ready ? 'EventAgentNotReady' : 'EventAgentReady')) failures.push(`${dn}: ${ev.event}`);
        ready = !ready;
        ok += 1;
      } catch (err) {
        failures.push(`${dn}: ${(err as Error).message}`);
        ready = !ready;
      }
    }
  };
  const loops = [loop('5011'), loop('5012')];
  const okBy = async (n: number) => { const want = ok + n; while (ok < want && failures.length === 0) await new Promise((r) => setTimeout(r, 5)); };
  await okBy(20);

  const switchover = async (signal: 'SIGUSR1' | 'SIGUSR2', target: Member, from: Member) => {
    const mt = mark(target);
    const mf = mark(from);
    (signal === 'SIGUSR1' ? target : from).proc.kill(signal);
    const promoted = await roleChanged(target, 'primary', mt, 10_000);
    t.match(String(promoted.reason), /handover/, `${target.name} promoted by a handover (${String(promoted.reason)})`);
    await roleChanged(from, 'backup-in-sync', mf, 10_000);
    const joined = from.proc.lines.slice(mf).find((l) => l.msg === 'resync done: in sync');
    t.equal(joined?.kind, 'partial', `${from.name} rejoined with a partial resync (${String(joined?.deltas)} deltas)`);
    await inSync(target, from);
    await okBy(20);
  };
  await switchover('SIGUSR1', b, a);
  await switchover('SIGUSR2', a, b);
  running = false;
  await Promise.all(loops);
  t.same(failures, [], `zero failed requests (${ok} answered)`);
  t.same(switched.slice(-2), [b.url, a.url], 'the SDK followed both switchovers');
  t.equal(await a.state(), await b.state(), 'same state on both after the switchovers');
  for (const w of watch) {
    const infos = w.events.filter((e) => e.event === 'EventServerInfo' && e.referenceId === undefined).map((e) => `${e.role}/${e.epoch}/${e.serving}`);
    t.ok(infos.length >= 2, `${w.name}: pushed infos ${infos.join(', ')}`);
    t.ok(infos.every((x, i) => i === 0 || x !== infos[i - 1]), `${w.name}: no info pushed twice with the same role, epoch and serving`);
  }
});

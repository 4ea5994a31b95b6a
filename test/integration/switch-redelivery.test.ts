// Redelivery after a claim: every event after appliedSeq, then live events, with no gap and no
// duplicate even while a tool link keeps producing events; and the gap answer when the (small)
// log no longer holds appliedSeq+1.
import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTandem, ready } from '../helpers/process.js';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import type { sw } from '../../src/wire/switch-proto.js';
import type { LinkClient } from '../../src/adapters/switch-client/link-client.js';

/** Resolves once cond() holds, checking now and after every message on the link. */
const until = (l: LinkClient, cond: () => boolean) => (cond() ? Promise.resolve() : l.next(cond, 5000).then(() => {}));

t.test('redelivery from S without gap or duplicate; gap when S is older than the log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-switch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfgFile = join(dir, 'switch.json');
  writeFileSync(cfgFile, JSON.stringify({ switch: { eventLogSize: 50 } }));
  const proc = spawnTandem(t, ['switch', '--port', '0', '--config', cfgFile]);
  const address = `127.0.0.1:${((await ready(proc)).ports as { switch: number }).switch}`;
  const open = async (name: string) => {
    const l = await connectLink({ address, serverName: name });
    t.teardown(() => l.close());
    return l;
  };
  const tool = await open('load');
  const p = await open('P');
  for (let i = 0; i < 10; i++) await tool.inboundCall(`41555501${String(i).padStart(2, '0')}`, '8000');
  t.equal((await tool.snapshot()).lastSeq, 10);

  // Everything P receives after its Granted, in stream order.
  const after: number[] = [];
  let granted: sw.IGranted | undefined;
  p.on('message', (m) => {
    if (m.granted) granted = m.granted;
    else if (m.events && granted) for (const e of m.events.events) after.push(e.seq!);
  });
  // Events keep coming from the tool link before, while and after P's claim is processed.
  const burst = (n: number) => Array.from({ length: n }, (_, i) => tool.inboundCall(`4155559${String(i).padStart(3, '0')}`, '8001'));
  const early = burst(15);
  const claim = p.claim({ epoch: 1, appliedSeq: 4, redeliver: true });
  const late = burst(15);
  const g = (await claim).granted!;
  await Promise.all([...early, ...late]);
  const last = (await tool.snapshot()).lastSeq;
  t.equal(last, 40);
  t.equal(g.gap, false);
  t.ok(g.lastSeq >= 10 && g.lastSeq <= 40, `granted at lastSeq ${g.lastSeq}`);
  await until(p, () => after[after.length - 1] === last);
  t.same(after, Array.from({ length: last - 4 }, (_, i) => i + 5), 'seq 5..40 exactly once, in order, after Granted');

  // Claiming at the newest seq redelivers nothing.
  const q = await open('Q');
  const qAfter: number[] = [];
  let qGranted = false;
  q.on('message', (m) => { if (m.granted) qGranted = true; else if (m.events && qGranted) qAfter.push(...m.events.events.map((e) => e.seq!)); });
  t.match((await q.claim({ epoch: 2, appliedSeq: last, redeliver: true, force: true })).granted, { epoch: 2, gap: false, lastSeq: last });

  // Push the log past its 50 events: seq 5 is gone, so a claim from S=4 gets gap=true and nothing.
  for (let i = 0; i < 20; i++) await tool.inboundCall('4155550999', '7000');
  const r = await open('R');
  const rAfter: number[] = [];
  let rGranted = false;
  r.on('message', (m) => { if (m.granted) rGranted = true; else if (m.events && rGranted) rAfter.push(...m.events.events.map((e) => e.seq!)); });
  const gg = (await r.claim({ epoch: 3, appliedSeq: 4, redeliver: true, force: true })).granted!;
  t.match(gg, { epoch: 3, gap: true, lastSeq: 60, oldestSeq: 11 });
  await tool.inboundCall('4155550998', '7001');
  await until(r, () => rAfter.length > 0);
  await until(q, () => qAfter[qAfter.length - 1] === 61);
  t.same(rAfter, [61], 'no redelivery after a gap: only live events');
  t.same(qAfter, [41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61], 'Q got only live events after its grant');
  t.match(await r.welcome, {}, 'still the same link');
  const w = await open('W');
  t.match(await w.welcome, { epoch: 3, lastSeq: 61, oldestSeq: 12 });
});

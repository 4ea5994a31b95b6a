// The big-state part of the bench: build 10,000 calls + 5,000 logged-in agents on the primary
// (memory per call and per agent from its RSS), then kill -9 the backup and start it again: the
// full-snapshot resync time (the primary's and the backup's log lines) and the primary's event
// latency under a light call load before and during the resync.
import WebSocket from 'ws';
import { rssKiB } from './procs.mjs';
import { startSystem, benchConfig, PARK_POINT } from './system.mjs';
import { forkWorker } from './workers.mjs';
import { loadStep } from './load-step.mjs';
import { pct, sleep } from './stats.mjs';

const BULK_FIRST_DN = 20000;

/** Logs `count` agents in on one connection (DNs 20000…), requests pipelined 200 at a time. */
async function bulkLogin(url, count) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let ref = 0;
  const waiting = new Map();
  ws.on('message', (d) => { const ev = JSON.parse(d.toString()); const w = waiting.get(ev.referenceId); if (w) { waiting.delete(ev.referenceId); w(ev); } });
  // A bounded wait: a failover mid-login must not hang the bench (counted as failed instead).
  const ask = (body) => new Promise((resolve) => {
    const id = ++ref;
    const timer = setTimeout(() => { waiting.delete(id); resolve({ event: 'EventError', errorCode: 'Timeout' }); }, 10_000);
    waiting.set(id, (ev) => { clearTimeout(timer); resolve(ev); });
    ws.send(JSON.stringify({ ...body, referenceId: id }));
  });
  await ask({ request: 'RequestOpen', clientName: `bench-bulk-${process.pid}` });
  let failed = 0;
  for (let i = 0; i < count; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, count - i) }, async (_, k) => {
      const dn = String(BULK_FIRST_DN + i + k);
      await ask({ request: 'RequestRegisterAddress', thisDN: dn });
      const ev = await ask({ request: 'RequestAgentLogin', thisDN: dn, agentId: `bulk${dn}`, thisQueue: '7001', workMode: 'ManualIn' });
      if (ev.event === 'EventError') failed++;
    }));
  }
  return { ws, failed };
}

const timeOf = (line) => Date.parse(String(line.time));

export async function runResync({ mode, calls, agents, log }) {
  const sys = await startSystem({ mode, config: benchConfig({ extraExtensions: [`${BULK_FIRST_DN}-${BULK_FIRST_DN + 9999}`] }), log });
  const desk = forkWorker('desktops.mjs');
  const caller = forkWorker('caller.mjs');
  const r = { mode, calls, agents, ha: sys.pair ? !!sys.haWorks : false };
  let bulk;
  try {
    const primary = await sys.primary();
    await caller.call('setup', { address: sys.sw.address });
    await desk.call('setup', { url: primary.url, dns: Array.from({ length: 100 }, (_, i) => String(5000 + i)), queue: '7000', routePoint: '8000', talkMs: 200 });
    const rss0 = rssKiB(primary.proc.pid);
    const t0 = performance.now();
    bulk = await bulkLogin(primary.url, agents);
    r.agentLoginMs = performance.now() - t0;
    r.agentLoginFailed = bulk.failed;
    const rss1 = rssKiB(primary.proc.pid);
    r.memPerAgentKiB = (rss1 - rss0) / agents;
    log(`resync: ${agents} agents logged in (${bulk.failed} failed) in ${Math.round(r.agentLoginMs)} ms; RSS ${rss0} -> ${rss1} KiB`);
    // Parked calls: a route point with no router and no default target keeps them forever.
    await caller.call('run', { rate: 2500, ms: Math.ceil((calls / 2500) * 1000), dnis: PARK_POINT, prefix: '4800' });
    const end = Date.now() + 60_000;
    while ((await primary.health()).calls < calls && Date.now() < end) await sleep(100);
    await caller.call('collect');
    const rss2 = rssKiB(primary.proc.pid);
    r.callsHeld = (await primary.health()).calls;
    r.memPerCallKiB = (rss2 - rss1) / r.callsHeld;
    r.rssKiB = { base: rss0, withAgents: rss1, withCalls: rss2 };
    log(`resync: ${r.callsHeld} calls parked; RSS ${rss1} -> ${rss2} KiB`);
    if (!sys.pair || !sys.haWorks) { r.skipped = 'no working pair: resync not measured'; return r; }
    if (!(await sys.inSync(60_000))) throw new Error('the backup did not catch up with the built state');
    const backupName = primary.name === 'A' ? 'B' : 'A';
    r.baseline = summarize(await loadStep({ sys, primary, desk, caller, rate: 100, ms: 3000, prefix: '4810', talkMs: 200 }));
    // Kill -9 the backup, start it again: it has no state, so the primary streams a full snapshot.
    sys.servers[backupName].proc.signal('SIGKILL');
    await sys.servers[backupName].proc.exited;
    const linesBefore = primary.proc.lines.length;
    let done, startedAt;
    const during = await loadStep({
      sys, primary, desk, caller, rate: 100, ms: 8000, prefix: '4820', talkMs: 200, raw: true,
      during: async () => {
        await sleep(1000);
        startedAt = Date.now();
        const b = await sys.start(backupName);
        done = await b.proc.waitFor((l) => /resync.*done|in sync/i.test(String(l.msg)), 60_000, 'resync done');
      },
    });
    const pLines = primary.proc.lines.slice(Math.max(0, linesBefore - 10));
    const pStart = pLines.find((l) => /resync full started/i.test(String(l.msg)));
    const pDone = pLines.find((l) => /resync.*done/i.test(String(l.msg)));
    r.resyncLog = { primaryStarted: pStart, primaryDone: pDone, backupDone: done };
    r.resyncMs = typeof pDone?.ms === 'number' ? pDone.ms : pStart && pDone ? timeOf(pDone) - timeOf(pStart) : NaN;
    r.restartToInSyncMs = done ? timeOf(done) - startedAt : NaN;
    const from = pStart ? timeOf(pStart) : startedAt, to = pDone ? timeOf(pDone) : done ? timeOf(done) : from;
    const inWin = during.rawEvent.filter(([t]) => t >= from && t <= to + 1).map(([, l]) => l);
    r.during = { ...summarize(during), resyncWindow: { n: inWin.length, p50: pct(inWin, 50), p99: pct(inWin, 99), max: pct(inWin, 100) } };
    log(`resync: full resync ${r.resyncMs} ms (restart → in sync ${r.restartToInSyncMs} ms); event p99 baseline ${r.baseline.event.p99} ms, during ${r.during.resyncWindow.p99} ms`);
    return r;
  } finally {
    bulk?.ws.close();
    await desk.close();
    await caller.close();
    await sys.stop();
  }
}

function summarize(s) {
  const { rawEvent, ...rest } = s;
  return rest;
}

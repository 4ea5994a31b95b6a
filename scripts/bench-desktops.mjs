#!/usr/bin/env node
// `npm run bench:desktops`: thousands of SDK desktops through a failover (issue 14 item 1). A switch
// and the A/B pair in ack mode as real processes; `--desktops` agent desktops on the SDK
// (createNodeClient, registered with both servers) spread over `--procs` load processes
// (scripts/lib/sdk-desktops.mjs), a router desktop, callers at `--rate` calls/s. Each run injects one
// fault on the primary — kill -9, SIGSTOP, or a switchover (SIGUSR1 to the backup) — and measures:
//  - promotion: the signal → the backup's 'role changed' to primary log line;
//  - per desktop, the promotion → its SDK's 'failover-complete' (replay done, requests flowing):
//    p50/p99/max, and desktops that never resumed within --resume-timeout-ms;
//  - the reconnect storm on the recovering server (restarted after kill -9, resumed after SIGSTOP):
//    sessions opened per second ('client opened' log lines), its length, refusals;
//  - requests lost (sent by a desktop or the router and never answered): must be 0;
//  - memory per desktop on both servers (heap and RSS at idle, before and after the desktops).
// The dial plan: extensions 20000… for the desktops (`benchConfig({ extraExtensions })`, i.e. the
// switch's `dialPlan.extensions` in the config file; README "Many desktops").
// Writes the per-desktop resume times as a results file (kind 'resume', scripts/lib/charts.mjs) and
// draws resume.svg from it; --write adds the section to docs/benchmarks.md.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseScriptArgs } from './lib/cli-args.mjs';
import { startSystem, benchConfig, QUEUE, ROUTE_POINT } from './lib/system.mjs';
import { forkWorker } from './lib/workers.mjs';
import { ROOT, rssKiB, cpuMeter } from './lib/procs.mjs';
import { pct, fmt, table, metricValue, sleep, median } from './lib/stats.mjs';
import { machineInfo, DESKTOPS_HEADING } from './lib/bench-report.mjs';
import { upsertSection } from './lib/chaos-report.mjs';
import { writeCharts, chartImage } from './lib/charts.mjs';
import { clock } from './lib/bench-progress.mjs';

const USAGE = 'usage: node scripts/bench-desktops.mjs [--desktops 5000] [--procs 5] [--rate 100] [--faults kill,stop,switchover] [--runs 3] [--talk-ms 3000] [--heartbeat-ms N] [--resume-timeout-ms 30000] [--out docs/results/desktops.json] [--charts docs/charts] [--write docs/benchmarks.md] [--cpu-prof DIR] [--nice-load 10]\n       node scripts/bench-desktops.mjs --report RESULTS.json [--write docs/benchmarks.md]   (the section again from a results file)';
const { values: a } = parseScriptArgs('bench-desktops', USAGE, {
  options: {
    desktops: { type: 'string', default: '5000' },
    procs: { type: 'string', default: '5' },
    rate: { type: 'string', default: '100' },
    faults: { type: 'string', default: 'kill,stop,switchover' },
    runs: { type: 'string', default: '3' },
    'talk-ms': { type: 'string', default: '3000' },
    'heartbeat-ms': { type: 'string' },
    'resume-timeout-ms': { type: 'string', default: '30000' },
    'first-dn': { type: 'string', default: '20000' },
    out: { type: 'string', default: join(ROOT, 'docs', 'results', 'desktops.json') },
    charts: { type: 'string', default: join(ROOT, 'docs', 'charts') },
    write: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'nice-load': { type: 'string', default: '10' },
    report: { type: 'string' },
  },
});
const o = {
  desktops: Number(a.desktops), procs: Number(a.procs), rate: Number(a.rate), faults: a.faults.split(','), runs: Number(a.runs),
  talkMs: Number(a['talk-ms']), heartbeatMs: a['heartbeat-ms'] ? Number(a['heartbeat-ms']) : undefined,
  resumeTimeoutMs: Number(a['resume-timeout-ms']), firstDn: Number(a['first-dn']), niceLoad: Number(a['nice-load']),
};
for (const f of o.faults) if (!['kill', 'stop', 'switchover'].includes(f)) { console.error(`bench-desktops: unknown fault ${f}\n${USAGE}`); process.exit(2); }

const started = new Date();
const log = (s) => console.log(`[bench-desktops ${new Date().toISOString().slice(11, 19)} +${clock(Date.now() - started.getTime())}] ${s}`);
const now = () => performance.timeOrigin + performance.now();
const timeOf = (l) => (typeof l.time === 'number' ? l.time : Date.parse(l.time));
const other = (name) => (name === 'A' ? 'B' : 'A');

/** Heap (from /metrics) and RSS of a server at idle: the minimum of `n` readings a second apart. */
async function idleMemory(server, n = 5) {
  let heap = Infinity, rss = Infinity;
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(1000);
    heap = Math.min(heap, metricValue(await server.metrics().catch(() => ''), 'tandem_heap_used_bytes'));
    rss = Math.min(rss, rssKiB(server.proc.pid) * 1024);
  }
  return { heap, rss };
}

/** Calls every worker with the same op; returns their answers. */
const all = (workers, op, args = {}, timeoutMs) => Promise.all(workers.map((w) => w.call(op, args, timeoutMs)));

/** Polls until `pred()` is true (resolves true) or `timeoutMs` passed (false). */
async function until(pred, timeoutMs, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

/** Every desktop has both links open (registered with both servers). */
async function bothOpen(workers) {
  const r = await all(workers, 'links');
  return r.reduce((n, x) => n + x.bothOpen, 0);
}

/** The pair is in sync: the primary serving with its switch link up and its backup in sync. */
async function pairReady(sys, timeoutMs = 30_000) {
  return until(async () => {
    const hs = await Promise.all(Object.values(sys.servers).map((s) => s.health().catch(() => undefined)));
    const p = hs.find((h) => h?.role === 'primary' && h.serving && h.switchLink === 'up');
    const b = hs.find((h) => h && h !== p && h.role === 'backup');
    return !!p && !!b && /in-sync/.test(String(p.syncState)) && /in-sync/.test(String(b.haState ?? ''));
  }, timeoutMs, 100);
}

/**
 * Sessions the desktops opened on `server` since `since` (epoch ms), from its log file's 'client
 * opened' lines: count, first → last, the mean rate and the busiest 100 ms; refusals and open timeouts.
 */
function acceptStorm(logFile, since) {
  const times = [];
  let refused = 0, openTimeouts = 0;
  for (const raw of readFileSync(logFile, 'utf8').split('\n')) {
    if (!raw.includes('"client opened"') && !raw.includes('"connection refused"') && !raw.includes('no RequestOpen within')) continue;
    let l;
    try { l = JSON.parse(raw); } catch { continue; }
    const t = timeOf(l);
    if (!(t >= since)) continue;
    if (l.msg === 'client opened' && String(l.clientName).startsWith('sdk-agent-')) times.push(t);
    else if (l.msg === 'connection refused') refused++;
    else if (String(l.reason ?? '').includes('no RequestOpen within')) openTimeouts++;
  }
  times.sort((x, y) => x - y);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 100) j++;
    peak = Math.max(peak, i - j + 1);
  }
  const spanMs = times.length > 1 ? times.at(-1) - times[0] : 0;
  return { opened: times.length, firstMs: times.length ? times[0] - since : undefined, spanMs, meanPerS: spanMs > 0 ? (1000 * times.length) / spanMs : undefined, peakPerS: peak * 10, refused, openTimeouts };
}

const diffCounts = (b, a0) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a0[k] ?? 0)]).filter(([, v]) => v !== 0));
function sumRequests(rs) {
  const out = { sent: 0, answered: 0, pending: 0, rings: 0, released: 0, refused: {}, lost: {} };
  for (const r of rs) {
    for (const k of ['sent', 'answered', 'pending', 'rings', 'released']) out[k] += r[k];
    for (const k of ['refused', 'lost']) for (const [c, n] of Object.entries(r[k])) out[k][c] = (out[k][c] ?? 0) + n;
  }
  return out;
}

async function main() {
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-desktops-'));
  const last = o.firstDn + o.desktops - 1;
  const config = benchConfig({ extraExtensions: [`${o.firstDn}-${last}`], journalEvents: 30_000 });
  log(`starting the switch and the pair (ack mode); logs in ${logDir}`);
  // --cpu-prof DIR: both servers under node --cpu-prof (DIR/A, DIR/B; a restarted server writes a new file).
  const nodeArgs = a['cpu-prof'] ? Object.fromEntries(['A', 'B'].map((n) => [n, ['--cpu-prof', `--cpu-prof-dir=${join(a['cpu-prof'], n)}`]])) : undefined;
  const sys = await startSystem({ mode: 'ack', config, log, logDir, nodeArgs });
  const res = {
    kind: 'resume', command: `node scripts/bench-desktops.mjs ${process.argv.slice(2).join(' ')}`.trim(), started, machine: machineInfo(),
    settings: { ...o, mode: 'ack', dialPlan: `extensions 5000-5999, ${o.firstDn}-${last}` }, runs: [], memory: {}, notes: [],
  };
  const workers = [];
  let caller;
  try {
    if (!sys.haWorks) throw new Error('the backup never reached in-sync');
    const names = Object.keys(sys.servers);
    const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await idleMemory(sys.servers[n])])));
    const dns = Array.from({ length: o.desktops }, (_, i) => String(o.firstDn + i));
    const per = Math.ceil(o.desktops / o.procs);
    const t0 = now();
    for (let p = 0; p < o.procs; p++) workers.push(forkWorker('sdk-desktops.mjs'));
    // The desktops and the callers stand for thousands of PCs and a carrier, not for work of the
    // servers' own machines: at a lower priority (--nice-load, default 10) they take the CPU the servers
    // leave, as remote machines would, instead of competing with the servers on these two cores.
    for (const w of workers) setPriority(w.pid, o.niceLoad);
    await Promise.all(workers.map((w, p) => w.call('setup', {
      urls: sys.urls, dns: dns.slice(p * per, (p + 1) * per), queue: QUEUE, routePoint: ROUTE_POINT, router: p === 0,
      talkMs: o.talkMs, heartbeatMs: o.heartbeatMs, requestTimeoutMs: 60_000,
    }, 600_000)));
    log(`${o.desktops} SDK desktops registered, logged in and Ready in ${fmt((now() - t0) / 1000)} s (${o.procs} processes)`);
    if (!(await until(async () => (await bothOpen(workers)) === o.desktops, 60_000, 250))) throw new Error(`not every desktop has both links open: ${await bothOpen(workers)} of ${o.desktops}`);
    const after = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await idleMemory(sys.servers[n])])));
    const primary0 = (await sys.primary()).name;
    for (const n of names) {
      res.memory[n === primary0 ? 'primary' : 'backup'] = {
        server: n, before: before[n], after: after[n],
        heapPerDesktop: (after[n].heap - before[n].heap) / o.desktops, rssPerDesktop: (after[n].rss - before[n].rss) / o.desktops,
      };
    }
    log(`memory per desktop: ${Object.entries(res.memory).map(([k, m]) => `${k} heap ${fmt(m.heapPerDesktop / 1024)} KiB, RSS ${fmt(m.rssPerDesktop / 1024)} KiB`).join('; ')}`);
    // Idle: the desktops connected, no calls. What the servers spend on them alone (heartbeats, pings).
    const idle = cpuMeter({ primary: sys.servers[primary0].proc.pid, backup: sys.servers[other(primary0)].proc.pid, ...Object.fromEntries(workers.map((w, i) => [`desktops${i}`, w.pid])) });
    await sleep(5000);
    const idleCores = idle();
    res.idleCpu = { primary: idleCores.primary, backup: idleCores.backup, desktops: workers.reduce((n, _, i) => n + idleCores[`desktops${i}`], 0) };
    log(`idle CPU (cores) with ${o.desktops} desktops and no calls: primary ${fmt(res.idleCpu.primary, 3)}, backup ${fmt(res.idleCpu.backup, 3)}, the desktop processes ${fmt(res.idleCpu.desktops, 2)}`);

    caller = forkWorker('caller.mjs');
    setPriority(caller.pid, o.niceLoad);
    await caller.call('setup', { address: sys.sw.address });
    const calls = caller.call('run', { rate: o.rate, ms: 24 * 3600_000, dnis: ROUTE_POINT, prefix: '7' }, 24 * 3600_000);
    void calls.catch(() => {});
    const req0 = sumRequests(await all(workers, 'collect'));
    await sleep(3000);

    const plan = [];
    for (let r = 0; r < o.runs; r++) for (const f of o.faults) plan.push(f);
    for (const [i, fault] of plan.entries()) {
      if (!(await pairReady(sys))) throw new Error('the pair did not get back in sync');
      if (!(await until(async () => (await bothOpen(workers)) === o.desktops, 60_000, 250))) res.notes.push(`run ${i + 1}: not every desktop had both links open before the fault`);
      await sleep(2000); // load before the fault
      const primary = await sys.primary();
      const backup = sys.servers[other(primary.name)];
      const reqBefore = sumRequests(await all(workers, 'collect'));
      await all(workers, 'mark');
      const cpu = cpuMeter({ primary: primary.proc.pid, backup: backup.proc.pid, switch: sys.sw.proc.pid });
      const tFault = Date.now();
      if (fault === 'kill') primary.proc.signal('SIGKILL');
      else if (fault === 'stop') primary.proc.signal('SIGSTOP');
      else backup.proc.signal('SIGUSR1');
      const line = await backup.proc.waitFor((l) => l.msg === 'role changed' && l.to === 'primary' && timeOf(l) >= tFault - 1, 15_000, 'promotion');
      const promotedAt = timeOf(line);
      // Server side: when the new primary had handed its EventServerInfo (primary, serving) to every desktop.
      const infoOut = backup.proc.waitFor((l) => l.msg === 'broadcast delivered' && l.event === 'EventServerInfo' && l.role === 'primary' && l.serving && timeOf(l) >= promotedAt, o.resumeTimeoutMs, 'info broadcast').catch(() => undefined);
      const resumedAll = await until(async () => {
        const p = await all(workers, 'progress');
        return p.every((x) => x.moving === x.desktops && x.resumed === x.desktops);
      }, o.resumeTimeoutMs, 20);
      const rs = await all(workers, 'resumed');
      const cpuDuring = cpu();
      const resumedMs = rs.flatMap((x) => x.completedAt.map((t) => Math.round(10 * Math.max(0, t - promotedAt)) / 10));
      // Where the time went, per desktop: promotion -> the new primary's EventServerInfo read (its
      // replay sent) -> the replay's answer read.
      const switchedMs = rs.flatMap((x) => x.switchedAt.filter((t) => t > 0).map((t) => t - promotedAt));
      const replayMs = rs.flatMap((x) => x.switchedAt.map((t, k) => (t > 0 ? x.completedAt[k] - t : NaN)).filter((v) => !Number.isNaN(v)));
      const out = await infoOut;
      const phases = { infoBroadcastDoneMs: out ? timeOf(out) - promotedAt : undefined, infoBroadcastTurns: out?.turns, switchedP50: pct(switchedMs, 50), switchedP99: pct(switchedMs, 99), replayP50: pct(replayMs, 50), replayP99: pct(replayMs, 99), loadLoopMaxMs: Math.max(...rs.map((x) => x.loop.maxMs)), loadCpuMs: rs.map((x) => Math.round(x.loop.cpuMs)) };
      const run = {
        fault, desktops: o.desktops, promoteMs: promotedAt - tFault, promotedAt, server: backup.name, resumedMs,
        notResumed: o.desktops - resumedMs.length, notMoved: rs.reduce((n, x) => n + x.desktops - x.moving, 0),
        p50: pct(resumedMs, 50), p99: pct(resumedMs, 99), max: pct(resumedMs, 100),
        cpuCores: cpuDuring, phases,
      };
      // Recovery: the supervisor restarts a killed server; a stopped one is continued; both rejoin as
      // backup and every desktop reconnects to them (the reconnect storm).
      const recovering = primary.name;
      const tRecover = Date.now();
      if (fault === 'kill') {
        await primary.proc.exited;
        await sys.start(recovering);
      } else if (fault === 'stop') {
        primary.proc.signal('SIGCONT');
      }
      const backInSync = await pairReady(sys, 60_000);
      const allOpen = await until(async () => (await bothOpen(workers)) === o.desktops, 60_000, 100);
      const stormEnd = Date.now();
      if (fault !== 'switchover') run.storm = { server: recovering, ...acceptStorm(join(logDir, `tserver-${recovering}.log`), tRecover), allOpenMs: allOpen ? stormEnd - tRecover : undefined };
      const reqAfter = sumRequests(await all(workers, 'collect'));
      run.requests = { sent: reqAfter.sent - reqBefore.sent, answered: reqAfter.answered - reqBefore.answered, lost: diffCounts(reqAfter.lost, reqBefore.lost), refused: diffCounts(reqAfter.refused, reqBefore.refused) };
      if (!backInSync) res.notes.push(`run ${i + 1} (${fault}): the pair was not back in sync 60 s after the recovery`);
      res.runs.push(run);
      log(`run ${i + 1}/${plan.length} ${fault}: promoted ${run.promoteMs} ms after the signal; desktops resumed after the promotion p50 ${fmt(run.p50)} p99 ${fmt(run.p99)} max ${fmt(run.max)} ms` +
        ` (promotion -> new primary's info broadcast handed to every desktop ${fmt(phases.infoBroadcastDoneMs)} ms in ${phases.infoBroadcastTurns ?? '?'} turns; -> info read p50 ${fmt(phases.switchedP50)} p99 ${fmt(phases.switchedP99)}, -> replay answered p50 ${fmt(phases.replayP50)} p99 ${fmt(phases.replayP99)}; load process loop delay max ${fmt(phases.loadLoopMaxMs)}, CPU ms ${phases.loadCpuMs.join('/')}; cores: old primary ${fmt(cpuDuring.primary, 2)}, new primary ${fmt(cpuDuring.backup, 2)}, switch ${fmt(cpuDuring.switch, 2)})` +
        `${run.notResumed ? `, ${run.notResumed} NOT resumed within ${o.resumeTimeoutMs} ms` : ''}${resumedAll ? '' : ' (timed out)'}` +
        `${run.storm ? `; storm on ${recovering}: ${run.storm.opened} sessions in ${fmt(run.storm.spanMs)} ms (mean ${fmt(run.storm.meanPerS)}/s, peak ${fmt(run.storm.peakPerS)}/s), all links open ${fmt(run.storm.allOpenMs)} ms after the recovery` : ''}` +
        `; requests ${run.requests.sent} sent, lost ${JSON.stringify(run.requests.lost)}, refused ${JSON.stringify(run.requests.refused)}`);
    }
    await caller.call('stop');
    await sleep(o.talkMs + 3000); // calls in progress end
    const reqEnd = sumRequests(await all(workers, 'collect'));
    const c = await caller.call('collect');
    res.requests = {
      sent: reqEnd.sent - req0.sent, answered: reqEnd.answered - req0.answered, pendingAtEnd: reqEnd.pending,
      lost: diffCounts(reqEnd.lost, req0.lost), refused: diffCounts(reqEnd.refused, req0.refused),
      lostTotal: Object.values(diffCounts(reqEnd.lost, req0.lost)).reduce((x, y) => x + y, 0) + reqEnd.pending,
      callsOffered: c.sent, callsFailed: c.failed, callFailures: c.failures, rings: reqEnd.rings - req0.rings, released: reqEnd.released - req0.released,
    };
    log(`requests: ${res.requests.sent} sent, ${res.requests.answered} answered, lost ${res.requests.lostTotal} (${JSON.stringify(res.requests.lost)}, ${res.requests.pendingAtEnd} pending at the end), refused ${JSON.stringify(res.requests.refused)}; calls offered ${c.sent} (${c.failed} refused by the switch)`);
  } catch (err) {
    res.error = String(err?.stack ?? err);
    console.error(err);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await caller?.close();
    if (a['cpu-prof']) {
      for (const s of Object.values(sys.servers)) { s.proc.signal('SIGCONT'); s.proc.signal('SIGTERM'); }
      await Promise.race([Promise.all(Object.values(sys.servers).map((s) => s.proc.exited)), sleep(5000)]);
    }
    await sys.stop();
  }
  res.finished = new Date();
  mkdirSync(dirname(a.out), { recursive: true });
  // One line per array of numbers: 45,000 resume times would otherwise be 45,000 lines.
  writeFileSync(a.out, JSON.stringify(res, null, 1).replace(/\[\s*(-?[\d.]+(?:,\s*-?[\d.]+)*)\s*\]/g, (_, xs) => `[${xs.split(/,\s*/).join(',')}]`) + '\n');
  log(`results: ${a.out}`);
  let charts = [];
  if (res.runs.length) {
    charts = writeCharts(JSON.parse(readFileSync(a.out, 'utf8')), a.charts, a.out);
    log(`chart: ${charts.map((x) => x.path).join(', ')}`);
  }
  const md = report(res, charts);
  console.log(`\n${md}`);
  if (a.write) writeSection(a.write, md);
  process.exit(res.error ? 1 : 0);
}

/** The markdown section: settings, the chart, a table per fault (medians of the runs), memory, requests. */
function report(res, charts) {
  const s = res.settings;
  const byFault = {};
  for (const r of res.runs) (byFault[r.fault] ??= []).push(r);
  const label = { kill: 'kill -9', stop: 'SIGSTOP', switchover: 'switchover (SIGUSR1 to the backup)' };
  const med = (rs, f) => median(rs.map(f).filter((v) => typeof v === 'number' && !Number.isNaN(v)));
  const rows = Object.entries(byFault).map(([f, rs]) => [label[f] ?? f, rs.length, med(rs, (r) => r.promoteMs), med(rs, (r) => r.p50), med(rs, (r) => r.p99), Math.max(...rs.map((r) => r.max)),
    rs.reduce((n, r) => n + r.notResumed, 0), rs.map((r) => r.p99).map((v) => fmt(v)).join(' / '),
    rs.some((r) => r.storm?.opened) ? `${fmt(med(rs, (r) => r.storm?.meanPerS))} / ${fmt(med(rs, (r) => r.storm?.peakPerS))}` : '- (links stayed open)',
    rs.some((r) => r.storm?.opened) ? fmt(med(rs, (r) => r.storm?.allOpenMs)) : '-',
    rs.reduce((n, r) => n + Object.values(r.requests.lost).reduce((x, y) => x + y, 0), 0)]);
  const m = res.memory;
  const mem = Object.entries(m).map(([k, v]) => `${k} (${v.server}) heap ${fmt(v.heapPerDesktop / 1024)} KiB, RSS ${fmt(v.rssPerDesktop / 1024)} KiB`).join('; ');
  const r = res.requests;
  return [DESKTOPS_HEADING, '',
    `Produced by \`${res.command}\` (${typeof res.started === 'string' ? res.started : res.started.toISOString()}, ${s.desktops} SDK desktops in ${s.procs} load processes at nice ${s.niceLoad}, ${s.rate} calls/s, talk ${s.talkMs} ms, pair in ack mode, dial plan ${s.dialPlan}; load average at the start ${res.machine.loadavg.map((v) => v.toFixed(2)).join(' / ')}). Times in ms; "resumed" is the promotion (the backup's 'role changed' to primary) → the desktop's SDK status 'failover-complete' (its replay done, its requests flowing). Medians of the runs; the p99 column per run.`, '',
    ...(charts.length ? [chartImage(charts[0]), ''] : []),
    table(['fault', 'runs', 'promotion (signal →)', 'resumed p50', 'resumed p99', 'resumed max (all runs)', 'never resumed', 'p99 per run', 'reconnect storm: sessions/s mean / peak 100 ms', 'storm: all links open after (ms)', 'requests lost'], rows), '',
    `- **Memory per desktop** (idle, min of 5 readings, before → after the desktops registered, logged in, Ready): ${mem}.`,
    ...(res.runs.some((x) => x.phases) ? [`- **Where the time went** (per run, ms; promotion → the new primary's EventServerInfo read by the desktop → its replay answered (0: a reported or standing replay completed behind that info, docs/protocol.md Session 4); CPU each load process spent from the fault to the last resume): ${Object.entries(byFault).map(([f, rs]) => `${label[f] ?? f}: ${rs.filter((x) => x.phases).map((x) => `info p50/p99 ${fmt(x.phases.switchedP50)}/${fmt(x.phases.switchedP99)}, replay ${fmt(x.phases.replayP50)}/${fmt(x.phases.replayP99)}, CPU ${Math.min(...x.phases.loadCpuMs)}-${Math.max(...x.phases.loadCpuMs)}`).join('; ')}`).join(' — ')}.`] : []),
    ...(res.idleCpu ? [`- **Idle CPU** with the desktops connected and no calls (5 s; SDK heartbeat ${s.heartbeatMs ?? 'default (2000)'} ms): primary ${fmt(res.idleCpu.primary, 3)} cores, backup ${fmt(res.idleCpu.backup, 3)} cores, the ${s.procs} desktop processes ${fmt(res.idleCpu.desktops, 2)} cores.`] : []),
    ...(r ? [`- **Requests:** ${r.sent} sent by the desktops and the router, ${r.answered} answered, **${r.lostTotal} lost** (${JSON.stringify(r.lost)}, ${r.pendingAtEnd} unanswered at the end), refused by code ${JSON.stringify(r.refused)}; ${r.callsOffered} calls offered (${r.callsFailed} refused by the switch: ${JSON.stringify(r.callFailures)}), ${r.rings} rang at a desktop, ${r.released} released by it.`] : []),
    ...res.notes.map((n) => `- ${n}`),
    ...(res.error ? ['', '**The run failed:**', '', '```', res.error.slice(0, 2000), '```'] : []), ''].join('\n');
}

/** Replaces (or appends) the section under DESKTOPS_HEADING in `file`; `npm run bench` keeps it. */
function writeSection(file, md) {
  upsertSection(file, md, DESKTOPS_HEADING);
  log(`section written to ${file}`);
}

if (a.report) {
  const res = JSON.parse(readFileSync(a.report, 'utf8'));
  const md = report(res, res.runs.length ? [{ file: 'resume.svg', title: 'Desktops resumed after a failover' }] : []);
  console.log(md);
  if (a.write) writeSection(a.write, md);
} else {
  main().catch((err) => { console.error(err); process.exit(1); });
}

#!/usr/bin/env node
// `npm run bench:stability`: does the pair stay up when it is busy, and fail over fast when it is not?
// Real processes (switch + A + B in ack mode, raw desktops answering through the primary, simulated
// callers at a fixed rate), default timeouts (lease 400 ms, ADDP 100/400 ms). Scenarios:
//   overload  offer --rate (default 2 × --knee) for --secs, --runs times: unplanned failovers (must be
//             0), sustained calls/s (must be >= 90 % of the knee), new calls gapped at the switch
//             (Congestion: overload control, allowed) apart from request answers by error code
//             (Overloaded is allowed, any other error is not), requests never answered (must be 0).
//             `--knee auto` (the default) measures the knee first in the same session: a ramp in ack
//             mode (--ramp rates × --ramp-secs); the knee is the highest offered rate whose sustained
//             throughput is >= 95 % of offered with event p99 < 200 ms;
//   stalls    at --stall-rate calls/s, SIGSTOP the primary for --stall-ms (60 % of the 400 ms
//             detection) every 3 s for --secs: failovers (must be 0), calls answered, NotPrimary;
//   hang      at --stall-rate calls/s, SIGSTOP the primary for 1.5 s, --runs times: SIGSTOP → backup
//             serving (its 'role changed' to primary), then SIGCONT and wait for the pair to recover;
//   kill      the same with kill -9 (the killed server is restarted and rejoins).
// Writes the results with the command to --out (default a temp file), their figures beside it as JSON
// (<out>.json, kind 'stability') and their charts in charts/ beside it (knee ramp; signal → serving per
// fault: scripts/lib/charts.mjs); with --write, also as the section "## Stability" of docs/benchmarks.md
// (kept by `npm run bench`, which rewrites the rest), docs/results/stability.json and docs/charts/.
// Prints a progress line per step and every 10 s of a long one (part, offered rate, elapsed).
import { parseArgs } from 'node:util';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './lib/procs.mjs';
import { startSystem, benchConfig } from './lib/system.mjs';
import { forkWorker } from './lib/workers.mjs';
import { loadStep } from './lib/load-step.mjs';
import { fmt, pct, sleep } from './lib/stats.mjs';
import { machineInfo, STABILITY_HEADING } from './lib/bench-report.mjs';
import { upsertSection } from './lib/chaos-report.mjs';
import { chartImage, writeCharts } from './lib/charts.mjs';
import { clock, withProgress } from './lib/bench-progress.mjs';

const USAGE = 'usage: node scripts/bench-stability.mjs [--scenarios overload,stalls,hang,kill] [--knee auto|N] [--ramp 250,500,750,1000,1250] [--ramp-secs 15] [--warmup-secs 5] [--rate N] [--secs 60] [--runs 5] [--desktops 800] [--stall-rate 200] [--stall-ms 240] [--hang-runs 20] [--out FILE] [--write]\n  --out FILE: the results (markdown) there (default: a temp file, printed), their figures in FILE.json (.md dropped) and charts in charts/ beside it; --write: also as the section "## Stability" of docs/benchmarks.md, docs/results/stability.json and docs/charts/';
let a;
try {
  ({ values: a } = parseArgs({
    options: {
      scenarios: { type: 'string', default: 'overload,stalls,hang,kill' },
      knee: { type: 'string', default: 'auto' },
      ramp: { type: 'string', default: '250,500,750,1000,1250' },
      'ramp-secs': { type: 'string', default: '15' },
      'warmup-secs': { type: 'string', default: '5' },
      rate: { type: 'string' },
      secs: { type: 'string', default: '60' },
      runs: { type: 'string', default: '5' },
      desktops: { type: 'string', default: '800' },
      'stall-rate': { type: 'string', default: '200' },
      'stall-ms': { type: 'string', default: '240' },
      'hang-runs': { type: 'string', default: '20' },
      out: { type: 'string' },
      write: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (a.help) { console.log(USAGE); process.exit(0); }

const autoKnee = a.knee === 'auto';
if (!autoKnee && !(Number(a.knee) > 0)) { console.error(`--knee must be "auto" or a rate in calls/s\n${USAGE}`); process.exit(2); }
/** Set by the ramp when --knee auto (before the overload runs), else given. */
let knee = autoKnee ? undefined : Number(a.knee);
const o = {
  scenarios: a.scenarios.split(','), rate: a.rate === undefined ? undefined : Number(a.rate), secs: Number(a.secs), runs: Number(a.runs),
  ramp: a.ramp.split(',').map(Number), rampSecs: Number(a['ramp-secs']), warmupSecs: Number(a['warmup-secs']),
  desktops: Number(a.desktops), stallRate: Number(a['stall-rate']), stallMs: Number(a['stall-ms']), hangRuns: Number(a['hang-runs']),
};
const command = `node scripts/bench-stability.mjs ${process.argv.slice(2).join(' ')}`.trim();
const log = (s) => console.log(`[stability ${new Date().toISOString().slice(11, 19)}] ${s}`);
const runStartedAt = Date.now();
/** loadStep with a progress line at its start and every 10 s. */
const step = (what, args) => withProgress(log, { what, rate: args.rate, stepMs: args.ms, runStartedAt }, () => loadStep(args));

/** Promotions seen in both servers' logs since `marks` (each 'role changed' to primary). */
function promotionsSince(sys, marks) {
  const out = [];
  for (const s of Object.values(sys.servers)) {
    for (const l of s.proc.lines.slice(marks[s.name] ?? 0)) if (l.msg === 'role changed' && l.to === 'primary') out.push({ server: s.name, time: Date.parse(l.time), epoch: l.epoch, reason: l.reason });
  }
  return out;
}
const mark = (sys) => Object.fromEntries(Object.values(sys.servers).map((s) => [s.name, s.proc.lines.length]));

async function withLoad(fn) {
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-stability-'));
  log(`  process logs in ${logDir}`);
  const sys = await startSystem({ mode: 'ack', config: benchConfig({ tserver: {} }), log, logDir });
  const desk = forkWorker('desktops.mjs');
  const caller = forkWorker('caller.mjs');
  try {
    const primary = await sys.primary();
    await caller.call('setup', { address: sys.sw.address });
    await desk.call('setup', { url: primary.url, dns: Array.from({ length: o.desktops }, (_, i) => String(5000 + i)), queue: '7000', routePoint: '8000', talkMs: 200 });
    return await fn({ sys, primary, desk, caller });
  } finally {
    await desk.close();
    await caller.close();
    await sys.stop();
  }
}

/** The knee: the highest offered rate whose sustained throughput is >= 95 % of offered with event p99 < 200 ms. */
const KNEE_RULE = { sustainedShare: 0.95, p99Ms: 200 };

/** --knee auto: a ramp in ack mode on one system, stopped at the first step that misses the rule. */
async function measureKnee() {
  log(`knee: ramp ${o.ramp.join(', ')} calls/s × ${o.rampSecs} s after ${o.warmupSecs} s of warm-up at ${o.ramp[0]}/s, ack mode, ${o.desktops} desktops`);
  return withLoad(async ({ sys, primary, desk, caller }) => {
    // A cold pair (JIT, 800 fresh desktops) is slower for its first seconds: warm it up, not counted.
    if (o.warmupSecs > 0) await step('knee ramp warm-up', { sys, primary, desk, caller, rate: o.ramp[0], ms: o.warmupSecs * 1000, prefix: '29', talkMs: 200 });
    const steps = [];
    for (const [i, rate] of o.ramp.entries()) {
      const m = mark(sys);
      const s = await step(`knee ramp step ${i + 1}/${o.ramp.length}`, { sys, primary, desk, caller, rate, ms: o.rampSecs * 1000, prefix: `3${i}`, talkMs: 200 });
      const ok = s.sustained >= KNEE_RULE.sustainedShare * rate && s.event.p99 < KNEE_RULE.p99Ms;
      const step = { rate, sustained: s.sustained, p99: s.event.p99, gapped: s.callFailures.Congestion ?? 0, requestErrors: s.requestErrors, failovers: promotionsSince(sys, m).length, ok };
      steps.push(step);
      log(`  ${rate}/s: sustained ${fmt(s.sustained)}/s (${fmt(100 * s.sustained / rate)} %), event p99 ${fmt(s.event.p99)} ms, gapped ${step.gapped}, request errors ${JSON.stringify(s.requestErrors)}${ok ? '' : ' -> past the knee'}`);
      if (!ok) break;
    }
    const best = steps.filter((x) => x.ok).pop();
    return { steps, knee: best?.rate, rule: KNEE_RULE };
  });
}

async function overload() {
  const runs = [];
  for (let i = 0; i < o.runs; i++) {
    log(`overload run ${i + 1}/${o.runs}: ${o.rate} calls/s (${fmt(o.rate / knee, 2)} × knee ${knee}) for ${o.secs} s, ${o.desktops} desktops`);
    runs.push(await withLoad(async ({ sys, primary, desk, caller }) => {
      const m = mark(sys);
      const s = await step(`overload run ${i + 1}/${o.runs}`, { sys, primary, desk, caller, rate: o.rate, ms: o.secs * 1000, prefix: `5${i}`, talkMs: 200 });
      // Requests still without an answer when the window closed are in flight behind the backlog the
      // overload left: wait for them (up to 30 s); what never gets an answer is lost.
      const drainStart = Date.now();
      let left = s.unanswered;
      while (left > 0 && Date.now() - drainStart < 30_000) {
        await sleep(250);
        left = (await desk.call('unanswered')).unanswered;
      }
      s.unansweredAtEnd = s.unanswered;
      s.unanswered = left;
      s.drainMs = Date.now() - drainStart;
      const failovers = promotionsSince(sys, m).length;
      const gapped = s.callFailures.Congestion ?? 0;
      const callFailures = Object.fromEntries(Object.entries(s.callFailures).filter(([k]) => k !== 'Congestion'));
      log(`  sustained ${fmt(s.sustained)}/s (${fmt(100 * s.sustained / knee)} % of the knee), failovers ${failovers}, offered ${s.offered}, gapped (Congestion) ${gapped}${Object.keys(callFailures).length ? `, other call failures ${JSON.stringify(callFailures)}` : ''}, request errors ${JSON.stringify(s.requestErrors)}, Overloaded retries ${s.overloadedRetries}, unanswered at the end of the window ${s.unansweredAtEnd}, never answered ${s.unanswered} (waited ${s.drainMs} ms), event p99 ${fmt(s.event.p99)} ms, loop p99 ${fmt(s.loopP99)} ms, cpu ${Object.entries(s.cpu).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(' ')}`);
      return { cpu: s.cpu, sustained: s.sustained, offered: s.offered, gapped, callFailures, failovers, errors: s.requestErrors, retries: s.overloadedRetries, unanswered: s.unanswered, unansweredAtEnd: s.unansweredAtEnd, drainMs: s.drainMs, p99: s.event.p99, loopP99: s.loopP99 };
    }));
  }
  return runs;
}

async function stalls() {
  log(`stalls: ${o.stallRate} calls/s, SIGSTOP ${o.stallMs} ms every 3 s for ${o.secs} s`);
  return withLoad(async ({ sys, primary, desk, caller }) => {
    const m = mark(sys);
    let n = 0;
    const during = async () => {
      const end = Date.now() + o.secs * 1000 - 3000;
      while (Date.now() < end) {
        await sleep(3000 - o.stallMs);
        primary.proc.signal('SIGSTOP');
        await sleep(o.stallMs);
        primary.proc.signal('SIGCONT');
        n++;
      }
    };
    const s = await step('stalls', { sys, primary, desk, caller, rate: o.stallRate, ms: o.secs * 1000, prefix: '60', talkMs: 200, during });
    const failovers = promotionsSince(sys, m).length;
    const r = { stalls: n, failovers, offered: s.offered, rings: s.rings, answered: s.rings / Math.max(1, s.offered), notPrimary: s.errors.NotPrimary ?? 0, errors: s.errors, unanswered: s.unanswered, p99: s.event.p99 };
    log(`  ${n} stalls: failovers ${failovers}, answered ${fmt(100 * r.answered)} %, NotPrimary ${r.notPrimary}, errors ${JSON.stringify(s.errors)}`);
    return r;
  });
}

async function faults(kind) {
  log(`${kind}: ${o.hangRuns} runs at ${o.stallRate} calls/s`);
  return withLoad(async ({ sys, caller }) => {
    const times = [];
    const load = caller.call('run', { rate: o.stallRate, ms: (o.hangRuns + 1) * 6000, dnis: '8000', prefix: kind === 'hang' ? '70' : '80' });
    for (let i = 0; i < o.hangRuns; i++) {
      const primary = await sys.primary();
      const backup = Object.values(sys.servers).find((s) => s !== primary);
      await sys.inSync();
      await sleep(500);
      const m = mark(sys);
      const t0 = Date.now();
      primary.proc.signal(kind === 'hang' ? 'SIGSTOP' : 'SIGKILL');
      const l = await backup.proc.waitFor((x) => x.msg === 'role changed' && x.to === 'primary' && Date.parse(x.time) >= t0 - 5, 10_000, 'promotion');
      times.push(Date.parse(l.time) - t0);
      if (kind === 'hang') { await sleep(1500 - (Date.now() - t0)); primary.proc.signal('SIGCONT'); } else { await primary.proc.exited; await sys.start(primary.name); }
      const extra = promotionsSince(sys, m).length - 1;
      log(`  run ${i + 1}/${o.hangRuns}: backup serving ${times.at(-1)} ms after ${kind === 'hang' ? 'SIGSTOP' : 'kill -9'}${extra ? `, ${extra} extra failover(s)` : ''} (elapsed ${clock(Date.now() - runStartedAt)})`);
    }
    await load.catch(() => undefined);
    return { runs: times.length, p50: pct(times, 50), p99: pct(times, 99), max: Math.max(...times), times };
  });
}

/** kind: the results file's type for scripts/lib/charts.mjs. */
const results = { kind: 'stability', command, machine: machineInfo(), started: new Date().toISOString(), knee, o };
for (const sc of o.scenarios) {
  if (sc === 'overload') {
    if (autoKnee) {
      results.kneeRamp = await measureKnee();
      knee = results.kneeRamp.knee;
      if (knee === undefined) { log(`no ramp step met the knee rule (>= ${100 * KNEE_RULE.sustainedShare} % sustained, p99 < ${KNEE_RULE.p99Ms} ms): no overload runs`); continue; }
      log(`knee: ${knee} calls/s`);
    }
    o.rate ??= 2 * knee;
    results.knee = knee;
    results.overload = await overload();
  }
  else if (sc === 'stalls') results.stalls = await stalls();
  else if (sc === 'hang' || sc === 'kill') results[sc] = await faults(sc);
  else { console.error(`unknown scenario ${sc}\n${USAGE}`); process.exit(2); }
}

// The results file beside the markdown, then the charts drawn from it (through JSON, as a redraw with
// `node scripts/charts.mjs` would), which the markdown shows.
const out = a.out ?? join(mkdtempSync(join(tmpdir(), 'tandem-stability-')), 'stability.md');
const resultsFile = `${out.replace(/\.md$/, '')}.json`;
writeFileSync(resultsFile, JSON.stringify(results, null, 1) + '\n');
let charts = [];
try {
  charts = writeCharts(JSON.parse(JSON.stringify(results)), join(dirname(out), 'charts'), resultsFile);
} catch (err) {
  log(`charts not drawn: ${err.message}`);
}
const image = (file) => charts.filter((c) => c.file === file).flatMap((c) => [chartImage(c), '']);
const md = [STABILITY_HEADING, '', `Command: \`${command}\` (${results.started}; ${results.machine.nproc} × ${results.machine.model}, load average at start ${results.machine.loadavg.map((x) => x.toFixed(1)).join(" ")})`, ''];
if (results.kneeRamp) {
  md.push(`### Knee (measured in this session): ramp ${o.ramp.join(', ')} calls/s × ${o.rampSecs} s after ${o.warmupSecs} s of warm-up, ack mode`, '',
    `The knee is the highest offered rate whose sustained throughput (calls that rang an agent in the step, per second) is ≥ ${100 * KNEE_RULE.sustainedShare} % of offered with event p99 < ${KNEE_RULE.p99Ms} ms; the ramp stops at the first step that misses it. **Knee: ${results.kneeRamp.knee ?? 'none'} calls/s.**`, '',
    ...image('stability-knee.svg'),
    '| offered calls/s | sustained calls/s | % of offered | event p99 ms | gapped (Congestion) | request errors | failovers | within the rule |', '|---|---|---|---|---|---|---|---|');
  for (const x of results.kneeRamp.steps) md.push(`| ${x.rate} | ${fmt(x.sustained)} | ${fmt(100 * x.sustained / x.rate)} | ${fmt(x.p99)} | ${x.gapped} | ${Object.entries(x.requestErrors).map(([k, v]) => `${k} ${v}`).join(', ') || '0'} | ${x.failovers} | ${x.ok ? 'yes' : 'no'} |`);
  md.push('');
}
if (results.overload) {
  md.push(`### Overload: ${o.rate} calls/s offered (${fmt(o.rate / knee, 2)} × knee ${knee}) for ${o.secs} s, ${o.desktops} desktops, ack mode`, '',
    'New calls gapped at the switch (answered `Congestion` by overload control before they exist) are counted apart from the answers to desktop requests.', '',
    '| run | sustained calls/s | % of knee | unplanned failovers | calls offered | gapped (Congestion) | Overloaded answers (retried) | NotPrimary | other request errors | in flight at the end (answered within) | never answered | event p99 ms |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
  results.overload.forEach((r, i) => {
    const other = Object.entries(r.errors).filter(([k]) => k !== 'Overloaded' && k !== 'NotPrimary').map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    const callOther = Object.entries(r.callFailures).map(([k, v]) => `calls ${k} ${v}`).join(', ');
    md.push(`| ${i + 1} | ${fmt(r.sustained)} | ${fmt(100 * r.sustained / knee)} | ${r.failovers} | ${r.offered} | ${r.gapped} | ${r.errors.Overloaded ?? 0} (${r.retries}) | ${r.errors.NotPrimary ?? 0} | ${[other === '0' ? '' : other, callOther].filter(Boolean).join(', ') || '0'} | ${r.unansweredAtEnd} (${fmt(r.drainMs / 1000)} s) | ${r.unanswered} | ${fmt(r.p99)} |`);
  });
  md.push('');
}
if (results.stalls) {
  const s = results.stalls;
  md.push(`### Stalls: SIGSTOP ${o.stallMs} ms of the primary every 3 s for ${o.secs} s at ${o.stallRate} calls/s`, '', '| stalls | failovers | calls offered | calls answered | answered % | NotPrimary | unanswered | event p99 ms |', '|---|---|---|---|---|---|---|---|',
    `| ${s.stalls} | ${s.failovers} | ${s.offered} | ${s.rings} | ${fmt(100 * s.answered)} | ${s.notPrimary} | ${s.unanswered} | ${fmt(s.p99)} |`, '');
}
// The chart of both faults' runs under the first of their headings.
let failoverChart = image('stability-failover.svg');
for (const k of ['hang', 'kill']) {
  const r = results[k];
  if (!r) continue;
  md.push(`### ${k === 'hang' ? 'Hang (SIGSTOP 1.5 s)' : 'kill -9'} at ${o.stallRate} calls/s: signal → backup serving`, '', ...failoverChart, '| runs | p50 ms | p99 ms | max ms |', '|---|---|---|---|', `| ${r.runs} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} |`, '', `All runs (ms): ${r.times.join(', ')}`, '');
  failoverChart = [];
}
writeFileSync(out, md.join('\n'));
log(`results written to ${out} and ${resultsFile}${charts.length ? `, charts ${charts.map((c) => c.path).join(', ')}` : ''}`);
if (a.write) {
  upsertSection(join(ROOT, 'docs', 'benchmarks.md'), md.join('\n'), STABILITY_HEADING);
  const docsResults = join(ROOT, 'docs', 'results', 'stability.json');
  mkdirSync(dirname(docsResults), { recursive: true });
  writeFileSync(docsResults, JSON.stringify(results, null, 1) + '\n');
  if (charts.length) writeCharts(JSON.parse(JSON.stringify(results)), join(ROOT, 'docs', 'charts'), docsResults);
  log('and to docs/benchmarks.md (section "Stability"), docs/results/stability.json, docs/charts/');
}
// Failures (exit 1): a failover or an unanswered request while overloaded or stalled, NotPrimary from
// the stalled primary; under overload also less than 90 % of the knee sustained, or a request error
// other than Overloaded, or a call refused with anything but Congestion.
const failures = [
  ...(autoKnee && o.scenarios.includes('overload') && results.knee === undefined ? ['overload: no knee measured'] : []),
  ...(results.overload ?? []).flatMap((r, i) => [r.failovers ? `overload run ${i + 1}: ${r.failovers} failover(s)` : '', r.unanswered ? `overload run ${i + 1}: ${r.unanswered} unanswered` : '',
    r.sustained < 0.9 * knee ? `overload run ${i + 1}: sustained ${fmt(100 * r.sustained / knee)} % of the knee (< 90 %)` : '',
    Object.keys(r.errors).some((k) => k !== 'Overloaded') ? `overload run ${i + 1}: request errors other than Overloaded ${JSON.stringify(r.errors)}` : '',
    Object.keys(r.callFailures).length ? `overload run ${i + 1}: calls refused other than Congestion ${JSON.stringify(r.callFailures)}` : '']),
  ...(results.stalls ? [results.stalls.failovers ? `stalls: ${results.stalls.failovers} failover(s)` : '', results.stalls.notPrimary ? `stalls: ${results.stalls.notPrimary} NotPrimary` : ''] : []),
].filter(Boolean);
console.log(failures.length ? `STABILITY FAIL: ${failures.join('; ')}` : 'STABILITY PASS');
process.exit(failures.length ? 1 : 0);

#!/usr/bin/env node
// `npm run bench:sip`: the SIP switch against the simulator, one workload, one run (issue 13 item 9).
// Each side is a switch and the A/B pair in ack mode as real processes, `--agents` agent desktops on
// the SDK (scripts/lib/sdk-desktops.mjs: logged in to queue 7000, Ready; each answers its EventRinging
// with RequestAnswerCall, talks `--talk-ms`, releases) and the router of route point 8000. Each call:
// trunk → route point 8000 → EventRouteRequest → RequestRouteCall to queue 7000 → ACD → the agent's
// phone rings → RequestAnswerCall → talk → RequestReleaseCall.
//  - SIP side (`tandem switch --sip`): SIPp callers (scripts/sip/bench-caller.xml, `-r <rate>`) send
//    INVITEs to 8000; one SIPp UAS (bench-phone.xml) is the phone of every agent DN (each DN
//    registered with its Contact at that port); RequestAnswerCall reaches it as NOTIFY Event: talk.
//    Setup latency: the caller's INVITE sent → the agent phone's INVITE taken, its 180 sent in the
//    same pass (both SIPp's own [timestamp] log lines, joined by the caller's ANI, which the switch's
//    INVITE carries as From).
//    A call completed = SIPp counted it successful at both ends (the scenario fails on any
//    unexpected message or a 30 s silence).
//  - Simulator side: Simulate InboundCall on a switch link (scripts/lib/caller.mjs) at the same rate;
//    setup latency: InboundCall sent → the switch's DELIVERED at the agent's extension (the moment the
//    SIP switch sends its INVITE to the phone). A call completed = released by its desktop.
// Steps of `--step-s` seconds at each of `--rates`; every (side, rate) is measured in each of `--runs`
// runs and the median reported. Then `--kill-runs` SIP runs at `--kill-rate` where the primary
// T-Server gets SIGKILL mid-load: every SIPp call must complete (0 dropped).
// Writes the results (kind 'sip', scripts/lib/charts.mjs) and sip-latency.svg; --write adds the
// section to docs/benchmarks.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseScriptArgs } from './lib/cli-args.mjs';
import { startSystem, benchConfig, QUEUE, ROUTE_POINT } from './lib/system.mjs';
import { forkWorker } from './lib/workers.mjs';
import { ROOT, freePort } from './lib/procs.mjs';
import { pct, fmt, table, sleep, median } from './lib/stats.mjs';
import { machineInfo, SIP_HEADING } from './lib/bench-report.mjs';
import { upsertSection } from './lib/chaos-report.mjs';
import { writeCharts, chartImage } from './lib/charts.mjs';
import { startSipp, latencies } from './lib/sipp.mjs';

const USAGE = 'usage: node scripts/bench-sip.mjs [--rates 10,25,50,100,150,200] [--step-s 10] [--agents 150] [--talk-ms 500] [--runs 3] [--sides sim,sip] [--kill-rate 20] [--kill-s 16] [--kill-runs 3] [--out docs/results/sip.json] [--charts docs/charts] [--write docs/benchmarks.md] [--log-dir DIR]';
const { values: a } = parseScriptArgs('bench-sip', USAGE, {
  options: {
    rates: { type: 'string', default: '10,25,50,100,150,200' },
    'step-s': { type: 'string', default: '10' },
    agents: { type: 'string', default: '150' },
    'talk-ms': { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    sides: { type: 'string', default: 'sim,sip' },
    'kill-rate': { type: 'string', default: '20' },
    'kill-s': { type: 'string', default: '16' },
    'kill-runs': { type: 'string', default: '3' },
    out: { type: 'string', default: join(ROOT, 'docs', 'results', 'sip.json') },
    charts: { type: 'string', default: join(ROOT, 'docs', 'charts') },
    write: { type: 'string' },
    'log-dir': { type: 'string' },
  },
});
const o = {
  rates: a.rates.split(',').map(Number), stepS: Number(a['step-s']), agents: Number(a.agents), talkMs: Number(a['talk-ms']),
  runs: Number(a.runs), sides: a.sides.split(','), killRate: Number(a['kill-rate']), killS: Number(a['kill-s']), killRuns: Number(a['kill-runs']),
};
for (const s of o.sides) if (!['sim', 'sip'].includes(s)) { console.error(`bench-sip: unknown side ${s} (sim, sip)\n${USAGE}`); process.exit(2); }
for (const [k, v] of Object.entries(o)) if (typeof v === 'number' && !(v >= 0)) { console.error(`bench-sip: --${k} must be a number\n${USAGE}`); process.exit(2); }
if (o.rates.some((r) => !(r > 0))) { console.error(`bench-sip: --rates must be positive numbers\n${USAGE}`); process.exit(2); }

const started = new Date();
const log = (s) => console.log(`[bench-sip ${new Date().toISOString().slice(11, 19)}] ${s}`);
const now = () => performance.timeOrigin + performance.now();
const FIRST_DN = 5000;
const dns = Array.from({ length: o.agents }, (_, i) => String(FIRST_DN + i));

/** Polls until `pred()` is true (resolves true) or `timeoutMs` passed (false). */
async function until(pred, timeoutMs, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

const summary = (ms) => ({ n: ms.length, p50: pct(ms, 50), p99: pct(ms, 99), max: ms.length ? Math.max(...ms) : NaN });

let systems = 0;

/** One side's system: the pair, the desktops (and on the simulator the callers' switch link). */
async function startSide(side) {
  const config = benchConfig({ tserver: {} });
  // --log-dir: each process's log lines in <dir>/<side>-<n>/{switch,tserver-A,tserver-B}.log (to find why a call dropped).
  let logDir;
  if (a['log-dir']) { logDir = join(a['log-dir'], `${side}-${++systems}`); mkdirSync(logDir, { recursive: true }); }
  const sys = await startSystem({ mode: 'ack', config, switchArgs: side === 'sip' ? ['--sip', '--sip-port', '0'] : [], log, logDir });
  if (!sys.haWorks) throw new Error('the pair never reported in sync');
  const env = { sys, side };
  if (side === 'sip') {
    const readyLine = sys.sw.proc.lines.find((l) => l.msg === 'ready');
    env.target = `127.0.0.1:${readyLine.ports.sip}`;
    env.phonePort = await freePort();
    env.phoneMedia = await freePort();
    // The registrations: one SIPp run, one REGISTER per agent DN (from an -inf file).
    const inf = join(sys.config, '..', 'agents.csv');
    writeFileSync(inf, `SEQUENTIAL\n${dns.join('\n')}\n`);
    const reg = startSipp({ scenario: 'bench-register.xml', target: env.target, port: await freePort(), mediaPort: await freePort(),
      args: ['-inf', inf, '-m', String(dns.length), '-r', '200'], keys: { contact_port: env.phonePort }, timeoutS: 30 });
    const code = await reg.wait(40_000);
    if (code !== 0) throw new Error(`registering the agent phones failed (exit ${code}):\n${reg.output()}`);
  } else {
    env.caller = forkWorker('caller.mjs');
    await env.caller.call('setup', { address: sys.sw.address, extLo: FIRST_DN, extHi: FIRST_DN + o.agents - 1 });
  }
  env.desk = forkWorker('sdk-desktops.mjs');
  await env.desk.call('setup', { urls: sys.urls, queue: QUEUE, routePoint: ROUTE_POINT, talkMs: o.talkMs, requestTimeoutMs: 15_000, router: true, dns });
  env.stop = async () => {
    await env.desk.close();
    await env.caller?.close();
    await sys.stop();
  };
  return env;
}

/** The serving primary's name (A or B). */
async function primaryName(sys) { return (await sys.primary(15_000)).name; }

/**
 * One SIP step: SIPp callers at `rate` for `seconds` and the phones' UAS for exactly those calls.
 * With `killAtMs`, the primary gets SIGKILL that long after the first INVITE.
 */
async function sipStep(env, rate, seconds, killAtMs) {
  const calls = Math.round(rate * seconds);
  const d0 = await env.desk.call('collect');
  const phones = startSipp({ scenario: 'bench-phone.xml', target: env.target, port: env.phonePort, mediaPort: env.phoneMedia,
    // -aa: a retransmitted NOTIFY that arrives after the phone moved on gets a 200, not a failed call.
    args: ['-m', String(calls), '-recv_timeout', '30000', '-aa'], timeoutS: seconds + 120 });
  await sleep(300); // the UAS binds its port before the first INVITE can reach it
  const callers = startSipp({ scenario: 'bench-caller.xml', target: env.target, port: await freePort(), mediaPort: await freePort(),
    args: ['-s', ROUTE_POINT, '-r', String(rate), '-m', String(calls), '-l', '100000', '-recv_timeout', '30000'],
    keys: { ani: '4155' }, timeoutS: seconds + 120 });
  const t0 = now();
  let kill;
  if (killAtMs !== undefined) {
    kill = (async () => {
      await sleep(killAtMs);
      const victim = await primaryName(env.sys);
      const survivor = victim === 'A' ? 'B' : 'A';
      env.sys.servers[victim].proc.signal('SIGKILL');
      log(`SIGKILL to the primary ${victim} ${fmt((now() - t0) / 1000)} s into the load`);
      const ok = await until(async () => (await primaryName(env.sys).catch(() => '')) === survivor, 30_000);
      return { victim, survivor, promoted: ok, atMs: now() - t0 };
    })();
  }
  const callerCode = await callers.wait((seconds + 150) * 1000);
  const phoneCode = await phones.wait(20_000);
  const wallMs = now() - t0;
  const cs = callers.stats(), ps = phones.stats();
  const marks = { ...callers.marks(), ...phones.marks() };
  const lat = latencies(marks.inv, marks.ring);
  const inv = [...(marks.inv?.values() ?? [])];
  const first = Math.min(...inv), lastRing = Math.max(...inv, ...(marks.ring?.values() ?? []));
  // First INVITE to the last INVITE or ring, whichever is later, plus one interval: the time the calls
  // took to reach agents (SIPp lags behind -r when short of CPU; a backlog makes the rings trail).
  const spanS = inv.length > 1 ? (lastRing - first) / 1000 + 1 / rate : seconds;
  const d1 = await env.desk.call('collect');
  const gapped = marks.gap?.size ?? 0;
  const completed = Math.min(cs.successful - gapped, ps.successful);
  const step = {
    rate, calls, callerExit: callerCode, phoneExit: phoneCode,
    callers: cs, phones: ps,
    // A gapped call (503 from the overload gate) ends successfully for SIPp: it is neither completed nor dropped.
    gapped, completed, failed: calls - gapped - completed,
    sustained: completed / spanS, spanS, wallMs,
    setup: summary(lat.ms), noRing: lat.missing,
    requests: requestDiff(d0, d1),
    ...(kill ? { kill: await kill } : {}),
  };
  if (callerCode !== 0 || phoneCode !== 0) step.sippOutput = `${callers.output()}\n---\n${phones.output()}`.slice(-6000);
  return step;
}

/** One simulator step: Simulate InboundCall at `rate` for `seconds`; waits until every call was released. */
async function simStep(env, rate, seconds) {
  await env.caller.call('collect');
  const d0 = await env.desk.call('collect');
  const t0 = now();
  const sent = await env.caller.call('run', { rate, ms: seconds * 1000, dnis: ROUTE_POINT, prefix: '44' });
  // InboundCall answered with an error (the overload gate: Overloaded) made no call: only the others get released.
  let c;
  const released = await until(async () => {
    c = await env.caller.call('collect', { keep: true });
    return (await env.desk.call('collect')).released - d0.released >= sent.sent - c.failed;
  }, 60_000, 200);
  const wallMs = now() - t0;
  c = await env.caller.call('collect');
  const d1 = await env.desk.call('collect');
  const ms = [];
  let noRing = 0, first = Infinity, last = 0;
  for (let i = 0; i < c.records.length; i += 3) {
    first = Math.min(first, c.records[i + 1]);
    last = Math.max(last, c.records[i + 1], c.records[i + 2]);
    if (c.records[i + 2] > 0) ms.push(c.records[i + 2] - c.records[i + 1]);
    else noRing++; // gapped, or never reached an agent
  }
  const spanS = c.records.length > 3 ? (last - first) / 1000 + 1 / rate : sent.ms / 1000;
  const completed = d1.released - d0.released;
  const gapped = c.failures.Overloaded ?? 0;
  return {
    rate, calls: sent.sent, gapped, completed, failed: sent.sent - gapped - completed, refusals: c.failures, allReleased: released,
    sustained: completed / spanS, spanS, wallMs,
    setup: summary(ms), noRing, requests: requestDiff(d0, d1),
  };
}

function requestDiff(d0, d1) {
  const diff = (x, y) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v - (y[k] ?? 0)]).filter(([, v]) => v !== 0));
  return { sent: d1.sent - d0.sent, answered: d1.answered - d0.answered, pending: d1.pending, refused: diff(d1.refused, d0.refused), lost: diff(d1.lost, d0.lost) };
}

const lostCount = (r) => Object.values(r.lost).reduce((s, v) => s + v, 0) + r.pending;

async function main() {
  const res = { kind: 'sip', command: `node scripts/bench-sip.mjs ${process.argv.slice(2).join(' ')}`.trim(), started, machine: machineInfo(), opts: o, runs: [], kills: [] };
  for (let r = 1; r <= o.runs; r++) {
    const run = { run: r, sides: {} };
    for (const side of o.sides) {
      log(`run ${r}/${o.runs}: ${side} side starting`);
      const env = await startSide(side);
      const steps = [];
      try {
        for (const rate of o.rates) {
          const s = side === 'sip' ? await sipStep(env, rate, o.stepS) : await simStep(env, rate, o.stepS);
          steps.push(s);
          log(`run ${r} ${side} ${rate}/s: ${s.completed}/${s.calls} completed, ${s.gapped} gapped, ${s.failed} dropped, sustained ${fmt(s.sustained)}/s, setup p50 ${fmt(s.setup.p50)} p99 ${fmt(s.setup.p99)} ms, requests lost ${lostCount(s.requests)}${s.sippOutput ? `\n${s.sippOutput}` : ''}`);
        }
      } finally {
        await env.stop();
      }
      run.sides[side] = steps;
    }
    res.runs.push(run);
  }
  if (o.sides.includes('sip')) {
    for (let k = 1; k <= o.killRuns; k++) {
      log(`kill run ${k}/${o.killRuns}: SIP side at ${o.killRate}/s for ${o.killS} s, SIGKILL of the primary at ${o.killS / 2} s`);
      const env = await startSide('sip');
      try {
        const s = await sipStep(env, o.killRate, o.killS, (o.killS / 2) * 1000);
        res.kills.push(s);
        log(`kill run ${k}: ${s.completed}/${s.calls} completed, ${s.gapped} gapped, ${s.failed} dropped (SIPp exit ${s.callerExit}/${s.phoneExit}), promoted ${s.kill.promoted}, requests lost ${lostCount(s.requests)}${s.sippOutput ? `\n${s.sippOutput}` : ''}`);
      } finally {
        await env.stop();
      }
    }
  }
  res.finished = new Date();
  res.medians = medians(res);
  mkdirSync(dirname(a.out), { recursive: true });
  writeFileSync(a.out, JSON.stringify(res, null, 1));
  const charts = writeCharts(JSON.parse(JSON.stringify(res)), a.charts, a.out);
  const section = markdown(res, charts);
  console.log(`\n${section}`);
  if (a.write) upsertSection(a.write, section, SIP_HEADING);
  const dropped = res.kills.reduce((s, k) => s + k.failed, 0);
  if (dropped > 0) { log(`${dropped} SIP calls dropped in the kill runs`); process.exitCode = 1; }
}

/** Per side and rate: medians over the runs; failures summed. */
function medians(res) {
  const out = {};
  for (const side of o.sides) {
    out[side] = o.rates.map((rate) => {
      const st = res.runs.map((r) => r.sides[side]?.find((s) => s.rate === rate)).filter(Boolean);
      return {
        rate, runs: st.length,
        sustained: median(st.map((s) => s.sustained)),
        p50: median(st.map((s) => s.setup.p50)), p99: median(st.map((s) => s.setup.p99)),
        failed: st.reduce((n, s) => n + s.failed, 0), gapped: st.reduce((n, s) => n + s.gapped, 0), calls: st.reduce((n, s) => n + s.calls, 0),
        lost: st.reduce((n, s) => n + lostCount(s.requests), 0),
      };
    });
  }
  return out;
}

/** The highest rate whose every run completed every call (none gapped or dropped) with setup p99 under a second. */
const maxSustained = (rows) => rows.filter((r) => r.failed === 0 && r.gapped === 0 && r.p99 < 1000).pop();

function markdown(res, charts) {
  const m = res.machine;
  const rel = (p) => relative(ROOT, p);
  const lines = [SIP_HEADING, '',
    `Produced by \`npm run bench:sip -- --write docs/benchmarks.md\` (${res.command}), ${res.started.toISOString()}, took ${fmt((res.finished - res.started) / 60000, 1)} min; results in \`${rel(a.out)}\`.`,
    `Machine: ${m.nproc} × ${m.model}, Node ${m.node}; load average at the start ${m.loadavg.map((v) => v.toFixed(2)).join(' / ')}. The switch, both T-Servers, SIPp and the desktops share the two cores.`, '',
    `- **Workload (both sides):** the pair in ack mode; ${o.agents} agent desktops on the SDK (DNs ${FIRST_DN}–${FIRST_DN + o.agents - 1}, queue 7000, Ready) answer every EventRinging with RequestAnswerCall, talk ${o.talkMs} ms and release; a router desktop routes every call at route point 8000 to queue 7000. Steps of ${o.stepS} s at ${o.rates.join(', ')} calls/s; every figure is the median of ${o.runs} runs (failures summed over the runs).`,
    '- **SIP side:** `tandem switch --sip`; SIPp callers (`scripts/sip/bench-caller.xml`, `-r <rate>`) INVITE 8000; one SIPp UAS (`bench-phone.xml`) is the phone of every agent DN (registered by `bench-register.xml`), answered by NOTIFY Event: talk. **Setup latency:** the caller\'s INVITE sent → the agent phone takes the switch\'s INVITE and sends its 180 (SIPp\'s own `[timestamp]` log lines, joined by ANI). A call **completed** when SIPp counted it successful at both ends (SIPp fails a call on any unexpected message or 30 s of silence).',
    '- **Simulator side:** Simulate InboundCall on a switch link at the same rate; **setup latency:** InboundCall sent → the switch\'s DELIVERED at the agent\'s extension (where the SIP switch sends its INVITE to the phone). A call completed when its desktop released it.',
    '- **sustained:** completed calls per second from the first call offered to the last call offered or rung at an agent, whichever came later (a backlog shows as a longer window). **gapped:** refused at the door by the switch\'s overload control (SIP `503` with `Retry-After`; simulator `Overloaded`), by design, nothing created. **dropped:** offered, not gapped, and not completed (summed over the runs).', ''];
  for (const c of charts) lines.push(chartImage(c, rel(a.charts).replace(/^docs\//, '')), '');
  const md = res.medians;
  const rows = o.rates.map((rate, i) => [rate, ...o.sides.flatMap((side) => {
    const x = md[side][i];
    return [x.sustained, x.p50, x.p99, `${x.gapped} / ${x.failed} of ${x.calls}`];
  })]);
  lines.push(table(['offered/s', ...o.sides.flatMap((s) => [`${s} sustained/s`, `${s} setup p50 ms`, `${s} setup p99 ms`, `${s} gapped / dropped`])], rows), '');
  for (const side of o.sides) {
    const best = maxSustained(md[side]);
    lines.push(`- **${side === 'sip' ? 'SIP switch' : 'simulator'}:** highest step with every call completed and setup p99 < 1 s: ${best ? `${best.rate}/s offered, ${fmt(best.sustained)}/s sustained (p50 ${fmt(best.p50)} ms, p99 ${fmt(best.p99)} ms)` : 'none'}; desktop requests lost over all steps: ${md[side].reduce((n, r) => n + r.lost, 0)}.`);
  }
  if (res.kills.length) {
    lines.push('', `**kill -9 of the primary during SIP load** (${o.killRate} calls/s for ${o.killS} s, SIGKILL at ${o.killS / 2} s; ${res.kills.length} runs):`, '',
      table(['run', 'calls', 'completed (callers / phones)', 'gapped', 'dropped', 'SIPp exit (callers / phones)', 'backup promoted', 'setup p50 / p99 / max ms', 'desktop requests lost'],
        res.kills.map((k, i) => [i + 1, k.calls, `${k.callers.successful - k.gapped} / ${k.phones.successful}`, k.gapped, k.failed, `${k.callerExit} / ${k.phoneExit}`, k.kill?.promoted ? 'yes' : 'no',
          `${fmt(k.setup.p50)} / ${fmt(k.setup.p99)} / ${fmt(k.setup.max)}`, lostCount(k.requests)])));
  }
  return lines.join('\n');
}

main().catch((err) => { console.error(err?.stack ?? err); process.exit(1); });

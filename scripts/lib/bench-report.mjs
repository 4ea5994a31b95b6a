// Writes docs/benchmarks.md from one bench run: machine, date, command, a table per measure, and the
// issue's targets with by how much each was met or missed; the charts drawn from the run's results file
// (scripts/lib/charts.mjs) above the tables they draw.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { CHAOS_HEADING, extractSection } from './chaos-report.mjs';

/** Written by `npm run bench:stability -- --write`. */
export const STABILITY_HEADING = '## Stability';
/** Written by `npm run bench:desktops -- --write docs/benchmarks.md`. */
export const DESKTOPS_HEADING = '## 5,000 SDK desktops through a failover';
/** Written by hand from A/B runs (issue 14 items 2 and 3): kept by every `npm run bench`. */
export const CPU_LATENCY_HEADING = '## CPU per call and promotion latency (issue 14)';
/** Written by `npm run bench:sip -- --write docs/benchmarks.md`. */
export const SIP_HEADING = '## SIP switch against the simulator';
import { cpus, totalmem, loadavg } from 'node:os';
import { fmt, table, median } from './stats.mjs';

export function machineInfo() {
  let model = cpus()[0]?.model ?? 'unknown';
  try { model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model; } catch { /* not Linux */ }
  return { nproc: cpus().length, model, ramGiB: totalmem() / 2 ** 30, node: process.version, platform: `${process.platform} ${process.arch}`, loadavg: loadavg() };
}

export const TARGETS = { cps: 1000, p99: 20, ackShare: 0.7, promoteKillMs: 50, promoteStopMs: 1000, resumeMs: 100 };

/** The highest step that kept up (≥ 95 % of the offered rate) with event p99 within the target. */
export function bestStep(mode) {
  return mode?.steps.filter((s) => s.sustained >= 0.95 * s.rate && s.event.p99 <= TARGETS.p99).pop();
}
const maxSustained = (mode) => Math.max(0, ...(mode?.steps ?? []).map((s) => s.sustained));

function verdict(value, target, higherIsBetter) {
  if (value === undefined || Number.isNaN(value)) return 'not measured';
  const ok = higherIsBetter ? value >= target : value <= target;
  const ratio = higherIsBetter ? value / target : target / value;
  return ok ? `met (${fmt(ratio, 2)}× the target)` : `**missed** by ${fmt(Math.abs(value - target))} (${fmt(100 * (higherIsBetter ? value / target : target / value), 0)} % of the target)`;
}

/** A server's CPU µs per call in a step, with its kernel share: "1,458 (272)"; '-' when not measured. */
function usPerCall(s, server) {
  const all = s.cpuUsPerCall?.[server];
  if (all === undefined) return '-';
  const kernel = s.kernelUsPerCall?.[server];
  return kernel === undefined ? fmt(all, 0) : `${fmt(all, 0)} (${fmt(kernel, 0)})`;
}

function modeSection(name, m) {
  if (!m) return `### ${name}\nnot run\n`;
  if (m.skipped) return `### ${name}\nnot measured: ${m.skipped}\n`;
  const rows = m.steps.map((s) => [s.rate, s.sustained, `${fmt(100 * s.completedShare, 0)} %`, s.event.p50, s.event.p99, s.event.max, s.setup.p50, s.setup.p99, s.answer.p50, s.answer.p99,
    s.loopP99, fmt(s.cpu.primary, 2), s.cpu.backup === undefined ? '-' : fmt(s.cpu.backup, 2),
    usPerCall(s, 'primary'), usPerCall(s, 'backup'), fmt(s.cpu.switch, 2), fmt((s.cpu.desktops ?? 0) + (s.cpu.caller ?? 0), 2),
    s.syncLag.length ? Object.entries(s.syncLag.at(-1)).map(([k]) => `${k} ${fmt(median(s.syncLag.map((x) => x[k])))}/${fmt(Math.max(...s.syncLag.map((x) => x[k])))}`).join(', ') : '-',
    [s.leaseLost ? `switch link lost ${s.leaseLost}×` : '', Object.keys(s.errors).length ? JSON.stringify(s.errors) : ''].filter(Boolean).join('; ') || '-']);
  return `### ${name}\n${m.knee ? `Knee at ${m.knee} calls/s offered. ` : 'No knee within the offered rates. '}Memory per logged-in desktop: ${fmt(m.memPerDesktopKiB, 1)} KiB (T-Server RSS ${fmt(m.rssBaseKiB / 1024)} MiB before the desktops).\n\n` +
    table(['offered/s', 'sustained/s', 'rang', 'event p50', 'event p99', 'event max', 'setup p50', 'setup p99', 'answer p50', 'answer p99', 'loop lag p99 (worst 250 ms)', 'CPU primary', 'CPU backup', 'CPU µs/call primary (kernel)', 'CPU µs/call backup (kernel)', 'CPU switch', 'CPU load gen', 'sync lag med/max', 'errors / incidents'], rows) + '\n';
}

/** A path relative to the working directory when it is inside it (docs/results/bench.json), else absolute. */
function shortPath(p) {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

/** The markdown image of the chart `file` if the run drew it (charts: writeCharts' list), else nothing. */
function chart(charts, file) {
  const c = charts.find((x) => x.file === file);
  return c ? [`![${c.title}](charts/${c.file})`, ''] : [];
}

/** `charts`: the charts drawn from this run's results (written to charts/ beside `out`). */
export function writeReport(res, out, charts = []) {
  const m = res.machine, o = res.opts;
  const single = res.modes.single, ack = res.modes.ack, asy = res.modes.async;
  const ackBest = bestStep(ack), singleBest = bestStep(single);
  const lines = [];
  lines.push('# Benchmarks', '',
    `Produced by \`npm run bench\` (${res.command}); this file is overwritten by every run. The run's figures are in \`results/bench.json\`, its charts in \`charts/\` (redraw: \`node scripts/charts.mjs ${shortPath(join(dirname(out), 'results', 'bench.json'))}\`).`, '',
    `- **Date:** ${res.started.toISOString()} (run took ${fmt((res.finished - res.started) / 60000, 1)} min)`,
    `- **Machine:** ${m.nproc} × ${m.model}, ${fmt(m.ramGiB, 1)} GiB RAM, ${m.platform}, Node ${m.node}; load average (1/5/15 min) at the start ${m.loadavg.map((v) => v.toFixed(2)).join(' / ')}, at the end ${(res.loadavgEnd ?? []).map((v) => v.toFixed(2)).join(' / ')} (above 2 = other work competed for the two cores)`,
    `- **Load:** ${o.desktops} agent desktops (raw \`ws\`, extensions 5000–${5000 + o.desktops - 1}, logged in to queue 7000, Ready, wrap-up 0) and one router desktop on route point 8000, in a child process; the callers (Simulate InboundCall on a switch link) in another. Each call: switch → route point 8000 → EventRouteRequest → RequestRouteCall to queue 7000 → ACD → EventRinging → RequestAnswerCall → talk ${o.talkMs} ms → RequestReleaseCall. Steps of ${o.stepMs / 1000} s at increasing offered rates until the knee (sustained < 90 % of offered, or event p99 > 250 ms).`,
    ...(o.relaxed ? ['- **Relaxed failure detection (`--relaxed`):** switch lease 2 s / heartbeat 200 ms, ADDP 250 / 2000 ms instead of the 400 ms defaults, so CPU-contention stalls do not trip a failover mid-measurement. Promotion figures below are with the defaults (bench-promotion.mjs).'] : []),
    '- **Noise:** this is a shared 2-core machine where other engineers run tests at the same time; the switch, the T-Server(s) and the load generator share the same two cores. Compare figures *within one run* (ratios), not across runs.', '');
  lines.push('## Definitions', '',
    '- **event latency** (the issue\'s "switch event → desktop"): the agent desktop\'s receipt of EventRinging minus the switch\'s `time_ms` of the `DELIVERED` event at that extension (same machine clock; `time_ms` is whole milliseconds, so ±1 ms). It covers switch → T-Server (gRPC), the core, the sync ack in ack mode, and the WebSocket to the desktop.',
    '- **setup latency:** Simulate InboundCall sent → EventRinging at the agent (three switch round trips plus the router desktop).',
    '- **answer latency:** RequestAnswerCall sent → its EventEstablished (desktop → T-Server → switch → T-Server → desktop).',
    '- **sustained:** calls that reached an agent (EventRinging) during the step, per second. **loop lag:** the primary\'s event-loop delay p99 from `/metrics`, scraped every 250 ms (the worst window). **sync lag:** `tandem_sync_lag_offsets` (deltas not yet acked) / `tandem_sync_lag_seconds` (age of the oldest unacked batch, ms), median/max of the samples. **CPU:** cores used (1.0 = one core) per process during the step; **CPU µs/call:** the CPU time of that process during the step divided by the calls that reached an agent (everything it did in the step, idle work included); in brackets the part of it spent in the kernel (stime: socket system calls, wake-ups, page faults).', '');
  lines.push('## Targets', '', table(['target', 'measured', 'verdict'], [
    ['≥ 1,000 calls/s, pair in ack mode, event p99 ≤ 20 ms', ack?.skipped ? 'pair not available' : `${fmt(ackBest?.rate ?? 0)} calls/s (p99 ${fmt(ackBest?.event.p99)} ms); max sustained ${fmt(maxSustained(ack))}/s`, ack?.skipped || !ack ? 'not measured' : verdict(ackBest?.rate ?? 0, TARGETS.cps, true)],
    ['single server (reference), same criteria', `${fmt(singleBest?.rate ?? 0)} calls/s (p99 ${fmt(singleBest?.event.p99)} ms); max sustained ${fmt(maxSustained(single))}/s`, single ? verdict(singleBest?.rate ?? 0, TARGETS.cps, true) : 'not measured'],
    ['ack mode ≥ 70 % of single-server throughput', ack?.steps?.length && single ? `${fmt(100 * maxSustained(ack) / maxSustained(single), 0)} % (max sustained ${fmt(maxSustained(ack))} vs ${fmt(maxSustained(single))})` : 'n/a', ack?.steps?.length && single ? verdict(maxSustained(ack) / maxSustained(single), TARGETS.ackShare, true) : 'not measured'],
    ['promotion after kill -9 ≤ 50 ms p99', promo(res, 'kill'), promoVerdict(res, 'kill')],
    ['promotion after SIGSTOP ≤ 1 s', promo(res, 'stop'), promoVerdict(res, 'stop')],
    ['SDK desktops resumed ≤ 100 ms after promotion', 'measured by `npm run chaos` (column "all desktops resumed after promotion")', 'see README / chaos output'],
  ]), '');
  lines.push('## Throughput and latency', '', ...chart(charts, 'latency-load.svg'), modeSection('Single T-Server', single), modeSection('Pair, async mode', asy), modeSection('Pair, ack mode', ack));
  lines.push('## Memory and full resync', '', resyncSection(res.resync), '');
  lines.push('## Promotion', '', ...chart(charts, 'promotion.svg'), promotionSection(res.promotion), '');
  if (res.profile) {
    lines.push('## What limits it (CPU profile of the T-Server)', '',
      `\`node --cpu-prof\` on a single T-Server at ${res.profile.rate} calls/s offered (sustained ${fmt(res.profile.step.sustained)}/s, event p99 ${fmt(res.profile.step.event.p99)} ms, T-Server CPU ${fmt(res.profile.step.cpu.primary, 2)} cores). Top functions by self time:`, '',
      table(['self %', 'function', 'where'], res.profile.hot.map((h) => [fmt(h.selfPct, 1), `\`${h.fn}\``, h.where || '(native / V8)'])), '');
  }
  if (res.notes.length) lines.push('## Notes', '', ...res.notes.map((n) => `- ${n}`), '');
  if (res.error) lines.push('## The run failed', '', '```', res.error, '```', '');
  // Sections other scripts write with --write (chaos drill, stability): keep them.
  const old = existsSync(out) ? readFileSync(out, 'utf8') : '';
  for (const heading of [CPU_LATENCY_HEADING, DESKTOPS_HEADING, SIP_HEADING, STABILITY_HEADING, CHAOS_HEADING]) {
    const section = extractSection(old, heading);
    if (section) lines.push(section.trimEnd(), '');
  }
  writeFileSync(out, lines.join('\n'));
}

/** Rows of bench-promotion's table: {event, runs, median, p99, min, max}. */
function promoRows(p) {
  return p.stdout.split('\n').map((l) => l.split('|').map((c) => c.trim())).filter((c) => c.length >= 7 && /\d/.test(c[3]))
    .map((c) => ({ event: c[1], runs: Number(c[2]), median: Number(c[3]), p99: Number(c[4]) }));
}

function promo(res, kind) {
  const p = res.promotion;
  if (!p) return 'not run';
  if (p.missing) return 'scripts/bench-promotion.mjs not present yet';
  const rx = kind === 'kill' ? /kill/i : /stop/i;
  const rows = promoRows(p).filter((r) => rx.test(r.event));
  return rows.length ? rows.map((r) => `${r.event}: median ${r.median}, p99 ${r.p99} ms (${r.runs} runs)`).join('<br>') : 'see the output below';
}

function promoVerdict(res, kind) {
  const p = res.promotion;
  if (!p || p.missing) return 'not measured';
  const row = promoRows(p).find((r) => (kind === 'kill' ? /kill/i : /stop/i).test(r.event) && /request|answer/i.test(r.event));
  return row ? verdict(row.p99, kind === 'kill' ? TARGETS.promoteKillMs : TARGETS.promoteStopMs, false) + ' (first request answered, p99)' : 'see Promotion';
}

function promotionSection(p) {
  if (!p) return 'not run (`--no-promotion`).';
  if (p.missing) return '`scripts/bench-promotion.mjs` (the HA layer\'s promotion timer) is not in the repo yet; rerun `npm run bench` once it lands.';
  return `\`node scripts/bench-promotion.mjs\` (exit ${p.status}):\n\n\`\`\`\n${p.stdout.trim().slice(-6000)}\n\`\`\`\n${p.status !== 0 && p.stderr ? `\nstderr (tail):\n\n\`\`\`\n${p.stderr.trim()}\n\`\`\`\n` : ''}`;
}

function resyncSection(r) {
  if (!r) return 'not run (`--no-resync`).';
  const out = [table(['measure', 'value'], [
    ['agents logged in (one desktop, pipelined)', `${r.agents} in ${fmt(r.agentLoginMs)} ms (${r.agentLoginFailed} failed)`],
    ['memory per logged-in agent (primary RSS delta)', `${fmt(r.memPerAgentKiB, 2)} KiB`],
    ['calls held (parked at route point 8001)', r.callsHeld],
    ['memory per call (primary RSS delta, incl. its journal events)', `${fmt(r.memPerCallKiB, 2)} KiB`],
    ['primary RSS: base / with agents / with calls', r.rssKiB ? `${fmt(r.rssKiB.base / 1024)} / ${fmt(r.rssKiB.withAgents / 1024)} / ${fmt(r.rssKiB.withCalls / 1024)} MiB` : 'n/a'],
    ['full resync (primary log: started → done)', r.skipped ? r.skipped : `${fmt(r.resyncMs)} ms`],
    ['backup restart → in sync', r.skipped ? '-' : `${fmt(r.restartToInSyncMs)} ms`],
    ['event latency p50/p99 at 100 calls/s, before', r.baseline ? `${fmt(r.baseline.event.p50)} / ${fmt(r.baseline.event.p99)} ms` : '-'],
    ['event latency p50/p99/max during the resync', r.during ? `${fmt(r.during.resyncWindow.p50)} / ${fmt(r.during.resyncWindow.p99)} / ${fmt(r.during.resyncWindow.max)} ms (${r.during.resyncWindow.n} calls)` : '-'],
  ])];
  if (r.resyncLog?.primaryDone) out.push('', `Primary's log line: \`${JSON.stringify(r.resyncLog.primaryDone).slice(0, 400)}\``);
  return out.join('\n');
}

// The benchmarks' results files → SVG charts (drawn by charts-svg.mjs). Each bench writes its results
// as JSON with a `kind`; `chartsFromResults` checks the fields the charts need and says which one is
// wrong, then returns one chart per figure the file holds. Redraw from saved results with
// `node scripts/charts.mjs <results.json...>`.
//
// Results files (fields the charts read; the benches write more):
//   kind 'bench'      scripts/bench.mjs → docs/results/bench.json
//                     { modes: { single|async|ack: { steps: [{ rate, event: { p50, p99 } }] } },
//                       promotion?: { results?: <a 'promotion' file> } }
//                     → latency-load.svg (event latency p50/p99 against offered calls/s per mode),
//                       promotion.svg when the promotion run's times are in
//   kind 'promotion'  scripts/bench-promotion.mjs --out FILE
//                     { modes: { kill|stop: { role: [ms], serve: [ms] } } }   (one value per run)
//                     → promotion.svg (CDF of the promotion time per fault)
//   kind 'stability'  scripts/bench-stability.mjs → <out>.json
//                     { kneeRamp?: { steps: [{ rate, p99 }], knee?, rule?: { p99Ms } }, hang?: { times: [ms] },
//                       kill?: { times: [ms] } }
//                     → stability-knee.svg, stability-failover.svg (CDF of signal → backup serving)
//   kind 'resume'     the fault bench with thousands of SDK desktops (issue 14 item 1)
//                     { runs: [{ fault, desktops, resumedMs: [ms] }] }: resumedMs has, for each desktop
//                     that resumed, the time from the promotion to its 'failover-complete'; desktops
//                     minus its length never resumed (the curve stops short of 100 %)
//                     → resume.svg (share of desktops resumed against time after the promotion)
//   kind 'sip'        scripts/bench-sip.mjs → docs/results/sip.json
//                     { medians: { sim|sip: [{ rate, p50, p99 }] } }   (medians over the runs)
//                     → sip-latency.svg (setup latency p50/p99 against offered calls/s, SIP switch
//                       and simulator side by side)
// Every file may carry { command, started, machine: { nproc, model } }: the charts' subtitle.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTick, lineChart, PALETTE } from './charts-svg.mjs';
import { TARGETS } from './bench-report.mjs';

export const RESULT_KINDS = ['bench', 'promotion', 'stability', 'resume', 'sip'];

/** A results file the charts cannot use: names the file, the field and what was expected. */
export class ResultsError extends Error {
  constructor(source, field, message) {
    super(`${source}: ${field ? `${field}: ` : ''}${message}`);
    this.name = 'ResultsError';
    this.field = field;
  }
}

const SIDE_LABELS = { sim: 'simulator', sip: 'SIP switch' };
const MODE_LABELS = { single: 'single T-Server', async: 'pair, async', ack: 'pair, ack' };
const FAULT_LABELS = { kill: 'kill -9', stop: 'SIGSTOP', hang: 'SIGSTOP 1.5 s', switchover: 'switchover' };
const faultLabel = (f) => FAULT_LABELS[f] ?? f;

/**
 * Checks of the fields the charts read, each error naming the file and the field's path (under
 * `prefix` for a results file nested in another).
 */
function checker(source, prefix = '') {
  const show = (v) => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 60));
  const path = (field) => [prefix, field].filter(Boolean).join('.');
  const fail = (field, what, v) => { throw new ResultsError(source, path(field), `expected ${what}, got ${show(v)}`); };
  return {
    source,
    fail,
    object(v, field) { if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'an object', v); return v; },
    array(v, field) { if (!Array.isArray(v)) fail(field, 'an array', v); return v; },
    /** A measured value: a number, or null for a percentile of no samples (NaN before JSON). */
    measure(v, field) { if (v !== null && !(typeof v === 'number' && Number.isFinite(v))) fail(field, 'a number or null', v); return v; },
    number(v, field) { if (!(typeof v === 'number' && Number.isFinite(v))) fail(field, 'a number', v); return v; },
    numbers(v, field) { this.array(v, field).forEach((x, i) => this.number(x, `${field}[${i}]`)); return v; },
    string(v, field) { if (typeof v !== 'string' || v === '') fail(field, 'a non-empty string', v); return v; },
  };
}

/** "npm run bench, 2026-11-21, 2 × AMD EPYC": where the figures come from. */
function subtitle(res, what) {
  const date = typeof res.started === 'string' ? res.started.slice(0, 10) : '';
  const m = res.machine && typeof res.machine === 'object' ? `${res.machine.nproc} × ${res.machine.model}` : '';
  return [what, date, m].filter(Boolean).join(', ');
}

/** Empirical CDF as step points [ms, % of runs ≤ ms], from 0 % at the smallest value. */
export function cdfPoints(values) {
  const s = [...values].sort((a, b) => a - b);
  const pts = s.length ? [[s[0], 0]] : [];
  s.forEach((v, i) => {
    const y = (100 * (i + 1)) / s.length;
    if (pts.at(-1)[0] === v && i > 0) pts.at(-1)[1] = y; else pts.push([v, y]);
  });
  return pts;
}

/**
 * Desktops resumed by time t after the promotion, as step points [ms, % of desktops], pooled over the
 * runs (each run's desktops weigh 1/runs): starts at [0, 0]; ends below 100 % if some never resumed.
 */
export function resumePoints(runs) {
  const all = runs.flatMap((r) => r.resumedMs.map((ms) => [ms, 100 / r.desktops / runs.length])).sort((a, b) => a[0] - b[0]);
  const pts = [[0, 0]];
  let y = 0;
  for (const [ms, w] of all) {
    y += w;
    const v = Math.round(y * 1e6) / 1e6;
    if (pts.at(-1)[0] === ms) pts.at(-1)[1] = v; else pts.push([ms, v]);
  }
  return pts;
}

function benchCharts(res, c) {
  const modes = c.object(res.modes, 'modes');
  const series = [];
  const names = [...Object.keys(MODE_LABELS).filter((m) => m in modes), ...Object.keys(modes).filter((m) => !(m in MODE_LABELS))];
  names.forEach((mode, i) => {
    const m = c.object(modes[mode], `modes.${mode}`);
    if (m.skipped !== undefined || m.steps === undefined) return; // not measured (the pair's HA layer absent)
    const steps = c.array(m.steps, `modes.${mode}.steps`).map((s, j) => {
      const f = `modes.${mode}.steps[${j}]`;
      c.object(s, f);
      c.object(s.event, `${f}.event`);
      return { rate: c.number(s.rate, `${f}.rate`), p50: c.measure(s.event.p50, `${f}.event.p50`), p99: c.measure(s.event.p99, `${f}.event.p99`) };
    });
    if (!steps.length) return;
    const color = PALETTE[i % PALETTE.length], label = MODE_LABELS[mode] ?? mode;
    series.push({ name: `${label} p99`, color, points: steps.map((s) => [s.rate, s.p99]) });
    series.push({ name: `${label} p50`, color, dash: true, points: steps.map((s) => [s.rate, s.p50]) });
  });
  if (!series.some((s) => s.points.some(([, y]) => y !== null))) c.fail('modes', 'at least one mode with a measured step', Object.keys(modes));
  const charts = [{
    file: 'latency-load.svg',
    title: 'Event latency against offered load',
    svg: lineChart({
      title: 'Event latency (switch event → desktop) against offered load',
      subtitle: subtitle(res, 'npm run bench'),
      x: { label: 'offered calls/s', scale: 'linear', include: [0] },
      y: { label: 'event latency, ms' },
      series,
      guides: [{ axis: 'y', value: TARGETS.p99, label: `target p99 ≤ ${TARGETS.p99} ms` }],
    }),
  }];
  const p = res.promotion;
  if (p !== undefined && p !== null && c.object(p, 'promotion').results !== undefined) {
    charts.push(...promotionCharts({ started: res.started, machine: res.machine, ...c.object(p.results, 'promotion.results') }, checker(c.source, 'promotion.results')));
  }
  return charts;
}

function promotionCharts(res, c) {
  const modes = c.object(res.modes, 'modes');
  const series = [];
  Object.keys(modes).forEach((fault, i) => {
    const m = c.object(modes[fault], `modes.${fault}`);
    const color = PALETTE[i % PALETTE.length];
    for (const [key, what, dash] of [['serve', 'first request answered', false], ['role', "'role changed' to primary", true]]) {
      const xs = c.numbers(m[key], `modes.${fault}.${key}`);
      if (xs.length) series.push({ name: `${faultLabel(fault)}: ${what} (${xs.length} runs)`, color, dash, step: true, points: cdfPoints(xs) });
    }
  });
  if (!series.length) c.fail('modes', 'at least one fault with promotion times', modes);
  return [{
    file: 'promotion.svg',
    title: 'Promotion time per fault',
    svg: lineChart({
      title: 'Promotion time per fault (share of runs done by t)',
      subtitle: subtitle(res, 'npm run bench:promotion'),
      x: { label: 'ms from the signal to the primary' },
      y: { label: '% of runs', scale: 'linear', include: [0, 100] },
      series,
      guides: promotionGuides(Object.keys(modes)),
    }),
  }];
}

/** The issue's promotion targets for the faults on a chart (kill -9 ≤ 50 ms, SIGSTOP ≤ 1 s). */
function promotionGuides(faults) {
  return [
    ...(faults.includes('kill') ? [{ axis: 'x', value: TARGETS.promoteKillMs, label: `kill -9 target ${TARGETS.promoteKillMs} ms` }] : []),
    ...(faults.some((f) => f === 'stop' || f === 'hang') ? [{ axis: 'x', value: TARGETS.promoteStopMs, label: `SIGSTOP target ${TARGETS.promoteStopMs} ms` }] : []),
  ];
}

function stabilityCharts(res, c) {
  const charts = [];
  if (res.kneeRamp !== undefined) {
    const steps = c.array(c.object(res.kneeRamp, 'kneeRamp').steps, 'kneeRamp.steps').map((s, j) => {
      c.object(s, `kneeRamp.steps[${j}]`);
      return [c.number(s.rate, `kneeRamp.steps[${j}].rate`), c.measure(s.p99, `kneeRamp.steps[${j}].p99`)];
    });
    if (steps.length) {
      charts.push({
        file: 'stability-knee.svg',
        title: 'Knee ramp: event latency p99 against offered load',
        svg: lineChart({
          title: 'Knee ramp, pair in ack mode: event latency p99 against offered load',
          subtitle: subtitle(res, 'npm run bench:stability'),
          x: { label: 'offered calls/s', scale: 'linear', include: [0] },
          y: { label: 'event latency p99, ms' },
          series: [{ name: 'pair, ack p99', points: steps }],
          // The knee rule's latency bound (bench-stability.mjs records it) and the knee the ramp found.
          guides: [
            ...(typeof res.kneeRamp.rule?.p99Ms === 'number' ? [{ axis: 'y', value: res.kneeRamp.rule.p99Ms, label: `knee rule: p99 < ${res.kneeRamp.rule.p99Ms} ms` }] : []),
            ...(typeof res.kneeRamp.knee === 'number' ? [{ axis: 'x', value: res.kneeRamp.knee, label: `knee ${res.kneeRamp.knee} calls/s` }] : [])],
        }),
      });
    }
  }
  const series = [];
  for (const [i, fault] of ['kill', 'hang'].entries()) {
    if (res[fault] === undefined) continue;
    const xs = c.numbers(c.object(res[fault], fault).times, `${fault}.times`);
    if (xs.length) series.push({ name: `${faultLabel(fault)} (${xs.length} runs)`, fault, color: PALETTE[i], step: true, points: cdfPoints(xs) });
  }
  if (series.length) {
    charts.push({
      file: 'stability-failover.svg',
      title: 'Signal → backup serving, under load',
      svg: lineChart({
        title: 'Signal → backup serving under load (share of runs done by t)',
        subtitle: subtitle(res, 'npm run bench:stability'),
        x: { label: "ms from the signal to the backup's 'role changed' to primary" },
        y: { label: '% of runs', scale: 'linear', include: [0, 100] },
        series,
        guides: promotionGuides(series.map((s) => s.fault)),
      }),
    });
  }
  if (!charts.length) c.fail('', 'a knee ramp (kneeRamp.steps) or fault times (hang.times, kill.times)', Object.keys(res));
  return charts;
}

function resumeCharts(res, c) {
  const runs = c.array(res.runs, 'runs').map((r, i) => {
    const f = `runs[${i}]`;
    c.object(r, f);
    const desktops = c.number(r.desktops, `${f}.desktops`);
    if (!(desktops > 0)) c.fail(`${f}.desktops`, 'a count > 0', desktops);
    const resumedMs = c.numbers(r.resumedMs, `${f}.resumedMs`);
    if (resumedMs.length > desktops) c.fail(`${f}.resumedMs`, `at most ${desktops} values (one per desktop)`, `${resumedMs.length} values`);
    return { fault: c.string(r.fault, `${f}.fault`), desktops, resumedMs };
  });
  if (!runs.length) c.fail('runs', 'at least one run', res.runs);
  const faults = [...new Set(runs.map((r) => r.fault))];
  const series = faults.map((fault, i) => {
    const rs = runs.filter((r) => r.fault === fault);
    const desktops = [...new Set(rs.map((r) => formatTick(r.desktops)))].join('/');
    const never = rs.reduce((n, r) => n + r.desktops - r.resumedMs.length, 0);
    return { name: `${faultLabel(fault)} (${rs.length} run${rs.length > 1 ? 's' : ''} × ${desktops} desktops${never ? `, ${formatTick(never)} never resumed` : ''})`, color: PALETTE[i % PALETTE.length], step: true, points: resumePoints(rs) };
  });
  return [{
    file: 'resume.svg',
    title: 'Desktops resumed after a failover',
    svg: lineChart({
      title: 'Desktops resumed after the promotion, over time',
      subtitle: subtitle(res, typeof res.command === 'string' ? res.command : ''),
      x: { label: 'ms after the promotion', scale: 'linear', include: [0] },
      y: { label: '% of desktops resumed', scale: 'linear', include: [0, 100] },
      series,
    }),
  }];
}

function sipCharts(res, c) {
  const med = c.object(res.medians, 'medians');
  const series = [];
  Object.keys(med).forEach((side, i) => {
    const rows = c.array(med[side], `medians.${side}`).map((r, j) => {
      const f = `medians.${side}[${j}]`;
      c.object(r, f);
      return { rate: c.number(r.rate, `${f}.rate`), p50: c.measure(r.p50, `${f}.p50`), p99: c.measure(r.p99, `${f}.p99`) };
    });
    if (!rows.length) return;
    const color = PALETTE[i % PALETTE.length], label = SIDE_LABELS[side] ?? side;
    series.push({ name: `${label} p99`, color, points: rows.map((r) => [r.rate, r.p99]) });
    series.push({ name: `${label} p50`, color, dash: true, points: rows.map((r) => [r.rate, r.p50]) });
  });
  if (!series.some((s) => s.points.some(([, y]) => y !== null))) c.fail('medians', 'at least one side with a measured step', Object.keys(med));
  return [{
    file: 'sip-latency.svg',
    title: 'Call setup latency, SIP switch and simulator',
    svg: lineChart({
      title: 'Call setup latency (caller → agent phone rings) against offered load',
      subtitle: subtitle(res, 'npm run bench:sip'),
      x: { label: 'offered calls/s', scale: 'linear', include: [0] },
      y: { label: 'setup latency, ms' },
      series,
    }),
  }];
}

/**
 * The charts of one results file: [{file, title, svg}]. `source` names the file in errors. Throws
 * ResultsError for a file that is not a results object, has no or an unknown `kind`, or lacks a field
 * its charts need.
 */
export function chartsFromResults(res, source = 'results') {
  const c = checker(source);
  c.object(res, '');
  if (!RESULT_KINDS.includes(res.kind)) c.fail('kind', `one of ${RESULT_KINDS.join(', ')} (the bench that wrote the file sets it)`, res.kind);
  switch (res.kind) {
    case 'bench': return benchCharts(res, c);
    case 'promotion': return promotionCharts(res, c);
    case 'stability': return stabilityCharts(res, c);
    case 'resume': return resumeCharts(res, c);
    case 'sip': return sipCharts(res, c);
    default: throw new Error(`unreachable: kind ${res.kind}`);
  }
}

/** Writes the charts of `res` into `dir` (created); returns [{file, title, path}]. */
export function writeCharts(res, dir, source) {
  const charts = chartsFromResults(res, source);
  mkdirSync(dir, { recursive: true });
  return charts.map(({ file, title, svg }) => {
    const path = join(dir, file);
    writeFileSync(path, svg);
    return { file, title, path };
  });
}

/** The markdown image of a chart written by writeCharts, for a page beside the `charts/` folder. */
export const chartImage = (chart, folder = 'charts') => `![${chart.title}](${folder}/${chart.file})`;

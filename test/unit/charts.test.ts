// The benchmarks' charts (scripts/lib/charts.mjs, scripts/charts.mjs): each kind of results file gives
// its charts as valid SVG with one series per measured mode or fault, legend names matching them and the
// values drawn where they belong; a malformed results file is refused with an error naming the file and
// the field; the charts in docs/ are the ones docs/results/ draws.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invert, parseChart } from '../helpers/svg-chart.js';
import { ROOT } from '../helpers/process.js';
// @ts-ignore -- plain ESM script without types (the benches run it straight from scripts/)
import { cdfPoints, chartsFromResults, chartImage, resumePoints, ResultsError, writeCharts } from '../../scripts/lib/charts.mjs';

/** One load step as scripts/lib/load-step.mjs returns it (the fields the report and charts read, and a few more). */
const step = (rate: number, p50: number, p99: number) => ({
  rate, offered: rate * 6, sustained: rate * 0.99, completedShare: 1, event: { p50, p99, max: p99 * 1.2, n: rate * 6 },
  setup: { p50: p50 * 3, p99: p99 * 3 }, answer: { p50, p99 }, loopP99: 20, cpu: { primary: 0.5, switch: 0.3 }, errors: {}, syncLag: [],
});

/** A results file as scripts/bench.mjs writes it: JSON, so a NaN percentile (no samples) is null. */
const benchResults = () => JSON.parse(JSON.stringify({
  kind: 'bench', command: 'node scripts/bench.mjs --quick', started: new Date('2026-12-01T10:00:00Z'),
  machine: { nproc: 2, model: 'AMD EPYC', ramGiB: 23.5 },
  modes: {
    single: { mode: 'single', steps: [step(250, 1.5, 12), step(750, 1.5, 16.1), step(1250, 9, 57.1)], knee: 1250 },
    async: { mode: 'async', ha: false, steps: [], skipped: 'the backup never reached in-sync' },
    ack: { mode: 'ack', ha: true, steps: [step(250, 8.2, 135), step(750, 4.7, 28.3), { ...step(1250, NaN, NaN), rings: 0 }] },
  },
}));

const promotionResults = { kind: 'promotion', runs: 4, modes: { kill: { role: [20, 14, 35, 22], serve: [34, 25, 58, 40] }, stop: { role: [406, 396, 445, 410], serve: [409, 398, 454, 420] } } };

t.test('bench: event latency p50/p99 against offered load, two series per measured mode', async (t) => {
  const charts = chartsFromResults(benchResults(), 'bench.json');
  t.same(charts.map((c: { file: string }) => c.file), ['latency-load.svg'], 'no promotion times, no promotion chart');
  const c = parseChart(charts[0].svg);
  const names = ['single T-Server p99', 'single T-Server p50', 'pair, ack p99', 'pair, ack p50'];
  t.same(c.series.map((s) => s.name), names, 'the skipped async mode is left out');
  t.same(c.legend, names);
  t.same(c.series.map((s) => s.dashed), [false, true, false, true], 'p50 dashed');
  t.equal(c.series[0].color, c.series[1].color, 'one colour per mode');
  t.not(c.series[0].color, c.series[2].color);
  t.equal(c.xLabel, 'offered calls/s');
  t.match(c.yLabel, /^event latency, ms/);
  t.match(c.subtitle, /npm run bench, 2026-12-01, 2 × AMD EPYC/);
  t.same(c.guides, ['target p99 ≤ 20 ms']);
  t.same(c.series[3].markers.length, 2, 'the ack step without samples (null) is not drawn');
  const fx = invert(c.xTicks, c.xScale), fy = invert(c.yTicks, c.yScale);
  const ackP99 = c.series[2].markers.map(([x, y]) => [fx(x), fy(y)]);
  [[250, 135], [750, 28.3]].forEach(([x, y], i) => {
    t.ok(Math.abs(ackP99[i][0] - x) < 2 && Math.abs(ackP99[i][1] - y) / y < 0.01, `ack p99 ${y} ms at ${x}/s drawn at [${ackP99[i].map((v) => v.toFixed(1))}]`);
  });
  for (const [x, y] of c.series.flatMap((s) => s.polylines.flat())) t.ok(x >= 0 && x <= c.width && y >= 0 && y <= c.height);
});

t.test('bench with the promotion run\'s times: a promotion CDF per fault too', async (t) => {
  const res = { ...benchResults(), promotion: { status: 0, stdout: '(table)', results: promotionResults } };
  const charts = chartsFromResults(res, 'bench.json');
  t.same(charts.map((c: { file: string }) => c.file), ['latency-load.svg', 'promotion.svg']);
  const c = parseChart(charts[1].svg);
  const names = ["kill -9: first request answered (4 runs)", "kill -9: 'role changed' to primary (4 runs)", "SIGSTOP: first request answered (4 runs)", "SIGSTOP: 'role changed' to primary (4 runs)"];
  t.same(c.series.map((s) => s.name), names);
  t.same(c.legend, names);
  t.same(c.guides, ['kill -9 target 50 ms', 'SIGSTOP target 1000 ms']);
  t.equal(c.yLabel, '% of runs');
  const fx = invert(c.xTicks, c.xScale), fy = invert(c.yTicks, c.yScale);
  const [line] = c.series[0].polylines;
  t.same(line.map(([x, y]) => [Math.round(fx(x)), Math.round(fy(y))]), [[25, 0], [25, 25], [34, 25], [34, 50], [40, 50], [40, 75], [58, 75], [58, 100]], 'the CDF of 25, 34, 40, 58 ms');
});

t.test('stability: the knee ramp and signal → serving per fault', async (t) => {
  const res = {
    kind: 'stability', started: '2026-11-29T12:36:48.156Z', machine: { nproc: 2, model: 'AMD EPYC' },
    kneeRamp: { rule: { sustainedShare: 0.95, p99Ms: 200 }, knee: 750, steps: [{ rate: 250, sustained: 250, p99: 14.2 }, { rate: 500, sustained: 500, p99: 26.1 }, { rate: 750, sustained: 748, p99: 102 }, { rate: 1000, sustained: 741, p99: 614 }] },
    hang: { runs: 3, times: [409, 437, 450] }, kill: { runs: 3, times: [35, 25, 21] },
  };
  const charts = chartsFromResults(res, 'stability.json');
  t.same(charts.map((c: { file: string }) => c.file), ['stability-knee.svg', 'stability-failover.svg']);
  const knee = parseChart(charts[0].svg);
  t.same(knee.legend, ['pair, ack p99']);
  t.same(knee.guides, ['knee rule: p99 < 200 ms', 'knee 750 calls/s']);
  t.equal(knee.series[0].markers.length, 4);
  const fail = parseChart(charts[1].svg);
  t.same(fail.legend, ['kill -9 (3 runs)', 'SIGSTOP 1.5 s (3 runs)']);
  t.equal(fail.xScale, 'log', '21..1000 ms');
  const only = chartsFromResults({ kind: 'stability', kill: { times: [30] } }, 's.json');
  t.same(only.map((c: { file: string }) => c.file), ['stability-failover.svg'], 'each chart only when its figures are there');
});

t.test('resume: share of desktops resumed over time after the promotion, per fault, pooled over runs', async (t) => {
  t.same(resumePoints([{ fault: 'kill', desktops: 4, resumedMs: [30, 10, 20] }]), [[0, 0], [10, 25], [20, 50], [30, 75]], 'one never resumed: stops at 75 %');
  t.same(resumePoints([{ fault: 'kill', desktops: 2, resumedMs: [10, 10] }, { fault: 'kill', desktops: 2, resumedMs: [20, 30] }]), [[0, 0], [10, 50], [20, 75], [30, 100]]);
  const res = {
    kind: 'resume', command: 'node scripts/bench-failover.mjs --desktops 5000', started: '2026-12-02T09:00:00Z',
    runs: [
      { fault: 'kill', desktops: 5000, resumedMs: Array.from({ length: 5000 }, (_, i) => 40 + i / 10) },
      { fault: 'stop', desktops: 5000, resumedMs: Array.from({ length: 4990 }, (_, i) => 20 + i / 5) },
      { fault: 'switchover', desktops: 5000, resumedMs: Array.from({ length: 5000 }, (_, i) => 5 + i / 20) },
    ],
  };
  const [chart] = chartsFromResults(res, 'resume.json');
  t.equal(chart.file, 'resume.svg');
  const c = parseChart(chart.svg);
  const names = ['kill -9 (1 run × 5,000 desktops)', 'SIGSTOP (1 run × 5,000 desktops, 10 never resumed)', 'switchover (1 run × 5,000 desktops)'];
  t.same(c.series.map((s) => s.name), names);
  t.same(c.legend, names);
  t.equal(c.xLabel, 'ms after the promotion');
  t.equal(c.yLabel, '% of desktops resumed');
  const fy = invert(c.yTicks, c.yScale);
  const ends = c.series.map((s) => Math.round(fy(s.polylines[0].at(-1)![1]) * 10) / 10);
  t.same(ends, [100, 99.8, 100]);
  t.ok(chart.svg.length < 60_000, `${chart.svg.length} bytes for 15,000 desktops`);
});

t.test('sip: setup latency p50/p99 against offered load, the simulator and the SIP switch side by side', async (t) => {
  const res = JSON.parse(JSON.stringify({
    kind: 'sip', command: 'node scripts/bench-sip.mjs', started: new Date('2026-11-29T14:10:00Z'), machine: { nproc: 2, model: 'AMD EPYC' },
    medians: {
      sim: [{ rate: 10, p50: 7, p99: 80, sustained: 10 }, { rate: 50, p50: 8, p99: 90, sustained: 50 }],
      sip: [{ rate: 10, p50: 9, p99: 30, sustained: 10 }, { rate: 50, p50: 16, p99: NaN, sustained: 49 }],
    },
  }));
  const [chart, ...more] = chartsFromResults(res, 'sip.json');
  t.equal(more.length, 0);
  t.equal(chart.file, 'sip-latency.svg');
  const c = parseChart(chart.svg);
  t.same(c.series.map((s) => s.name), ['simulator p99', 'simulator p50', 'SIP switch p99', 'SIP switch p50']);
  t.equal(c.xLabel, 'offered calls/s');
  t.equal(c.yLabel, 'setup latency, ms');
  const fy = invert(c.yTicks, c.yScale);
  t.same(c.series[0]!.polylines[0]!.map(([, y]) => Math.round(fy(y))), [80, 90], 'the simulator p99 drawn at its values');
  t.equal(c.series[2]!.polylines.flat().length, 1, 'a percentile of no samples (null) is not drawn');
});

t.test('cdfPoints: from 0 % at the smallest value, ties merged', async (t) => {
  t.same(cdfPoints([30, 10, 20, 20]), [[10, 0], [10, 25], [20, 75], [30, 100]]);
  t.same(cdfPoints([]), []);
});

t.test('a malformed results file is refused with the file, the field and what was expected', async (t) => {
  const bad = (res: unknown, re: RegExp, what: string) => t.throws(() => chartsFromResults(res, 'x.json'), { name: 'ResultsError', message: re }, what);
  bad(null, /^x\.json: expected an object, got null$/, 'not an object');
  bad([], /^x\.json: expected an object/, 'an array');
  bad({ modes: {} }, /^x\.json: kind: expected one of bench, promotion, stability, resume, sip .*got nothing/, 'no kind');
  bad({ kind: 'benchmark' }, /kind: expected one of .* got "benchmark"/, 'an unknown kind');
  bad({ kind: 'bench' }, /^x\.json: modes: expected an object, got nothing$/, 'no modes');
  bad({ kind: 'bench', modes: { ack: { steps: [] } } }, /modes: expected at least one mode with a measured step/, 'nothing measured');
  const r = benchResults();
  r.modes.ack.steps[1].event.p99 = '28 ms';
  bad(r, /^x\.json: modes\.ack\.steps\[1\]\.event\.p99: expected a number or null, got "28 ms"$/, 'a string for a number');
  const r2 = benchResults();
  delete r2.modes.single.steps[0].rate;
  bad(r2, /modes\.single\.steps\[0\]\.rate: expected a number, got nothing/, 'a missing rate');
  bad({ ...benchResults(), promotion: { results: { kind: 'promotion', modes: { kill: { role: [1, 'x'], serve: [] } } } } }, /promotion\.results\.modes\.kill\.role\[1\]: expected a number, got "x"/, 'the nested promotion file');
  bad({ kind: 'promotion', modes: { kill: { role: [], serve: [] } } }, /modes: expected at least one fault with promotion times/, 'no times');
  bad({ kind: 'stability', overload: [] }, /expected a knee ramp \(kneeRamp\.steps\) or fault times/, 'stability without chartable figures');
  bad({ kind: 'resume', runs: [{ fault: 'kill', desktops: 2, resumedMs: [1, 2, 3] }] }, /runs\[0\]\.resumedMs: expected at most 2 values \(one per desktop\), got "3 values"/, 'more resumed than desktops');
  bad({ kind: 'resume', runs: [{ fault: '', desktops: 2, resumedMs: [] }] }, /runs\[0\]\.fault: expected a non-empty string/, 'no fault name');
  bad({ kind: 'resume', runs: [] }, /runs: expected at least one run/, 'no runs');
  bad({ kind: 'sip' }, /^x\.json: medians: expected an object, got nothing$/, 'sip without medians');
  bad({ kind: 'sip', medians: { sip: [{ rate: 10, p50: 'fast', p99: 3 }] } }, /medians\.sip\[0\]\.p50: expected a number or null, got "fast"/, 'a string for a latency');
  bad({ kind: 'sip', medians: { sip: [], sim: [] } }, /medians: expected at least one side with a measured step/, 'nothing measured');
  t.ok(new ResultsError('f', 'a.b', 'm') instanceof Error);
});

t.test('writeCharts writes the files; chartImage links them from a page beside charts/', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-charts-'));
  const written = writeCharts(benchResults(), join(dir, 'charts'), 'bench.json');
  t.same(written.map((w: { file: string }) => w.file), ['latency-load.svg']);
  parseChart(readFileSync(written[0].path, 'utf8'));
  t.equal(chartImage(written[0]), '![Event latency against offered load](charts/latency-load.svg)');
});

t.test('docs/charts holds what docs/results draws (redraw: node scripts/charts.mjs docs/results/*.json)', async (t) => {
  const files = readdirSync(join(ROOT, 'docs', 'results')).filter((f) => f.endsWith('.json'));
  t.ok(files.length > 0);
  const seen = new Map<string, string>();
  for (const f of files) {
    const res = JSON.parse(readFileSync(join(ROOT, 'docs', 'results', f), 'utf8'));
    for (const c of chartsFromResults(res, `docs/results/${f}`)) {
      t.equal(seen.get(c.file), undefined, `docs/charts/${c.file} drawn from one results file only`);
      seen.set(c.file, f);
      t.equal(readFileSync(join(ROOT, 'docs', 'charts', c.file), 'utf8'), c.svg, `docs/charts/${c.file} is ${f} drawn by the current code`);
      parseChart(c.svg);
    }
  }
  const md = readFileSync(join(ROOT, 'docs', 'benchmarks.md'), 'utf8');
  for (const file of seen.keys()) t.match(md, `](charts/${file})`, `docs/benchmarks.md shows charts/${file}`);
});

t.test('the CLI draws the good files and names the bad one with its field (exit 1)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-charts-cli-'));
  writeFileSync(join(dir, 'good.json'), JSON.stringify(promotionResults));
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ kind: 'stability', kill: { times: 'fast' } }));
  writeFileSync(join(dir, 'broken.json'), '{"kind": "bench",');
  const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'scripts', 'charts.mjs'), ...args], { encoding: 'utf8', cwd: dir });
  const r = run('--dir', join(dir, 'out'), 'good.json', 'bad.json', 'broken.json', 'missing.json');
  t.equal(r.status, 1);
  t.match(r.stdout, /promotion\.svg: Promotion time per fault \(from good\.json\)/);
  t.match(r.stderr, /bad\.json: kill\.times: expected an array, got "fast"/);
  t.match(r.stderr, /broken\.json: not a JSON file/);
  t.match(r.stderr, /missing\.json: no such file/);
  parseChart(readFileSync(join(dir, 'out', 'promotion.svg'), 'utf8'));
  const none = run();
  t.equal(none.status, 2);
  t.match(none.stderr, /no results file given\nusage: node scripts\/charts\.mjs/);
});

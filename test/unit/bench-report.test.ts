// docs/benchmarks.md as scripts/lib/bench-report.mjs writes it after a run: the charts drawn from the
// run's results file appear above the tables they draw (and only the charts that were drawn), and the
// header says where the results file is and how to redraw.
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-ignore -- plain ESM script without types (the benches run it straight from scripts/)
import { writeReport } from '../../scripts/lib/bench-report.mjs';
// @ts-ignore -- plain ESM script without types
import { writeCharts } from '../../scripts/lib/charts.mjs';

const step = (rate: number, p50: number, p99: number) => ({
  rate, sustained: rate, completedShare: 1, event: { p50, p99, max: p99 }, setup: { p50, p99 }, answer: { p50, p99 },
  loopP99: 10, cpu: { primary: 0.5, switch: 0.3, desktops: 0.1, caller: 0.1 }, syncLag: [], errors: {}, leaseLost: 0,
});

function run() {
  return {
    kind: 'bench', command: 'node scripts/bench.mjs --quick', started: new Date('2026-12-01T10:00:00Z'), finished: new Date('2026-12-01T10:03:00Z'),
    machine: { nproc: 2, model: 'AMD EPYC', ramGiB: 23.5, platform: 'linux x64', node: 'v20', loadavg: [1, 1, 1] }, loadavgEnd: [1, 1, 1],
    opts: { desktops: 1000, stepMs: 3000, talkMs: 200 },
    modes: { single: { mode: 'single', steps: [step(250, 1.5, 12), step(750, 2, 30)], memPerDesktopKiB: 20, rssBaseKiB: 70_000 } },
    promotion: { status: 0, stdout: 'table', stderr: '', results: { kind: 'promotion', modes: { kill: { role: [20, 30], serve: [30, 40] } } } },
    notes: [],
  };
}

t.test('the charts drawn from the run are shown above their tables', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-report-'));
  const res = run();
  const charts = writeCharts(JSON.parse(JSON.stringify(res)), join(dir, 'charts'), 'bench.json');
  writeReport(res, join(dir, 'benchmarks.md'), charts);
  const md = readFileSync(join(dir, 'benchmarks.md'), 'utf8');
  const latency = md.indexOf('![Event latency against offered load](charts/latency-load.svg)');
  t.ok(latency > md.indexOf('## Throughput and latency') && latency < md.indexOf('### Single T-Server'), 'latency chart between its heading and the first table');
  const promo = md.indexOf('![Promotion time per fault](charts/promotion.svg)');
  t.ok(promo > md.indexOf('## Promotion') && promo < md.indexOf('`node scripts/bench-promotion.mjs`'), 'promotion chart above the promotion table');
  t.match(md, `redraw: \`node scripts/charts.mjs ${join(dir, 'results', 'bench.json')}\``, 'outside the working directory: the absolute path');
});

t.test('no chart drawn, no image', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-report-'));
  writeReport(run(), join(dir, 'benchmarks.md'));
  t.notMatch(readFileSync(join(dir, 'benchmarks.md'), 'utf8'), '![');
});

t.test('CPU per call shows its kernel share in brackets; a results file without it shows the total alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-report-'));
  const res = run();
  res.modes.single.steps = [
    { ...step(500, 2, 20), cpuUsPerCall: { primary: 1458, backup: 608 }, kernelUsPerCall: { primary: 272, backup: 121 } },
    { ...step(1000, 3, 40), cpuUsPerCall: { primary: 851, backup: 310 } },
  ] as typeof res.modes.single.steps;
  writeReport(res, join(dir, 'benchmarks.md'));
  const md = readFileSync(join(dir, 'benchmarks.md'), 'utf8');
  t.match(md, '| CPU µs/call primary (kernel) | CPU µs/call backup (kernel) |');
  t.match(md, '| 1458 (272) | 608 (121) |');
  t.match(md, '| 851 | 310 |');
});

#!/usr/bin/env node
// Redraws the benchmark charts from saved results files (the benches draw them themselves after a run):
//   node scripts/charts.mjs docs/results/bench.json docs/results/stability.json
// writes docs/charts/latency-load.svg, promotion.svg, stability-knee.svg, stability-failover.svg (which
// charts a file gives depends on its kind: scripts/lib/charts.mjs). A file that is not a results file, or
// lacks a field a chart needs, is reported with the field's path (exit 1); the others are still drawn.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseScriptArgs } from './lib/cli-args.mjs';
import { ROOT } from './lib/procs.mjs';
import { ResultsError, writeCharts } from './lib/charts.mjs';
import { ChartSpecError } from './lib/charts-svg.mjs';

const USAGE = 'usage: node scripts/charts.mjs [--dir docs/charts] <results.json...>\n  draws the SVG charts of each results file (written by npm run bench, bench:promotion --out, bench:stability) into --dir';
const { values: a, positionals: files } = parseScriptArgs('charts', USAGE, {
  options: { dir: { type: 'string', default: join(ROOT, 'docs', 'charts') } },
  allowPositionals: true,
});
if (files.length === 0) {
  console.error(`charts: no results file given\n${USAGE}`);
  process.exit(2);
}

let failed = 0;
for (const file of files) {
  let res;
  try {
    res = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`${file}: ${err.code === 'ENOENT' ? 'no such file' : `not a JSON file (${err.message})`}`);
    failed++;
    continue;
  }
  try {
    for (const c of writeCharts(res, a.dir, file)) console.log(`${relative(process.cwd(), c.path) || c.path}: ${c.title} (from ${file})`);
  } catch (err) {
    if (!(err instanceof ResultsError || err instanceof ChartSpecError)) throw err;
    console.error(err.message);
    failed++;
  }
}
process.exit(failed ? 1 : 0);

#!/usr/bin/env node
// `npm run bench:gc`: garbage-collection pauses of a primary's core holding a big state. Builds, in
// process with the pure core (dist/core) and the simulated PBX, 10,000 calls parked at a route point,
// 5,000 logged-in agents, a full journal and full de-dup records (the default bounds), then drives
// steady work (whole calls through route point → queue → agent, answered and released) at `--rate`
// calls/s for `--seconds`, and reports the GC pauses seen by a PerformanceObserver (entryTypes
// ['gc']): major (mark-compact, NODE_PERFORMANCE_GC_MAJOR) p50/p99/max, and the others.
//   node scripts/bench-gc.mjs [--calls 10000] [--agents 5000] [--journal 100000] [--dedup 100000] [--rate 500] [--seconds 20] [--runs 3]
// Each run is a fresh child process (a clean heap). Wrap in `flock /tmp/tandem-bench.lock` (it takes
// ~1 min per run).
import { parseScriptArgs } from './lib/cli-args.mjs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { pct } from './lib/stats.mjs';

const USAGE = 'usage: node scripts/bench-gc.mjs [--calls 10000] [--agents 5000] [--journal N] [--dedup N] [--rate 500] [--seconds 20] [--runs 3]\n(--journal/--dedup default to the core\'s default bounds)';
const { values: a } = parseScriptArgs('bench-gc', USAGE, {
  options: {
    calls: { type: 'string', default: '10000' },
    agents: { type: 'string', default: '5000' },
    journal: { type: 'string' },
    dedup: { type: 'string' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    child: { type: 'boolean', default: false },
  },
});

const KIND = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };

if (a.child) {
  // The same V8 heap tuning a T-Server applies at start (tserver.heapGrowingPercent, default).
  const { applyHeapTuning, DEFAULT_HEAP_GROWING_PERCENT } = await import('../dist/processes/tserver/heap-tuning.js');
  const heap = applyHeapTuning(DEFAULT_HEAP_GROWING_PERCENT);
  const { buildState } = await import('./lib/core-rig.mjs');
  const { defaultCoreConfig } = await import('../dist/core/index.js');
  const d = defaultCoreConfig();
  const t0 = performance.now();
  const rig = buildState({ agents: Number(a.agents), calls: Number(a.calls), journal: Number(a.journal ?? d.journal.maxEvents), dedup: Number(a.dedup ?? d.dedup.maxRecords) });
  const buildMs = performance.now() - t0;
  const pauses = { major: [], minor: [], incremental: [], weakcb: [] };
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) pauses[KIND[e.detail?.kind] ?? 'weakcb']?.push(e.duration); });
  obs.observe({ entryTypes: ['gc'] });
  const rate = Number(a.rate);
  const ms = Number(a.seconds) * 1000;
  let n = 0;
  const start = performance.now();
  const loopMax = { v: 0 };
  let last = performance.now();
  await new Promise((resolve) => {
    const step = () => {
      const t = performance.now();
      loopMax.v = Math.max(loopMax.v, t - last - 5);
      last = t;
      const due = Math.floor(((t - start) * rate) / 1000);
      while (n < due) rig.call(`55${String(n++).padStart(8, '0')}`);
      if (t - start < ms) setTimeout(step, 5);
      else resolve();
    };
    step();
  });
  await new Promise((r) => setTimeout(r, 100));
  obs.disconnect();
  const mem = process.memoryUsage();
  process.send({
    heap, buildMs, calls: n, state: { calls: rig.state.calls.size, agents: rig.state.agents.size, journal: rig.state.journal.length, dedup: rig.state.dedup.size },
    heapUsedMiB: mem.heapUsed / 2 ** 20, rssMiB: mem.rss / 2 ** 20, pauses, loopMaxMs: loopMax.v,
  });
  process.exit(0);
}

const runs = Number(a.runs);
const all = [];
for (let i = 0; i < runs; i++) {
  const args = ['--child', ...process.argv.slice(2).filter((x) => x !== '--child')];
  const r = await new Promise((resolve, reject) => {
    const c = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', resolve);
    c.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  all.push(r);
  const m = r.pauses.major;
  console.log(`run ${i + 1}: state ${JSON.stringify(r.state)} built in ${(r.buildMs / 1000).toFixed(1)} s; heap ${r.heapUsedMiB.toFixed(0)} MiB, RSS ${r.rssMiB.toFixed(0)} MiB; ${r.calls} calls in ${a.seconds} s; major GC n=${m.length} p50 ${pct(m, 50).toFixed(1)} p99 ${pct(m, 99).toFixed(1)} max ${pct(m, 100).toFixed(1)} ms; minor n=${r.pauses.minor.length} p99 ${pct(r.pauses.minor, 99).toFixed(1)} max ${pct(r.pauses.minor, 100).toFixed(1)} ms; loop stall max ${r.loopMaxMs.toFixed(0)} ms`);
}
const fmt = (v) => (Number.isNaN(v) ? 'n/a' : v.toFixed(1));
const row = (kind) => {
  const per = all.map((r) => r.pauses[kind]);
  const merged = per.flat();
  return `| ${kind} | ${merged.length} | ${fmt(pct(merged, 50))} | ${fmt(pct(merged, 99))} | ${fmt(pct(merged, 100))} | ${per.map((p) => fmt(pct(p, 99))).join(' / ')} |`;
};
console.log(`\nGC pauses (ms), ${runs} runs pooled; state: ${a.calls} calls, ${a.agents} agents, journal ${all[0].state.journal}, de-dup ${all[0].state.dedup}; steady work ${a.rate} calls/s for ${a.seconds} s; V8 heap tuning ${JSON.stringify(all[0].heap)} (as a T-Server); heap ${all.map((r) => r.heapUsedMiB.toFixed(0)).join(' / ')} MiB\n`);
console.log('| kind | pauses | p50 | p99 | max | p99 per run |\n|---|---|---|---|---|---|');
for (const k of ['major', 'minor', 'incremental']) console.log(row(k));

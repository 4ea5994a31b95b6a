#!/usr/bin/env node
// `npm run bench:memory`: what the T-Server's state costs in heap, per item, and whether a loaded
// server's memory levels off.
//
// Default (in-process, needs --expose-gc): builds a primary core state of known size with the pure
// core (dist/core) driven by the simulated PBX (dist/processes/switch/pbx.js), and measures heap used per
// journal event, per de-dup record, per call and per logged-in agent (global.gc() before each reading).
//   node --expose-gc scripts/bench-memory.mjs [--calls 10000] [--agents 5000] [--journal 100000] [--runs 3]
//
// --soak SECONDS: real processes (switch + A/B pair in ack mode, default core bounds), `--desktops`
// agent desktops and callers at `--rate` calls/s; prints RSS of both servers and the primary's
// journal/de-dup/heap figures every `--sample` seconds. Wrap runs over ~20 s in
// `flock /tmp/tandem-bench.lock`.
//   flock /tmp/tandem-bench.lock node scripts/bench-memory.mjs --soak 240 --rate 150 --desktops 300
import { parseScriptArgs } from './lib/cli-args.mjs';

const USAGE = 'usage: node --expose-gc scripts/bench-memory.mjs [--calls N] [--agents N] [--journal N] [--runs N]\n       node scripts/bench-memory.mjs --desktop-cost 1000 [--runs 3]\n       node scripts/bench-memory.mjs --soak SECONDS [--rate 150] [--desktops 300] [--talk-ms 1000] [--sample 10] [--mode ack|async|single] [--node-args "--max-semi-space-size=4"]';
const { values: a } = parseScriptArgs('bench-memory', USAGE, {
  options: {
    soak: { type: 'string' },
    'desktop-cost': { type: 'string' },
    rate: { type: 'string', default: '150' },
    desktops: { type: 'string', default: '300' },
    'talk-ms': { type: 'string', default: '1000' },
    sample: { type: 'string', default: '10' },
    mode: { type: 'string', default: 'ack' },
    calls: { type: 'string', default: '10000' },
    agents: { type: 'string', default: '5000' },
    journal: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    'backlog-batches': { type: 'string' },
    'node-args': { type: 'string', default: '' },
  },
});

const log = (s) => console.log(`[bench-memory ${new Date().toISOString().slice(11, 19)}] ${s}`);

if (a.soak) {
  const { soak } = await import('./lib/soak.mjs');
  const r = await soak({ seconds: Number(a.soak), rate: Number(a.rate), desktops: Number(a.desktops), talkMs: Number(a['talk-ms']), sampleMs: Number(a.sample) * 1000, mode: a.mode, log, tserver: a['backlog-batches'] ? { backlogBatches: Number(a['backlog-batches']) } : {}, nodeArgs: a['node-args'].split(' ').filter(Boolean) });
  console.log('\n| t (s) | primary RSS MiB | backup RSS MiB | primary heap MiB | journal | de-dup | calls | GC max since last (ms) |\n|---|---|---|---|---|---|---|---|');
  for (const s of r.samples) console.log(`| ${s.t.toFixed(0)} | ${s.primaryMiB.toFixed(0)} | ${s.backupMiB.toFixed(0)} | ${(s.tandem_heap_used_bytes / 2 ** 20).toFixed(0)} | ${s.tandem_journal_events} | ${s.tandem_dedup_records} | ${s.tandem_calls} | ${(s.tandem_gc_pause_max_seconds * 1000).toFixed(0)} |`);
  console.log('\nprimary V8 heap by space at the end (MiB reserved / used): ' + Object.entries(r.heapSpaces).map(([k, v]) => `${k} ${(v.size / 2 ** 20).toFixed(1)}/${(v.used / 2 ** 20).toFixed(1)}`).join(', '));
  if (r.smaps) console.log('primary /proc/PID/smaps_rollup at the end:\n' + r.smaps.split('\n').filter((l) => /^(Rss|Pss_Anon|Pss_File|Anonymous|Swap):/.test(l)).join('\n'));
  console.log(`\nfailovers: ${r.failovers}; switch link lost: ${r.leaseLost}; command: node scripts/bench-memory.mjs ${process.argv.slice(2).join(' ')}; logs: ${r.logDir}`);
  process.exit(0);
}

if (a['desktop-cost']) {
  const { desktopCost } = await import('./lib/desktop-cost.mjs');
  const runs = [];
  for (let i = 0; i < Number(a.runs); i++) {
    const r = await desktopCost({ desktops: Number(a['desktop-cost']), log });
    log(`run ${i + 1}: ${r.desktops} desktops: heap +${((r.after.heap - r.before.heap) / 2 ** 20).toFixed(1)} MiB (${r.heapPerDesktop.toFixed(0)} B each), RSS +${((r.after.rss - r.before.rss) / 2 ** 20).toFixed(1)} MiB (${r.rssPerDesktop.toFixed(0)} B each)`);
    runs.push(r);
  }
  const med = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(`\nper connected desktop (registered, logged in, Ready; single T-Server; median of ${runs.length} runs of ${a['desktop-cost']}): heap ${med(runs.map((r) => r.heapPerDesktop)).toFixed(0)} B, RSS ${med(runs.map((r) => r.rssPerDesktop)).toFixed(0)} B; command: node scripts/bench-memory.mjs ${process.argv.slice(2).join(' ')}`);
  process.exit(0);
}

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc (global.gc() is needed for exact heap readings)');
  process.exit(2);
}

const { buildState, heapUsed, measurePerItem } = await import('./lib/core-rig.mjs');
const runs = Number(a.runs);
const sizes = { calls: Number(a.calls), agents: Number(a.agents), journal: Number(a.journal) };
const results = [];
for (let i = 0; i < runs; i++) results.push(measurePerItem(sizes));
const med = (k) => results.map((r) => r[k]).sort((x, y) => x - y)[Math.floor(results.length / 2)];
const keys = Object.keys(results[0]);
if (a.json) console.log(JSON.stringify({ sizes, runs: results }, null, 1));
console.log(`heap per item (median of ${runs} runs; node ${process.version}; state: ${sizes.agents} agents, ${sizes.calls} calls, journal ${sizes.journal} events)\n`);
console.log('| item | bytes (median) | runs |\n|---|---|---|');
for (const k of keys) console.log(`| ${k} | ${Math.round(med(k))} | ${results.map((r) => Math.round(r[k])).join(', ')} |`);
const full = buildState({ ...sizes, dedup: 100_000 });
void full;
global.gc();
console.log(`\nheap used with the whole state held: ${(heapUsed() / 2 ** 20).toFixed(1)} MiB`);

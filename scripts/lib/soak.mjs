// The memory soak on real processes: switch + the A/B pair (ack mode, the T-Servers' default core
// bounds), N agent desktops answering every call and releasing it after talkMs, one router desktop,
// and callers at a fixed rate for a fixed time. Samples both servers' RSS and the primary's
// collection sizes (/metrics) every `sampleMs`, so the curve shows whether memory levels off.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rssKiB, writeConfig } from './procs.mjs';
import { startSystem, QUEUE, ROUTE_POINT } from './system.mjs';
import { forkWorker } from './workers.mjs';
import { metricValue, sleep } from './stats.mjs';

/** The bench's config minus the journal override: the core runs with its default bounds. */
function soakConfig(core = {}, tserver = {}) {
  return writeConfig({
    switch: { dialPlan: { extensions: ['5000-5999'], queues: ['7000-7009'], routePoints: ['8000-8009'] } },
    tserver: { maxQueuedMessages: 50_000, maxBufferedBytes: 32 * 1024 * 1024, maxRequestsPerSecond: 0, maxDNsPerClient: 0, maxConnections: 10_000, ...tserver },
    core: {
      queues: { [QUEUE]: { wrapUpMs: 0, treatment: 'music' } },
      routePoints: { [ROUTE_POINT]: { defaultTarget: QUEUE, timeoutMs: 10_000 } },
      ...core,
    },
  });
}

const METRICS = ['tandem_journal_events', 'tandem_calls', 'tandem_dedup_records', 'tandem_heap_used_bytes', 'tandem_heap_total_bytes', 'tandem_external_memory_bytes', 'tandem_gc_pause_max_seconds'];

export async function soak({ seconds, rate, desktops, talkMs, sampleMs = 10_000, mode = 'ack', log, core, tserver, nodeArgs = [] }) {
  // Every role change is counted from the processes' log files (the in-memory tail is bounded).
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-soak-'));
  log?.(`soak: process logs in ${logDir}`);
  const sys = await startSystem({ mode, config: soakConfig(core, tserver), log, logDir, nodeArgs: { A: nodeArgs, B: nodeArgs } });
  const desk = forkWorker('desktops.mjs');
  const caller = forkWorker('caller.mjs');
  const samples = [];
  try {
    const primary = await sys.primary();
    const backup = Object.values(sys.servers).find((s) => s !== primary);
    await caller.call('setup', { address: sys.sw.address });
    await desk.call('setup', { url: primary.url, dns: Array.from({ length: desktops }, (_, i) => String(5000 + i)), queue: QUEUE, routePoint: ROUTE_POINT, talkMs });
    const t0 = Date.now();
    const sample = async () => {
      const m = await primary.metrics().catch(() => '');
      const s = { t: (Date.now() - t0) / 1000, primaryMiB: rssKiB(primary.proc.pid) / 1024, backupMiB: backup ? rssKiB(backup.proc.pid) / 1024 : NaN };
      for (const k of METRICS) s[k] = metricValue(m, k);
      const w = await desk.call('collect');
      s.rings = w.rings.length / 2;
      s.errors = w.errors;
      s.closed = w.closed;
      samples.push(s);
      log?.(`soak t=${s.t.toFixed(0)} s: RSS primary ${s.primaryMiB.toFixed(0)} MiB, backup ${s.backupMiB.toFixed(0)} MiB; journal ${s.tandem_journal_events}, dedup ${s.tandem_dedup_records}, calls ${s.tandem_calls}, heap ${(s.tandem_heap_used_bytes / 2 ** 20).toFixed(0)}/${(s.tandem_heap_total_bytes / 2 ** 20).toFixed(0)} MiB, external ${(s.tandem_external_memory_bytes / 2 ** 20).toFixed(0)} MiB, gc max ${(s.tandem_gc_pause_max_seconds * 1000).toFixed(0)} ms; rang ${s.rings}${Object.keys(s.errors).length ? ` errors ${JSON.stringify(s.errors)}` : ''}`);
    };
    await sample();
    const run = caller.call('run', { rate, ms: seconds * 1000, dnis: ROUTE_POINT, prefix: '5' }, seconds * 1000 + 60_000);
    const timer = setInterval(() => void sample(), sampleMs);
    await run;
    clearInterval(timer);
    await sleep(talkMs + 1000);
    await sample();
    const finalMetrics = await primary.metrics().catch(() => '');
    const heapSpaces = [...finalMetrics.matchAll(/^tandem_heap_space_bytes\{space="(\w+)",kind="(\w+)"\} (\d+)$/gm)]
      .reduce((acc, [, space, kind, v]) => ({ ...acc, [space]: { ...acc[space], [kind]: Number(v) } }), {});
    let smaps = '';
    try { smaps = readFileSync(`/proc/${primary.proc.pid}/smaps_rollup`, 'utf8'); } catch { /* not Linux */ }
    const promotions = ['tserver-A', 'tserver-B'].flatMap((n) => {
      try { return readFileSync(join(logDir, `${n}.log`), 'utf8').split('\n').filter((l) => l.includes('"msg":"role changed"') && l.includes('"to":"primary"')); } catch { return []; }
    });
    // The first grant of the run is the start-up; every later one is a failover.
    return { samples, heapSpaces, smaps, leaseLost: primary.proc.warnCounts.get('switch link down') ?? 0, failovers: Math.max(0, promotions.length - 1), logDir };
  } finally {
    await desk.close();
    await caller.close();
    await sys.stop();
  }
}

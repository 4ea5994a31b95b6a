// The process's own figures on /metrics under the tandem_* names that docs, benches and tests read:
// event-loop delay (since the last scrape, and over a sliding window), garbage-collection pauses (a
// long major GC pause stalls lease renewals and heartbeats: the figure to watch before a false
// failover), heap, RSS and V8 heap spaces. prom-client's default process metrics (process_*,
// nodejs_*) are collected once per process into their own registry (processRegistry()).
import { readdirSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { constants as perf, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Histogram, Registry, Summary } from 'prom-client';

/** Upper bounds (s) of the GC pause histogram's buckets. */
export const GC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const GC_KINDS: Record<number, string> = {
  [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Quantiles read from a perf_hooks histogram (ns), in seconds, with its sum and count. */
interface DelaySnapshot { p50: number; p99: number; max: number; sum: number; count: number }

/**
 * A summary whose quantiles come from a perf_hooks histogram rather than from observe(): the
 * exposition type stays `summary`, so promtool accepts the `quantile` label (a gauge may not carry it).
 */
class DelaySummary extends Summary {
  constructor(private readonly family: string, help: string, registry: Registry, private readonly read: () => DelaySnapshot) {
    super({ name: family, help, percentiles: [0.5, 0.99, 1], registers: [registry] });
  }

  override async get(): ReturnType<Summary['get']> {
    const base = await super.get();
    const d = this.read();
    return {
      ...base,
      values: [
        { labels: { quantile: 0.5 }, value: d.p50 }, { labels: { quantile: 0.99 }, value: d.p99 }, { labels: { quantile: 1 }, value: d.max },
        { metricName: `${this.family}_sum`, labels: {}, value: d.sum }, { metricName: `${this.family}_count`, labels: {}, value: d.count },
      ],
    };
  }
}

function snapshot(hs: IntervalHistogram[]): DelaySnapshot {
  const live = hs.filter((h) => h.count > 0);
  if (live.length === 0) return { p50: 0, p99: 0, max: 0, sum: 0, count: 0 };
  const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  // Quantiles of several histograms: the larger of each (a conservative merge, cheap).
  return {
    p50: s(Math.max(...live.map((h) => h.percentile(50)))), p99: s(Math.max(...live.map((h) => h.percentile(99)))), max: s(Math.max(...live.map((h) => h.max))),
    sum: s(live.reduce((a, h) => a + h.mean * h.count, 0)), count: live.reduce((a, h) => a + h.count, 0),
  };
}

/** Event-loop delay over the last WINDOW_MS: two histograms swapped every half window. */
class WindowedDelay {
  static readonly WINDOW_MS = 10_000;
  private current = monitorEventLoopDelay({ resolution: 10 });
  private previous: IntervalHistogram | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.current.enable();
    this.timer = setInterval(() => {
      this.previous?.disable();
      this.previous = this.current;
      this.current = monitorEventLoopDelay({ resolution: 10 });
      this.current.enable();
    }, WindowedDelay.WINDOW_MS / 2).unref();
  }

  /** The older half-window's histogram covers 5-10 s ago, the current one the rest. */
  read(): DelaySnapshot { return snapshot([this.current, ...(this.previous ? [this.previous] : [])]); }

  stop(): void {
    clearInterval(this.timer);
    this.current.disable();
    this.previous?.disable();
  }
}

/** The tandem_* runtime families of one Metrics registry; stop() ends its observers and timers. */
export class RuntimeMetrics {
  /** Event-loop delay since the previous scrape (reset by each scrape). */
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });
  private readonly window = new WindowedDelay();
  private readonly gcObserver: PerformanceObserver;
  private readonly gcPauses: Histogram<'kind'>;
  private gcMaxSinceScrape = 0;

  constructor(registry: Registry) {
    this.loop.enable();
    const registers = [registry];
    new DelaySummary('tandem_event_loop_lag_seconds', 'Event-loop delay since the last scrape (perf_hooks monitorEventLoopDelay).', registry, () => {
      const d = snapshot([this.loop]);
      this.loop.reset();
      return d;
    });
    new DelaySummary('tandem_event_loop_delay_seconds',
      `Event-loop delay over the last ${WindowedDelay.WINDOW_MS / 1000} s (perf_hooks, resolution 10 ms: idle reads ~0.01), not reset by scrapes.`,
      registry, () => this.window.read());
    this.gcPauses = new Histogram({ name: 'tandem_gc_pause_seconds', help: 'Garbage-collection pauses by kind (major = mark-compact).', labelNames: ['kind'], buckets: GC_BUCKETS, registers });
    const self = this;
    new Gauge({
      name: 'tandem_gc_pause_max_seconds', help: 'Longest garbage-collection pause since the previous scrape.', registers,
      collect() { this.set(self.gcMaxSinceScrape); self.gcMaxSinceScrape = 0; },
    });
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = GC_KINDS[((e as unknown as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind ?? -1] ?? 'other';
        this.recordGc(kind, e.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
    const memory: [string, string, keyof NodeJS.MemoryUsage][] = [
      ['tandem_heap_used_bytes', 'V8 heap in use (process.memoryUsage().heapUsed).', 'heapUsed'],
      ['tandem_heap_total_bytes', 'V8 heap reserved (process.memoryUsage().heapTotal).', 'heapTotal'],
      ['tandem_external_memory_bytes', 'Memory of Buffers and other C++ objects bound to JS (process.memoryUsage().external).', 'external'],
      ['tandem_resident_memory_bytes', 'Resident set size (process.memoryUsage().rss).', 'rss'],
    ];
    for (const [name, help, field] of memory) new Gauge({ name, help, registers, collect() { this.set(process.memoryUsage()[field]); } });
    // Which V8 space holds the heap (young generation, old space, code…): what a memory budget is tuned by.
    new Gauge({
      name: 'tandem_heap_space_bytes', help: 'V8 heap per space (v8.getHeapSpaceStatistics): reserved ("size") and in use ("used").', labelNames: ['space', 'kind'], registers,
      collect() {
        for (const sp of getHeapSpaceStatistics()) {
          this.set({ space: sp.space_name, kind: 'size' }, sp.space_size);
          this.set({ space: sp.space_name, kind: 'used' }, sp.space_used_size);
        }
      },
    });
  }

  /** One GC pause (s): the histogram and the longest-since-scrape gauge. */
  recordGc(kind: string, seconds: number): void {
    this.gcPauses.observe({ kind }, seconds);
    if (seconds > this.gcMaxSinceScrape) this.gcMaxSinceScrape = seconds;
  }

  stop(): void {
    this.loop.disable();
    this.window.stop();
    this.gcObserver.disconnect();
  }
}

let processRegistry: Registry | undefined;

/**
 * prom-client's default metrics that walk every handle or file descriptor of the process at each
 * scrape: with 1,000 desktops a scrape cost 2.5 ms of CPU, 1.7 ms of it these (measured in one process,
 * 1,000 sockets). The connection counts are tandem's own gauges; nodejs_eventloop_lag_* (a setImmediate
 * timed at scrape time) is what tandem_event_loop_lag_seconds measures continuously.
 */
const PER_HANDLE_DEFAULTS = [
  'nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_requests', 'nodejs_active_requests_total',
  'nodejs_active_resources', 'nodejs_active_resources_total',
  'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_min_seconds', 'nodejs_eventloop_lag_max_seconds', 'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds', 'nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p90_seconds', 'nodejs_eventloop_lag_p99_seconds',
  'process_open_fds',
];

/** How old process_open_fds may be: a readdir of /proc/self/fd costs ~0.5 ms per 1,000 sockets. */
export const OPEN_FDS_MAX_AGE_MS = 10_000;

/**
 * prom-client's default metrics (process_* CPU, RSS, start time, max fds; nodejs_* GC durations, heap
 * spaces, version): one set per process, shared by every Metrics in it, since they describe the
 * process, not a server. Without the per-handle ones (above); process_open_fds is read at most every
 * OPEN_FDS_MAX_AGE_MS.
 */
export function defaultProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    for (const name of PER_HANDLE_DEFAULTS) processRegistry.removeSingleMetric(name);
    let fds = openFds();
    let readAt = Date.now();
    new Gauge({
      name: 'process_open_fds', help: `Number of open file descriptors (read at most every ${OPEN_FDS_MAX_AGE_MS / 1000} s).`, registers: [processRegistry],
      collect() {
        if (Date.now() - readAt >= OPEN_FDS_MAX_AGE_MS) { fds = openFds(); readAt = Date.now(); }
        if (fds !== undefined) this.set(fds);
      },
    });
  }
  return processRegistry;
}

function openFds(): number | undefined {
  try { return readdirSync('/proc/self/fd').length; } catch { return undefined; }
}

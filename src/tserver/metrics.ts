// Prometheus text exposition, hand-written (no client library): counters with labels, gauges read
// at scrape time, the event-loop lag from perf_hooks, and garbage-collection pauses (a long major GC
// pause stalls lease renewals and heartbeats: the figure to watch before a false failover).
import { getHeapSpaceStatistics } from 'node:v8';
import { constants as perf, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

type Labels = Record<string, string>;

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  /** Same samples by the labels' values in the caller's key order: inc() without sorting and escaping. */
  byValues: Map<string, { labels: Labels; value: number }>;
}

/** A gauge sample computed at scrape time. */
export type GaugeSample = { labels?: Labels; value: number };

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly gauges = new Map<string, { help: string; read: () => GaugeSample[] }>();
  private readonly loop: IntervalHistogram;
  /** Event-loop delay over a sliding window, independent of scrapes (tandem_event_loop_delay_seconds). */
  private readonly delay = new WindowedDelay();
  readonly gc = new GcPauses();

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
  }

  /** Called per request and per frame: the label text is computed once per distinct label set. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { help, type: 'counter', values: new Map(), byValues: new Map() }));
    let fast = '';
    for (const k in labels) fast += `${k}\u0001${labels[k]}\u0002`;
    let v = f.byValues.get(fast);
    if (!v) {
      const key = labelText(labels);
      v = f.values.get(key);
      if (!v) f.values.set(key, (v = { labels, value: 0 }));
      f.byValues.set(fast, v);
    }
    v.value += by;
  }

  /** Registers a gauge read at scrape time (clients, calls, agents by state…). */
  gauge(name: string, help: string, read: () => GaugeSample[] | number): void {
    this.gauges.set(name, { help, read: () => { const r = read(); return typeof r === 'number' ? [{ value: r }] : r; } });
  }

  /** The /metrics body. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const { labels, value } of f.values.values()) out.push(`${name}${labelText(labels)} ${value}`);
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
      for (const s of g.read()) out.push(`${name}${labelText(s.labels ?? {})} ${s.value}`);
    }
    const ns = (v: number) => (Number.isFinite(v) ? v / 1e9 : 0);
    out.push('# HELP tandem_event_loop_lag_seconds Event-loop delay since the last scrape (perf_hooks monitorEventLoopDelay).',
      '# TYPE tandem_event_loop_lag_seconds gauge',
      `tandem_event_loop_lag_seconds{quantile="0.5"} ${ns(this.loop.percentile(50))}`,
      `tandem_event_loop_lag_seconds{quantile="0.99"} ${ns(this.loop.percentile(99))}`,
      `tandem_event_loop_lag_seconds{quantile="1"} ${ns(this.loop.max)}`);
    this.loop.reset();
    const d = this.delay.read();
    out.push(`# HELP tandem_event_loop_delay_seconds Event-loop delay over the last ${WindowedDelay.WINDOW_MS / 1000} s (perf_hooks, resolution 10 ms: idle reads ~0.01), not reset by scrapes.`,
      '# TYPE tandem_event_loop_delay_seconds gauge',
      `tandem_event_loop_delay_seconds{quantile="0.5"} ${ns(d.p50)}`,
      `tandem_event_loop_delay_seconds{quantile="0.99"} ${ns(d.p99)}`,
      `tandem_event_loop_delay_seconds{quantile="1"} ${ns(d.max)}`);
    out.push(...this.gc.render());
    const mem = process.memoryUsage();
    out.push('# HELP tandem_heap_used_bytes V8 heap in use (process.memoryUsage().heapUsed).', '# TYPE tandem_heap_used_bytes gauge', `tandem_heap_used_bytes ${mem.heapUsed}`,
      '# HELP tandem_heap_total_bytes V8 heap reserved (process.memoryUsage().heapTotal).', '# TYPE tandem_heap_total_bytes gauge', `tandem_heap_total_bytes ${mem.heapTotal}`,
      '# HELP tandem_external_memory_bytes Memory of Buffers and other C++ objects bound to JS (process.memoryUsage().external).', '# TYPE tandem_external_memory_bytes gauge', `tandem_external_memory_bytes ${mem.external}`,
      '# HELP tandem_resident_memory_bytes Resident set size (process.memoryUsage().rss).', '# TYPE tandem_resident_memory_bytes gauge', `tandem_resident_memory_bytes ${mem.rss}`);
    // Which V8 space holds the heap (young generation, old space, code…): what a memory budget is tuned by.
    out.push('# HELP tandem_heap_space_bytes V8 heap per space (v8.getHeapSpaceStatistics): reserved ("size") and in use ("used").', '# TYPE tandem_heap_space_bytes gauge');
    for (const sp of getHeapSpaceStatistics()) {
      out.push(`tandem_heap_space_bytes{space="${sp.space_name}",kind="size"} ${sp.space_size}`, `tandem_heap_space_bytes{space="${sp.space_name}",kind="used"} ${sp.space_used_size}`);
    }
    return out.join('\n') + '\n';
  }

  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelText(labels))?.value ?? 0;
  }

  stop(): void {
    this.loop.disable();
    this.delay.stop();
    this.gc.stop();
  }
}

/** Event-loop delay p50/p99/max over the last WINDOW_MS: two histograms swapped every half window. */
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

  /** The older half-window's histogram covers 5-10 s ago, the current one the rest (ns). */
  read(): { p50: number; p99: number; max: number } {
    const hs = [this.current, ...(this.previous ? [this.previous] : [])].filter((h) => h.count > 0);
    if (hs.length === 0) return { p50: 0, p99: 0, max: 0 };
    // Quantiles of the two halves: the larger of each (a conservative merge, cheap).
    return { p50: Math.max(...hs.map((h) => h.percentile(50))), p99: Math.max(...hs.map((h) => h.percentile(99))), max: Math.max(...hs.map((h) => h.max)) };
  }

  stop(): void {
    clearInterval(this.timer);
    this.current.disable();
    this.previous?.disable();
  }
}

const GC_KINDS: Record<number, string> = {
  [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Upper bounds (s) of the GC pause histogram's buckets. */
export const GC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * GC pauses from a PerformanceObserver (entryTypes ['gc']): `tandem_gc_pause_seconds{kind}` histogram
 * (cumulative) and `tandem_gc_pause_max_seconds` (the longest pause since the previous scrape).
 */
export class GcPauses {
  private readonly byKind = new Map<string, { buckets: number[]; count: number; sum: number }>();
  private maxSinceScrape = 0;
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = GC_KINDS[((e as unknown as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind ?? -1] ?? 'other';
        this.record(kind, e.duration / 1000);
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  record(kind: string, seconds: number): void {
    let h = this.byKind.get(kind);
    if (!h) this.byKind.set(kind, (h = { buckets: GC_BUCKETS.map(() => 0), count: 0, sum: 0 }));
    for (let i = 0; i < GC_BUCKETS.length; i++) if (seconds <= GC_BUCKETS[i]!) h.buckets[i]! += 1;
    h.count += 1;
    h.sum += seconds;
    if (seconds > this.maxSinceScrape) this.maxSinceScrape = seconds;
  }

  render(): string[] {
    const out = ['# HELP tandem_gc_pause_seconds Garbage-collection pauses by kind (major = mark-compact).', '# TYPE tandem_gc_pause_seconds histogram'];
    for (const [kind, h] of this.byKind) {
      GC_BUCKETS.forEach((le, i) => out.push(`tandem_gc_pause_seconds_bucket{kind="${kind}",le="${le}"} ${h.buckets[i]}`));
      out.push(`tandem_gc_pause_seconds_bucket{kind="${kind}",le="+Inf"} ${h.count}`, `tandem_gc_pause_seconds_sum{kind="${kind}"} ${h.sum}`, `tandem_gc_pause_seconds_count{kind="${kind}"} ${h.count}`);
    }
    out.push('# HELP tandem_gc_pause_max_seconds Longest garbage-collection pause since the previous scrape.', '# TYPE tandem_gc_pause_max_seconds gauge', `tandem_gc_pause_max_seconds ${this.maxSinceScrape}`);
    this.maxSinceScrape = 0;
    return out;
  }

  stop(): void { this.observer.disconnect(); }
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

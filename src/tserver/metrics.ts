// Prometheus text exposition, hand-written (no client library): counters with labels, gauges read
// at scrape time, and the event-loop lag from perf_hooks.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

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
    return out.join('\n') + '\n';
  }

  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelText(labels))?.value ?? 0;
  }

  stop(): void { this.loop.disable(); }
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

// /metrics through prom-client (a kept library instead of hand-written exposition text): counters
// declared once in metric-catalog.ts, gauges read at scrape time, the tandem_* runtime families
// (runtime-metrics.ts) and prom-client's default process metrics. The class is a thin facade so
// callers increment by name and register gauges without touching prom-client types.
import { Counter, Gauge, Registry } from 'prom-client';
import { COUNTERS, type CounterName, type IncArgs } from './metric-catalog.js';
import { defaultProcessRegistry, RuntimeMetrics } from './runtime-metrics.js';

export { GC_BUCKETS } from './runtime-metrics.js';

/** A gauge sample computed at scrape time; its labels are exactly the gauge's declared label names. */
export type GaugeSample<L extends string = never> = { labels: Record<L, string>; value: number };

type AnyCounter = Counter<string>;

/** Increments of one counter and label set not yet handed to prom-client. */
interface Pending { counter: AnyCounter; labels: Record<string, string> | undefined; n: number }

export class Metrics {
  private readonly registry = new Registry();
  private readonly counters: Record<CounterName, AnyCounter>;
  private readonly runtime: RuntimeMetrics;
  /**
   * Increments since the last scrape, by counter name and label values. inc() runs per request and
   * per frame: adding to a number here instead of prom-client's inc (which validates and hashes the
   * label object each time) takes it off the hot path; every counter's collect() hands them over, so
   * a scrape (or value()) sees them all. Entries stay (n back to 0): label sets are few and recurring.
   */
  private readonly pending = new Map<string, Pending>();

  constructor() {
    const registers = [this.registry];
    const flush = (): void => this.flush();
    this.counters = Object.fromEntries(Object.entries(COUNTERS).map(([name, c]) =>
      [name, new Counter({ name, help: c.help, labelNames: c.labelNames, registers, collect: flush })])) as Record<CounterName, AnyCounter>;
    this.runtime = new RuntimeMetrics(this.registry);
  }

  /**
   * Called per request and per frame. Labels are copied in the declared order, so the exposition
   * prints them the same way whatever order the caller wrote them in.
   */
  inc<N extends CounterName>(name: N, ...args: IncArgs<N>): void {
    const names: readonly string[] = COUNTERS[name].labelNames;
    let key: string = name;
    let by: number;
    let given: Record<string, string> | undefined;
    if (names.length === 0) {
      by = (args[0] as number | undefined) ?? 1;
    } else {
      given = args[0] as Record<string, string>;
      by = (args[1] as number | undefined) ?? 1;
      for (const n of names) key += `\u0000${given[n]}`;
    }
    const p = this.pending.get(key);
    if (p) {
      p.n += by;
      return;
    }
    let labels: Record<string, string> | undefined;
    if (given) {
      labels = {};
      for (const n of names) labels[n] = given[n]!;
    }
    // The first increment of a label set goes to prom-client at once: the set is exported from now on
    // (even an inc by 0), as before.
    const counter = this.counters[name];
    if (labels) counter.inc(labels, by);
    else counter.inc(by);
    this.pending.set(key, { counter, labels, n: 0 });
  }

  /** Hands the pending increments to prom-client (every counter's collect, before a scrape). */
  private flush(): void {
    for (const p of this.pending.values()) {
      if (p.n === 0) continue;
      if (p.labels) p.counter.inc(p.labels, p.n);
      else p.counter.inc(p.n);
      p.n = 0;
    }
  }

  /** Registers a gauge without labels, read at scrape time (calls, epoch, lag…). Each name once. */
  gauge(name: string, help: string, read: () => number): void;
  /** Registers a gauge with declared label names; read() returns one sample per label set, read at scrape time. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => readonly GaugeSample<L>[]): void;
  gauge<L extends string>(name: string, help: string, a: readonly L[] | (() => number), b?: () => readonly GaugeSample<L>[]): void {
    if (typeof a === 'function') {
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(a()); } });
      return;
    }
    const read = b!;
    new Gauge<L>({
      name, help, labelNames: a, registers: [this.registry],
      // Reset first: a label set that is gone (an agent state nobody is in) leaves the exposition.
      collect() {
        this.reset();
        for (const s of read()) this.set(s.labels as Partial<Record<L, string>>, s.value);
      },
    });
  }

  /** Registers a counter whose count lives elsewhere (promotions…), read at scrape time. Each name once. */
  counter(name: string, help: string, read: () => number): void;
  /** The same with declared label names: one sample per label set. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => readonly GaugeSample<L>[]): void;
  counter<L extends string>(name: string, help: string, a: readonly L[] | (() => number), b?: () => readonly GaugeSample<L>[]): void {
    if (typeof a === 'function') {
      new Counter({ name, help, registers: [this.registry], collect() { this.reset(); this.inc(a()); } });
      return;
    }
    const read = b!;
    new Counter<L>({
      name, help, labelNames: a, registers: [this.registry],
      collect() {
        this.reset();
        for (const s of read()) this.inc(s.labels as Partial<Record<L, string>>, s.value);
      },
    });
  }

  /** The /metrics body: this server's families, then the process's default metrics. */
  async render(): Promise<string> {
    const [own, proc] = await Promise.all([this.registry.metrics(), defaultProcessRegistry().metrics()]);
    return `${own}\n${proc}`;
  }

  /** A counter's current value for one label set (tests). */
  async value<N extends CounterName>(name: N, ...args: IncArgs<N>): Promise<number> {
    const names: readonly string[] = COUNTERS[name].labelNames;
    const want = (names.length === 0 ? {} : args[0]) as Record<string, string>;
    const got = await this.counters[name].get();
    const v = got.values.find((s) => names.every((n) => String(s.labels[n]) === want[n]));
    return v?.value ?? 0;
  }

  stop(): void { this.runtime.stop(); }
}

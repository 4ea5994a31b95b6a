// A manual clock for Tandem's own code in a loopback test: every timer set and every time read
// (setTimeout, setInterval, Date.now, performance.now) made from a file under src/ runs on this
// clock, which moves only when the test calls advance(); calls from anywhere else (grpc-js, ws,
// pino, tap, the test itself) keep the real clock. The sockets stay real, the waiting is the test's.
//
// Why not a Clock option (src/lib/clock.ts): the adapters under test (gateway, sync primary and
// backup, the ADDP monitor behind them) read the global timers directly, and the test files must
// not change them. Why scoped to src/: faking every timer of the process would freeze grpc-js's and
// ws's own housekeeping and the test's own timeouts.
//
// The caller is found from the V8 call site (one frame up), so a src/ function that sets a timer
// through a helper in src/ is on this clock too. setImmediate and process.nextTick are left alone:
// they are turns of the event loop, not time.
import { fileURLToPath } from 'node:url';

interface Teardown { teardown(fn: () => unknown): void }

/** A timer made by src/ code while the clock was installed. */
class OwnTimer {
  constructor(readonly id: number, public due: number, readonly repeatMs: number | undefined, readonly fn: () => void, readonly file: string) {}
  ref(): this { return this; }
  unref(): this { return this; }
  hasRef(): boolean { return false; }
  refresh(): this { return this; }
  [Symbol.toPrimitive](): number { return this.id; }
}

/** A pending timer, as a test may assert on it: due in `inMs`, set from `file` (relative to src/). */
export interface PendingTimer { inMs: number; repeatMs: number | undefined; file: string }

const SRC_URL = new URL('../../src/', import.meta.url).href;
const SRC_PATH = fileURLToPath(SRC_URL);

/** The file (relative to src/) of the function that called the patched global, or undefined when not src/. */
function ownCaller(patched: (...args: never[]) => unknown): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  const holder: { stack?: string } = {};
  try {
    Error.captureStackTrace(holder, patched);
  } finally {
    Error.stackTraceLimit = limit;
  }
  // One frame, "    at fn (file:///…/src/x.ts:1:2)" (with --enable-source-maps the stack is always
  // formatted text: a prepareStackTrace of ours would be bypassed).
  const frame = holder.stack?.split('\n', 2)[1] ?? '';
  for (const root of [SRC_URL, SRC_PATH]) {
    const i = frame.indexOf(root);
    if (i >= 0) return frame.slice(i + root.length).replace(/:\d+:\d+\)?$/, '');
  }
  return undefined;
}

/**
 * Resolves with `p`, or rejects after `ms` of REAL time naming `what`: waits for the effects of a
 * manual clock's advance() (a frame on a real socket) fail in seconds instead of hanging the file.
 */
export function within<T>(p: Promise<T>, what: string, ms = 5_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e as Error); });
  });
}

export class OwnClock {
  private timers: OwnTimer[] = [];
  private nextId = 1;
  /** ms advanced since install. */
  private elapsed = 0;
  private readonly dateBase: number;
  private readonly perfBase: number;
  private restore: (() => void) | undefined;

  constructor() {
    this.dateBase = Date.now();
    // Whole milliseconds: sums and differences of the times src/ code reads stay exact (a fractional
    // base makes 50 + 50 + … come to 1599.999… and a verdict at 1600 ms slip a check).
    this.perfBase = Math.ceil(performance.now());
  }

  /** Installs the clock until the test ends. */
  static install(t: Teardown): OwnClock {
    const c = new OwnClock();
    c.patch();
    t.teardown(() => c.uninstall());
    return c;
  }

  /** What performance.now() returns to src/ code now. */
  perfNow(): number { return this.perfBase + this.elapsed; }
  /** What Date.now() returns to src/ code now. */
  dateNow(): number { return this.dateBase + this.elapsed; }

  /** Timers src/ code has pending, soonest first. */
  pending(fileEnd?: string): PendingTimer[] {
    return [...this.timers].sort((a, b) => a.due - b.due || a.id - b.id)
      .filter((x) => fileEnd === undefined || x.file.endsWith(fileEnd))
      .map((x) => ({ inMs: x.due - this.elapsed, repeatMs: x.repeatMs, file: x.file }));
  }

  /**
   * Moves time forward by `ms`, firing every due timer in due order (intervals as often as they fall
   * due), each seeing the clock at its due time. Synchronous: what a timer sends goes out on the
   * real sockets after this returns.
   */
  advance(ms: number): void {
    const until = this.elapsed + ms;
    for (;;) {
      let next: OwnTimer | undefined;
      for (const x of this.timers) if (x.due <= until && (!next || x.due < next.due || (x.due === next.due && x.id < next.id))) next = x;
      if (!next) break;
      this.elapsed = next.due;
      if (next.repeatMs === undefined) this.timers = this.timers.filter((x) => x !== next);
      else next.due += next.repeatMs;
      next.fn();
    }
    this.elapsed = until;
  }

  private patch(): void {
    const g = globalThis as unknown as Record<string, unknown>;
    const real = {
      setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval,
      clearTimeout: globalThis.clearTimeout, clearInterval: globalThis.clearInterval,
      dateNow: Date.now,
    };
    const add = (file: string, fn: (...a: unknown[]) => void, ms: number | undefined, args: unknown[], repeat: boolean): OwnTimer => {
      const delay = Math.max(1, Math.floor(Number(ms) || 0));
      const x = new OwnTimer(this.nextId++, this.elapsed + delay, repeat ? delay : undefined, () => fn(...args), file);
      this.timers.push(x);
      return x;
    };
    const clear = (h: unknown, realClear: (h: never) => void): void => {
      if (h instanceof OwnTimer) this.timers = this.timers.filter((x) => x !== h);
      else realClear(h as never);
    };
    const fakeSetTimeout = function (this: unknown, fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
      const file = ownCaller(fakeSetTimeout);
      return file === undefined ? real.setTimeout(fn, ms, ...args) : add(file, fn, ms, args, false);
    };
    const fakeSetInterval = function (this: unknown, fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
      const file = ownCaller(fakeSetInterval);
      return file === undefined ? real.setInterval(fn, ms, ...args) : add(file, fn, ms, args, true);
    };
    const self = this;
    const fakeDateNow = function () { return ownCaller(fakeDateNow) === undefined ? real.dateNow() : self.dateNow(); };
    const realPerfNow = performance.now.bind(performance);
    const fakePerfNow = function () { return ownCaller(fakePerfNow) === undefined ? realPerfNow() : self.perfNow(); };
    g.setTimeout = fakeSetTimeout;
    g.setInterval = fakeSetInterval;
    g.clearTimeout = (h: unknown) => clear(h, real.clearTimeout as (h: never) => void);
    g.clearInterval = (h: unknown) => clear(h, real.clearInterval as (h: never) => void);
    Date.now = fakeDateNow;
    Object.defineProperty(performance, 'now', { value: fakePerfNow, configurable: true, writable: true });
    this.restore = () => {
      g.setTimeout = real.setTimeout;
      g.setInterval = real.setInterval;
      g.clearTimeout = real.clearTimeout;
      g.clearInterval = real.clearInterval;
      Date.now = real.dateNow;
      delete (performance as unknown as Record<string, unknown>).now;
    };
  }

  /** Puts the real clock back; timers still pending on this one are dropped (never fire). */
  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
    this.timers = [];
  }
}

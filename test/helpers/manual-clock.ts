// A Clock (src/lib/clock.ts) that moves only when the test says so: timers fire in due order
// during advance(), each seeing now() at its due time.
import type { Clock, ClockTimer } from '../../src/lib/clock.js';

interface Pending { due: number; fn: () => void; timer: ClockTimer }

export class ManualClock implements Clock {
  private pending: Pending[] = [];

  constructor(private time = 1_000_000) {}

  now(): number { return this.time; }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer: ClockTimer = { clockTimer: true };
    this.pending.push({ due: this.time + Math.max(0, ms), fn, timer });
    return timer;
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    this.pending = this.pending.filter((p) => p.timer !== timer);
  }

  /** Timers not yet fired. */
  get timers(): number { return this.pending.length; }

  /** Moves time forward by ms, firing every timer due by then (including ones set meanwhile). */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.pending.filter((p) => p.due <= until).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.time = next.due;
      next.fn();
    }
    this.time = until;
  }
}

// Time and one-shot timers behind one small interface, so a component that waits (a damping delay, a
// claim window) can be driven by a test's manual clock instead of the test sleeping.

/** A timer handle from Clock.setTimeout; only the clock that made it can cancel it. */
export type ClockTimer = { readonly clockTimer: true } | NodeJS.Timeout;

export interface Clock {
  /** Milliseconds, monotonic enough for timeouts (Date.now() for the system clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
}

/** The process's own clock and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

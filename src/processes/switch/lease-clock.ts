// The clock the switch judges leases on. Pure: real monotonic time comes in as `now`.
//
// The switch's own event loop can stall (GC, a long turn, SIGSTOP). Measured on the real clock, a
// stall of the switch would lapse the lease of a holder whose renewals are waiting, unread, in the
// switch's socket: the switch, not the holder, failed. So each observed gap counts at most
// `maxStepMs` (2 × the lapse-check period): a stall of any length advances lease time by at most
// one step, and the renewals read right after it (the poll phase) keep the lease.
//
// Why this is safe for fencing: this clock never runs FASTER than real time, only slower. The holder
// stops acting at (send time of its newest acknowledged renewal) + leaseMs − margin on its OWN clock,
// and the switch received that renewal after it was sent, so the switch's expiry, measured on a clock
// that is at most as fast as real time, is later still: the holder always stops before the switch
// can grant the lease to anyone else. A slower clock only delays the failover of a holder that
// really died while the switch itself was stalled (by at most the stall).

/** Stall-tolerant monotonic time (ms), advanced by capped steps. */
export class LeaseClock {
  private t = 0;
  private last: number;
  private capped = false;

  /** `maxStepMs`: the most one observed gap may count (e.g. 2 × the tick period). */
  constructor(readonly maxStepMs: number, now: number) {
    if (!(maxStepMs > 0)) throw new Error(`lease clock: maxStepMs must be positive, got ${maxStepMs}`);
    this.last = now;
  }

  /** Observes real time `now` and returns lease time. Real time going backwards counts as 0. */
  read(now: number): number {
    const gap = Math.max(0, now - this.last);
    this.last = now;
    this.capped = gap > this.maxStepMs;
    this.t += this.capped ? this.maxStepMs : gap;
    return this.t;
  }

  /**
   * True when the last read() saw a gap longer than one step: this loop was blocked. A periodic lapse
   * check that comes late must not decide by itself (libuv runs timers BEFORE polling sockets, so
   * the holder's renewals that arrived during the block are still unread); the next one decides.
   */
  get late(): boolean { return this.capped; }

  /** Lease time at the last read. */
  get now(): number { return this.t; }
}

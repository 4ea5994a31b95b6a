// Requests that reach a primary while its lease is uncertain: held, not refused.
//
// A primary stops serving the moment its own lease check fails (the newest acknowledged renewal is
// older than the lease minus a margin): it must not act on a lease it may have lost. But most of the
// time nothing was lost: the switch or this process was merely slow (a loaded machine, a long GC),
// and the next renewal arrives a few ms later. Answering NotPrimary then sends every desktop to a
// backup that is not primary either, and the raw clients that do not retry leave calls behind. So
// while the lease is *uncertain* — role primary, fenced by the local check, not deposed — requests
// wait here, in arrival order, and nothing of them runs:
//   - renewed  -> they run, in order, through the normal turns (serving again: the fence holds);
//   - deposed, demoted, stopped -> they run too, and are answered NotPrimary by the usual check;
//   - still uncertain after `maxMs` -> answered NotPrimary (the SDK retries on the other server).
// Bounded by count as well; beyond it a request is answered Overloaded at once.

export interface LeaseHoldLimits {
  /** How long a request may wait for the lease to be renewed or lost; then NotPrimary. 0 = never hold. */
  maxLeaseHoldMs: number;
  /** Requests held at most; the next one is answered Overloaded. */
  maxLeaseHeldRequests: number;
}

export const DEFAULT_LEASE_HOLD_LIMITS: LeaseHoldLimits = { maxLeaseHoldMs: 1_000, maxLeaseHeldRequests: 5_000 };

export class LeaseHold<T> {
  /** Invariant: in arrival order, so `at` never decreases along the array. */
  private held: { item: T; at: number }[] = [];
  /** Set iff something is held: checks for expired requests every tenth of maxLeaseHoldMs. */
  private timer: NodeJS.Timeout | undefined;

  /** `onExpired`: the requests that waited too long, oldest first (the caller answers NotPrimary). */
  constructor(private readonly limits: LeaseHoldLimits, private readonly onExpired: (items: T[]) => void = () => {}) {}

  get size(): number { return this.held.length; }

  /** 'held', or why not: holding is off, or the bound is reached. */
  hold(item: T, now: number): 'held' | 'off' | 'full' {
    if (this.limits.maxLeaseHoldMs <= 0) return 'off';
    if (this.held.length >= this.limits.maxLeaseHeldRequests) return 'full';
    this.held.push({ item, at: now });
    this.timer ??= setInterval(() => {
      const gone = this.expired(Date.now());
      if (this.held.length === 0) this.stop();
      if (gone.length > 0) this.onExpired(gone);
    }, Math.max(10, Math.floor(this.limits.maxLeaseHoldMs / 10)));
    this.timer.unref();
    return 'held';
  }

  /** Everything held, oldest first; the hold is empty after. */
  drain(): T[] {
    const out = this.held.map((h) => h.item);
    this.held = [];
    this.stop();
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The requests that waited `maxLeaseHoldMs` or more, oldest first, removed from the hold. */
  expired(now: number): T[] {
    let n = 0;
    while (n < this.held.length && now - this.held[n]!.at >= this.limits.maxLeaseHoldMs) n++;
    return n === 0 ? [] : this.held.splice(0, n).map((h) => h.item);
  }
}

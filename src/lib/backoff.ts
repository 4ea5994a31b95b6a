// Delays between attempts: exponential growth from `initialMs` to a cap, with optional jitter. The
// one backoff of the tree: the SDK's reconnects (desktop page included), the switch link's, the sync
// stream's and the liveness worker's reconnects, the supervisor's restarts, and the SDK's retries
// after NotPrimary (`backoffDelay`). Browser-safe: no imports; random and clock are injectable.

export interface BackoffOptions {
  /** The first delay (ms). */
  initialMs: number;
  /** The largest delay (ms): growth stops there. */
  maxMs: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /**
   * The random share of each delay, 0..1 (default 0): the delay is uniform in
   * [base × (1 − jitter), base], never above the cap. 0.5 spreads a crowd that lost the same server
   * (a floor of desktops, two servers restarting together) over half the delay.
   */
  jitter?: number;
  /**
   * How long an attempt must have stayed good (ms) before its failure starts the growth over
   * (default 0: any success does). A process that crashes a minute after each start keeps backing
   * off; one that ran for a day restarts at once.
   */
  resetAfterMs?: number;
}

export interface BackoffDeps {
  /** Uniform in [0, 1) (default Math.random). */
  random?: () => number;
  /** Monotonic ms (default performance.now); only `resetAfterMs` reads it. */
  now?: () => number;
}

/** The delay before retry number `attempt` (0 = the first), without jitter: pure. */
export function backoffDelay(o: BackoffOptions, attempt: number): number {
  // The exponent is bounded so that growth past the cap never reaches Infinity (or NaN with 0 ms).
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 64);
  return Math.min(o.maxMs, o.initialMs * (o.factor ?? 2) ** exponent);
}

export function validateBackoff(o: BackoffOptions): void {
  if (!(o.initialMs >= 0) || !(o.maxMs >= o.initialMs)) throw new RangeError(`backoff: need 0 <= initialMs (${o.initialMs}) <= maxMs (${o.maxMs})`);
  if (o.factor !== undefined && !(o.factor >= 1)) throw new RangeError(`backoff: factor ${o.factor} must be at least 1`);
  if (o.jitter !== undefined && !(o.jitter >= 0 && o.jitter <= 1)) throw new RangeError(`backoff: jitter ${o.jitter} must be within 0..1`);
}

export class Backoff {
  private failures = 0;
  /** Set iff an attempt succeeded and no failure was counted since. */
  private succeededAt: number | undefined;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(readonly opts: BackoffOptions, deps: BackoffDeps = {}) {
    validateBackoff(opts);
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? (() => performance.now());
  }

  /** Counts one failure and returns the delay before the next attempt. */
  next(): number {
    if (this.succeededAt !== undefined) {
      if (this.now() - this.succeededAt >= (this.opts.resetAfterMs ?? 0)) this.failures = 0;
      this.succeededAt = undefined;
    }
    const base = backoffDelay(this.opts, this.failures);
    this.failures += 1;
    const jitter = this.opts.jitter ?? 0;
    return jitter > 0 ? Math.round(base * (1 - jitter * this.random())) : base;
  }

  /**
   * An attempt worked (connected, started): its next failure starts from `initialMs` again, if it
   * stayed good for `resetAfterMs`.
   */
  succeeded(): void { this.succeededAt = this.now(); }

  /** Starts over from `initialMs` now. */
  reset(): void {
    this.failures = 0;
    this.succeededAt = undefined;
  }

  /** Failures counted since the growth last started over. */
  get attempts(): number { return this.failures; }
}

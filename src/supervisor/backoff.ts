// Restart backoff for supervised processes: exponential with a cap, reset once a process has stayed
// up long enough to count as healthy (so a crash a day never waits the capped delay).
export interface BackoffOptions { initialMs: number; maxMs: number; healthyAfterMs: number }

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 5_000, healthyAfterMs: 10_000 };

export class RestartBackoff {
  private failures = 0;
  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Delay before the next start, given how long the process that just died had been up. */
  nextDelay(upForMs: number): number {
    if (upForMs >= this.opts.healthyAfterMs) this.failures = 0;
    const delay = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.failures);
    this.failures += 1;
    return delay;
  }

  get consecutiveFailures(): number { return this.failures; }
}

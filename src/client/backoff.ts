// Reconnect delays: exponential with a cap and full jitter, so a thousand desktops that lost the
// same server do not all knock on its door in the same millisecond.

export interface BackoffOptions {
  /** First delay in ms (default 100). */
  initialMs: number;
  /** Largest delay in ms (default 5000). */
  maxMs: number;
}

export const DEFAULT_RECONNECT: BackoffOptions = { initialMs: 100, maxMs: 5_000 };

export class ReconnectBackoff {
  private attempts = 0;
  constructor(private readonly opts: BackoffOptions = DEFAULT_RECONNECT, private readonly random: () => number = Math.random) {}

  /** Delay before the next attempt: uniformly random in [base/2, base], base doubling per failure. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempts, 30));
    this.attempts += 1;
    return Math.round(base / 2 + (base / 2) * this.random());
  }

  /** Called once a connection succeeded: the next failure starts from the initial delay again. */
  reset(): void { this.attempts = 0; }
}

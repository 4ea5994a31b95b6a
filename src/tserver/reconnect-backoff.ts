// Delay between reconnect attempts to the switch: exponential with a cap and a little jitter (two
// servers restarting together should not hammer the switch in lockstep). reset() once connected.
export interface ReconnectBackoffOptions { initialMs: number; maxMs: number; jitter: number }

export const DEFAULT_RECONNECT: ReconnectBackoffOptions = { initialMs: 100, maxMs: 2_000, jitter: 0.2 };

export class ReconnectBackoff {
  private attempt = 0;
  constructor(private readonly opts: ReconnectBackoffOptions = DEFAULT_RECONNECT, private readonly random: () => number = Math.random) {}

  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.attempt);
    this.attempt += 1;
    const spread = base * this.opts.jitter;
    return Math.max(0, Math.round(base - spread + 2 * spread * this.random()));
  }

  reset(): void { this.attempt = 0; }

  get attempts(): number { return this.attempt; }
}

// Two limiters for hostile or runaway clients, both O(1) per event and bounded in memory.

/**
 * Requests per second per connection: a token bucket. `rate` tokens per second refill up to
 * `burst`; each request takes one. rate 0 = unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, now: number) {
    this.tokens = Math.max(1, burst);
    this.last = now;
  }

  /** True when the request may go ahead (and takes its token). `now` in ms. */
  take(now: number): boolean {
    if (this.rate <= 0) return true;
    const cap = Math.max(1, this.burst);
    this.tokens = Math.min(cap, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Failed authentications per remote address in a sliding window. After `maxFailures` in
 * `windowMs`, the address is blocked until its oldest counted failure leaves the window: further
 * opens are refused without checking the token (no oracle for guessing). The table holds at most
 * `maxAddresses` entries; the oldest address is forgotten first (an attacker spraying addresses
 * cannot grow memory).
 */
export class FailureLimiter {
  private readonly byAddress = new Map<string, number[]>();

  constructor(private readonly maxFailures: number, private readonly windowMs: number, private readonly maxAddresses = 10_000) {}

  /** ms until the address may try again; 0 = not blocked. maxFailures 0 = never blocked. */
  blockedFor(address: string, now: number): number {
    if (this.maxFailures <= 0) return 0;
    const list = this.prune(address, now);
    if (!list || list.length < this.maxFailures) return 0;
    return Math.max(1, list[list.length - this.maxFailures]! + this.windowMs - now);
  }

  /** Counts one failure; returns how many are in the window now. */
  fail(address: string, now: number): number {
    const list = this.prune(address, now) ?? [];
    list.push(now);
    // Only the newest maxFailures matter for blocking: keep the list bounded.
    if (this.maxFailures > 0 && list.length > this.maxFailures) list.splice(0, list.length - this.maxFailures);
    this.byAddress.delete(address);
    this.byAddress.set(address, list);
    if (this.byAddress.size > this.maxAddresses) {
      const oldest = this.byAddress.keys().next().value;
      if (oldest !== undefined) this.byAddress.delete(oldest);
    }
    return list.length;
  }

  private prune(address: string, now: number): number[] | undefined {
    const list = this.byAddress.get(address);
    if (!list) return undefined;
    while (list.length && list[0]! <= now - this.windowMs) list.shift();
    if (list.length === 0) { this.byAddress.delete(address); return undefined; }
    return list;
  }
}

// Admission control: how much desktop work the gateway takes on, so that overload degrades service
// (requests answered EventError Overloaded with a retry hint, slower answers) instead of stalling the
// event loop until the lease or ADDP lapses and the pair fails over (DESIGN.md guarantee 7).
//
// Two mechanisms, both pure here (time comes in as `now`; the gateway feeds the measurements):
// 1. Bounded work per event-loop turn: at most `maxRequestsPerTurn` requests run in one turn; the
//    rest wait, in arrival order, for the next turns. Below the budget a request runs at once (no
//    extra hop at normal load). Switch events, lease renewals, heartbeats and timers get their turn
//    between two slices instead of waiting behind thousands of desktop frames.
// 2. Load shedding of NEW requests while one of three measured signals is over its bound:
//    - `queue`: requests received and not yet run >= maxQueuedRequests;
//    - `eventLoopDelay`: the MEDIAN event-loop delay of the last sampling window >= maxEventLoopDelayMs
//      (perf_hooks.monitorEventLoopDelay): sustained lag, not one long pause (a GC, a short stall
//      moves only the tail; what waited through it is answered after it). It stays "over" until a
//      window is under half the bound (hysteresis: no flapping at the edge);
//    - `unreleased`: the oldest batch of events/answers sealed but not yet released to desktops
//      (ack mode: waiting for the backup's ack) is older than maxReleaseDelayMs.
//    A request already admitted is never refused; RequestOpen is always admitted (it is cheap, and a
//    desktop that cannot open cannot even learn it should back off).
// Reference: docs/protocol.md ("Overloaded"), docs/capacity.md.

export interface AdmissionLimits {
  /** Requests run per event-loop turn; the rest wait for the next turn. 0 = no bound. */
  maxRequestsPerTurn: number;
  /** Requests received but not yet run; at or over it new requests are answered Overloaded. 0 = no bound. */
  maxQueuedRequests: number;
  /** Median event-loop delay (ms) of the last window at or over which new requests are answered Overloaded. 0 = off. */
  maxEventLoopDelayMs: number;
  /** Age (ms) of the oldest sealed batch not yet released at or over which new requests are answered Overloaded. 0 = off. */
  maxReleaseDelayMs: number;
  /** The retry hint (`retryAfterMs`) in every Overloaded answer: wait at least this long (add jitter). */
  overloadRetryAfterMs: number;
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = {
  maxRequestsPerTurn: 256,
  maxQueuedRequests: 5_000,
  maxEventLoopDelayMs: 100,
  maxReleaseDelayMs: 2_000,
  overloadRetryAfterMs: 1_000,
};

export type OverloadReason = 'queue' | 'eventLoopDelay' | 'unreleased';

export type Admission =
  | { admitted: true }
  | { admitted: false; reason: OverloadReason; retryAfterMs: number; message: string };

export class AdmissionControl {
  /** Requests admitted and not yet run (counted from offer() to done()). */
  private queuedCount = 0;
  /** Requests run in the current turn. */
  private usedThisTurn = 0;
  /** Invariant: true iff the last loop-delay window was >= the bound, or over half of it after one that was. */
  private delayed = false;
  private lastDelayMs = 0;
  /** Seal time of the oldest batch not yet released, or undefined when every batch went out. */
  private oldestUnreleasedAt: number | undefined;
  /** Refusals by reason since start (for metrics). */
  readonly refused: Record<OverloadReason, number> = { queue: 0, eventLoopDelay: 0, unreleased: 0 };

  constructor(readonly limits: AdmissionLimits) {}

  get queued(): number { return this.queuedCount; }
  get loopDelayMs(): number { return this.lastDelayMs; }

  /** A new request arrived: admit it (it counts as queued until done()) or refuse it. */
  offer(now: number): Admission {
    const reason = this.overloadReason(now);
    if (reason === undefined) {
      this.queuedCount += 1;
      return { admitted: true };
    }
    this.refused[reason] += 1;
    return { admitted: false, reason, retryAfterMs: this.limits.overloadRetryAfterMs, message: this.explain(reason, now) };
  }

  /** The signal currently over its bound, if any (the first in the order queue, delay, unreleased). */
  overloadReason(now: number): OverloadReason | undefined {
    const l = this.limits;
    if (l.maxQueuedRequests > 0 && this.queuedCount >= l.maxQueuedRequests) return 'queue';
    if (l.maxEventLoopDelayMs > 0 && this.delayed) return 'eventLoopDelay';
    if (l.maxReleaseDelayMs > 0 && this.oldestUnreleasedAt !== undefined && now - this.oldestUnreleasedAt >= l.maxReleaseDelayMs) return 'unreleased';
    return undefined;
  }

  /** Admits without a check (RequestOpen; any request while the server is not serving, which answers NotPrimary cheaply). */
  admitAlways(): void { this.queuedCount += 1; }

  /** May one more admitted request run in this turn? Takes the slot when it may. */
  takeTurnSlot(): boolean {
    if (this.limits.maxRequestsPerTurn > 0 && this.usedThisTurn >= this.limits.maxRequestsPerTurn) return false;
    this.usedThisTurn += 1;
    return true;
  }

  /** The event loop moved on: a new turn's budget. */
  newTurn(): void { this.usedThisTurn = 0; }

  /** An admitted request has run (or its connection went away before it could). */
  done(n = 1): void { this.queuedCount = Math.max(0, this.queuedCount - n); }

  /** One sampling window's median event-loop delay, in ms. */
  loopDelay(p99Ms: number): void {
    this.lastDelayMs = p99Ms;
    const bound = this.limits.maxEventLoopDelayMs;
    if (bound <= 0) return;
    if (p99Ms >= bound) this.delayed = true;
    else if (p99Ms < bound / 2) this.delayed = false;
  }

  /** The seal time of the oldest batch not yet released (undefined: none held). */
  unreleasedSince(at: number | undefined): void { this.oldestUnreleasedAt = at; }

  private explain(reason: OverloadReason, now: number): string {
    const l = this.limits;
    const what = reason === 'queue' ? `${this.queuedCount} requests are waiting to run (tserver.maxQueuedRequests ${l.maxQueuedRequests})`
      : reason === 'eventLoopDelay' ? `its event loop is ${Math.round(this.lastDelayMs)} ms behind (tserver.maxEventLoopDelayMs ${l.maxEventLoopDelayMs})`
        : `answers wait ${now - (this.oldestUnreleasedAt ?? now)} ms to be released (tserver.maxReleaseDelayMs ${l.maxReleaseDelayMs})`;
    return `the server is overloaded: ${what}; this request was not run: send it again with the same referenceId after retryAfterMs (${l.overloadRetryAfterMs} ms) plus some jitter`;
  }
}

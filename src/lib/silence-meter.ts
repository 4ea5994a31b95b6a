// How long a peer has been silent, counted only while our own event loop runs: the one silence
// accounting behind every "is the other side dead?" decision — ADDP on the sync stream
// (src/ha/addp.ts), the liveness worker (src/adapters/switch-client/liveness-worker.ts) and the SDK's heartbeat monitor
// (src/sdk/heartbeat.ts). Pure and browser-safe: no imports, times passed in (monotonic ms).
//
// Why a late check never declares death by itself: a check that fires late means WE were not
// running (a GC pause, a long synchronous task, a throttled browser tab whose timers fire once a
// second or once a minute), not that the peer was silent. What the peer sent meanwhile may still be
// unread — in Node, libuv runs timers BEFORE polling sockets; in a throttled tab the last probe went
// out only at the previous (late) check — so a late check counts at most `maxStepMs` and defers
// the verdict to the next check, which comes after the pending messages were delivered.

/** Pure silence accounting (unit-tested with exact numbers). Times are monotonic ms. */
export class SilenceMeter {
  private silentMs = 0;
  private lastTick: number;

  /**
   * @param timeoutMs silence after which the peer is dead
   * @param maxStepMs the most one check may add: a check later than this after the previous one was late
   * @param now the start of the silence
   */
  constructor(private deadAfterMs: number, readonly maxStepMs: number, now: number) {
    this.lastTick = now;
  }

  get timeoutMs(): number { return this.deadAfterMs; }

  /** A new timeout from the next check on; the silence counted so far stays. */
  setTimeoutMs(ms: number): void { this.deadAfterMs = ms; }

  /** A message arrived at `now`. */
  heard(now: number): void {
    this.silentMs = 0;
    this.lastTick = now;
  }

  /** A periodic check at `now`: true when the peer is to be declared dead. */
  tick(now: number): boolean {
    const elapsed = Math.max(0, now - this.lastTick);
    this.lastTick = now;
    const late = elapsed > this.maxStepMs;
    this.silentMs += Math.min(elapsed, this.maxStepMs);
    if (this.silentMs < this.timeoutMs) return false;
    if (late) {
      // We were not running: let what the peer sent meanwhile arrive, decide at the next check.
      this.silentMs = this.timeoutMs - 1;
      return false;
    }
    return true;
  }

  /** The silence counted so far (ms). */
  get silence(): number { return this.silentMs; }
}

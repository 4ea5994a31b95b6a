// Where desktop requests wait for their turn: admission control (admission.ts) decides whether a new
// request is taken on at all; the ones taken run at most `maxRequestsPerTurn` per event-loop turn, the
// rest in arrival order in the next turns, so switch events, renewals, acks and timers get their
// turn between two slices. Below the budget with nobody waiting a request runs at once (no extra hop
// at normal load). Also samples the event-loop delay for admission (median per window).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { AdmissionControl, type Admission, type AdmissionLimits, type OverloadReason } from './admission.js';

/**
 * Event-loop delay sampling window for admission control (ms): each window's MEDIAN is one
 * measurement. Sustained lag is overload; one long pause (a GC, a short SIGSTOP) moves only the tail,
 * and the requests that waited through it are answered after it, not refused.
 */
export const LOOP_WINDOW_MS = 500;

export class RequestTurns<T> {
  readonly admission: AdmissionControl;
  /** Admitted requests not yet run, in arrival order; `head` is the next one. */
  private waiting: (T | undefined)[] = [];
  private head = 0;
  /** Invariant: true iff a setImmediate that starts a new turn's budget (and drains `waiting`) is scheduled. */
  private turnScheduled = false;
  private readonly loopDelay: IntervalHistogram;
  private readonly loopTimer: NodeJS.Timeout;

  /**
   * @param run runs one admitted request (it stops counting as queued whatever happens)
   * @param oldestUnreleasedAt seal time of the oldest batch not yet released (admission's third signal)
   */
  constructor(limits: AdmissionLimits, private readonly run: (item: T) => void, private readonly oldestUnreleasedAt: () => number | undefined) {
    this.admission = new AdmissionControl(limits);
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.loopTimer = setInterval(() => {
      this.admission.loopDelay(this.loopDelay.percentile(50) / 1e6);
      this.loopDelay.reset();
    }, LOOP_WINDOW_MS).unref();
  }

  /** A new request that admission may refuse (Overloaded): refused ones are not queued. */
  offer(item: T, now: number): Admission {
    this.admission.unreleasedSince(this.oldestUnreleasedAt());
    const a = this.admission.offer(now);
    if (a.admitted) this.enqueue(item);
    return a;
  }

  /** A request admitted without a check (RequestOpen; anything while not serving: NotPrimary is cheap). */
  admit(item: T): void {
    this.admission.admitAlways();
    this.enqueue(item);
  }

  /** The signal over its bound now, if any (for metrics). */
  overloadReason(now: number): OverloadReason | undefined {
    this.admission.unreleasedSince(this.oldestUnreleasedAt());
    return this.admission.overloadReason(now);
  }

  close(): void {
    clearInterval(this.loopTimer);
    this.loopDelay.disable();
  }

  private enqueue(item: T): void {
    if (this.head === this.waiting.length && this.admission.takeTurnSlot()) {
      this.scheduleTurn();
      return this.runOne(item);
    }
    this.waiting.push(item);
    this.scheduleTurn();
  }

  /** The next turn starts a fresh budget and runs waiting requests up to it. */
  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.turnScheduled = false;
    this.admission.newTurn();
    let ran = false;
    while (this.head < this.waiting.length && this.admission.takeTurnSlot()) {
      const item = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined;
      ran = true;
      this.runOne(item);
    }
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    // Slots were used: the turn after this one needs its budget back (and runs what still waits).
    if (ran) this.scheduleTurn();
  }

  private runOne(item: T): void {
    try {
      this.run(item);
    } finally {
      this.admission.done();
    }
  }
}

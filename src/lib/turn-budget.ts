// Bounded work per event-loop turn for an inbound stream. grpc-js delivers a stream's messages from a
// chain of microtasks: a backlog of switch events is otherwise processed in one go, and a turn of
// several hundred ms starves everything that runs between turns (timers, the liveness watchdog's
// progress, sync acks, desktop I/O) — the long turn that makes a busy server look hung.
//
// Messages are handled inline while this turn's budget lasts (no extra hop at normal load); after
// that they queue, in order, and are handled in the next turns, `budgetMs` per turn. Above
// `highWater` queued messages the source is paused (grpc then stops reading: HTTP/2 flow control
// pushes back to the sender), below `lowWater` it is resumed. Pure apart from the injected clock and
// scheduler, so tests drive it with exact numbers.

export interface TurnBudgetOptions<T> {
  handle(msg: T): void;
  budgetMs: number;
  highWater: number;
  lowWater: number;
  pause(): void;
  resume(): void;
  now(): number;
  /** Runs `fn` in a later turn (setImmediate). */
  later(fn: () => void): void;
}

export class TurnBudget<T> {
  private queue: T[] = [];
  private head = 0;
  /** Start of this turn's budget; undefined until the first message of a turn. */
  private turnStart: number | undefined;
  private drainScheduled = false;
  private paused = false;
  private closeAfterDrain: (() => void) | undefined;
  /** Messages that waited for a later turn, since start (for metrics and tests). */
  deferred = 0;

  constructor(private readonly o: TurnBudgetOptions<T>) {}

  get queued(): number { return this.queue.length - this.head; }
  get isPaused(): boolean { return this.paused; }

  push(msg: T): void {
    if (this.queued === 0 && this.withinBudget()) {
      this.o.handle(msg);
      return;
    }
    this.queue.push(msg);
    this.deferred += 1;
    this.scheduleDrain();
    if (!this.paused && this.queued >= this.o.highWater) {
      this.paused = true;
      this.o.pause();
    }
  }

  /** Runs `fn` once every message queued so far was handled (a stream's end comes after its data). */
  onDrained(fn: () => void): void {
    if (this.queued === 0) fn();
    else this.closeAfterDrain = fn;
  }

  private withinBudget(): boolean {
    const now = this.o.now();
    if (this.turnStart === undefined) {
      this.turnStart = now;
      this.o.later(() => { this.turnStart = undefined; });
    }
    return now - this.turnStart < this.o.budgetMs;
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.o.later(() => this.drain());
  }

  private drain(): void {
    this.drainScheduled = false;
    while (this.queued > 0 && this.withinBudget()) {
      const msg = this.queue[this.head]!;
      this.queue[this.head] = undefined as T; // let it be collected
      this.head += 1;
      this.o.handle(msg);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.queued <= this.o.lowWater) {
      this.paused = false;
      this.o.resume();
    }
    if (this.queued > 0) return this.scheduleDrain();
    const done = this.closeAfterDrain;
    this.closeAfterDrain = undefined;
    done?.();
  }
}

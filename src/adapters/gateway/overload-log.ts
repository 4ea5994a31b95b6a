// Rate-limited logging of Overloaded answers. Under overload the gateway refuses thousands of requests
// a second; a warn line for each buried everything else in the log (and cost CPU the server did not
// have). The first refusal of an episode is logged in full; the rest are counted, by reason and by
// request, and one summary line per window says how many there were. A window without refusals ends
// the episode: the next refusal is logged in full again. Timers are injected (tests).
import type { Logger } from '../../lib/log.js';

export interface OverloadLogOptions {
  /** One summary line per window while refusals go on. Default 10 s. */
  windowMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export interface OverloadRefusal {
  /** What was over its bound: queue, eventLoopDelay, unreleased, or perConnectionRate. */
  reason: string;
  request: string;
  clientName: string | undefined;
}

type WarnLog = Pick<Logger, 'warn' | 'info'>;

export class OverloadLog {
  private readonly windowMs: number;
  private readonly setTimer: NonNullable<OverloadLogOptions['setTimer']>;
  private readonly clearTimer: NonNullable<OverloadLogOptions['clearTimer']>;
  /** Invariant: set iff an episode is open (a refusal was logged in full and its window runs). */
  private timer: unknown;
  private count = 0;
  private byReason: Record<string, number> = {};
  private byRequest: Record<string, number> = {};
  /** Refusals in the whole episode (summary lines and the closing line). */
  private episodeTotal = 0;

  constructor(private readonly log: WarnLog, opts: OverloadLogOptions = {}) {
    this.windowMs = opts.windowMs ?? 10_000;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  refused(r: OverloadRefusal, message: string): void {
    this.episodeTotal += 1;
    if (this.timer === undefined) {
      this.log.warn({ ...r, errorCode: 'Overloaded', errorMessage: message }, `request answered Overloaded (further ones are counted: one summary line per ${this.windowMs / 1000} s)`);
      this.timer = this.setTimer(() => this.windowEnd(), this.windowMs);
      return;
    }
    this.count += 1;
    this.byReason[r.reason] = (this.byReason[r.reason] ?? 0) + 1;
    this.byRequest[r.request] = (this.byRequest[r.request] ?? 0) + 1;
  }

  close(): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
  }

  private windowEnd(): void {
    if (this.count === 0) {
      this.timer = undefined;
      this.log.info({ total: this.episodeTotal }, `no request answered Overloaded for ${this.windowMs / 1000} s: ${this.episodeTotal} in this episode`);
      this.episodeTotal = 0;
      return;
    }
    this.log.warn({ suppressed: this.count, byReason: this.byReason, byRequest: this.byRequest, windowMs: this.windowMs }, `${this.count} more requests answered Overloaded in the last ${this.windowMs / 1000} s`);
    this.count = 0;
    this.byReason = {};
    this.byRequest = {};
    this.timer = this.setTimer(() => this.windowEnd(), this.windowMs);
  }
}

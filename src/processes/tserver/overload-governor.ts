// The overload governor: what share of NEW inbound calls the switch should admit, judged from this
// server's own load. Shedding at the entry, as telephony does it (Cisco UCCE congestion control, SIP
// load-based overload control RFC 7339, ITU call gapping): a call refused before it exists costs
// nothing, while refusing an agent's answer or release (the gateway's Overloaded) wastes the work
// already done on that call. The gateway's admission control stays as the last line of defence.
//
// The signals are spiky under load (the switch input is drained or at its high-water mark; an ack
// arrives or it does not; one stall of the process, a GC or a busy neighbour, fills every queue for a
// moment), so the shell samples them every `sampleMs` and the governor decides every `intervalMs` on
// the samples since its last decision: it cuts on their MEDIAN (sustained load, not one stall: the
// work that waited through a stall is done after it) and grows only on their PEAK (a quiet instant
// in a busy interval is not calm).
// The rule (AIMD with hysteresis in level and in time; docs/capacity.md "Overload"), every `intervalMs`:
//   - over:    any signal's median at or above its HIGH mark -> admit × (1 − decreasePercent/100), at
//              most once per `decreaseEveryMs` (the loop-delay signal is a 500 ms window: cutting again
//              before it could show the last cut would overshoot), never below `minAdmitPermille`;
//   - clear:   every signal's peak below its LOW mark, and so for at least `clearHoldMs` -> admit +
//              increasePermille, up to 1000 (all);
//   - between: hold. The band between the marks, and the time a calm must last before the share
//              grows, keep it from oscillating; the low marks sit above what normal load shows, so it
//              does not shed at normal load.
// Pure: the samples and `now` come in; the shell (overload-control.ts) sends what it says to.
import { checkSettings, ConfigError } from '../../lib/config-check.js';
import { OverloadSection } from './config-schema.js';

/** One sample of the signals that already exist (gateway admission, the switch link's input budget). */
export interface OverloadSample {
  /** Median event-loop delay of the last window, ms (admission control's measure; includes the 10 ms sampling resolution). */
  loopDelayMs: number;
  /** Desktop requests admitted and not yet run. */
  queuedRequests: number;
  /** Age of the oldest sealed batch not yet released (ack mode: waiting for the backup), ms; 0 = none held. */
  unreleasedAgeMs: number;
  /** Switch-link messages waiting for a later turn (turn-budget.ts). */
  switchBacklog: number;
  /** Test hook only (/debug/overload with TANDEM_TEST_HOOKS=1): counts as a signal over its mark. */
  forced?: boolean;
}

export type OverloadSignal = 'loopDelay' | 'queuedRequests' | 'unreleased' | 'switchBacklog' | 'forced';

export interface OverloadSettings {
  /** Off: the primary never sends OverloadControl (the gateway's Overloaded answers remain). */
  enabled: boolean;
  /** Sampling period of the signals, ms. */
  sampleMs: number;
  /** Decision period, ms: each decision reads the samples since the last one (their median and peak). */
  intervalMs: number;
  /** Each OverloadControl holds this long at the switch unless renewed (renewed every validMs/3 while shedding). */
  validMs: number;
  loopDelayHighMs: number;
  loopDelayLowMs: number;
  queuedHigh: number;
  queuedLow: number;
  unreleasedHighMs: number;
  unreleasedLowMs: number;
  switchBacklogHigh: number;
  switchBacklogLow: number;
  /** Multiplicative decrease, percent of the current share. */
  decreasePercent: number;
  /** At most one decrease per this many ms. */
  decreaseEveryMs: number;
  /** Additive increase per interval when every signal is clear, permille. */
  increasePermille: number;
  /** Every signal must have been clear this long before the share grows. */
  clearHoldMs: number;
  /** Never admit less than this share (permille): some new calls always get through. */
  minAdmitPermille: number;
}

export const DEFAULT_OVERLOAD_SETTINGS: OverloadSettings = {
  enabled: true,
  sampleMs: 50,
  intervalMs: 250,
  validMs: 1_500,
  loopDelayHighMs: 50,
  loopDelayLowMs: 25,
  queuedHigh: 1_000,
  queuedLow: 100,
  unreleasedHighMs: 250,
  unreleasedLowMs: 100,
  switchBacklogHigh: 16,
  switchBacklogLow: 2,
  decreasePercent: 20,
  decreaseEveryMs: 500,
  increasePermille: 25,
  clearHoldMs: 1_000,
  minAdmitPermille: 50,
};

export type Pressure = 'over' | 'between' | 'clear';

export interface GovernorStep {
  admitPermille: number;
  pressure: Pressure;
  /** The signals at or above their high mark (empty unless pressure is 'over'). */
  over: OverloadSignal[];
  /** The share changed in this step. */
  changed: boolean;
  /** Send OverloadControl now: the share changed, or shedding goes on and the last one is a third of validMs old. */
  send: boolean;
  /** The median of each signal this decision read (undefined: no sample since the last one). */
  median: OverloadSample | undefined;
  /** The peak of each signal this decision read. */
  peak: OverloadSample | undefined;
}

export class OverloadGovernor {
  /** Invariant: minAdmitPermille <= admit <= 1000; 1000 = not shedding. */
  private admit = 1000;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  /** Samples since the last decision (bounded: a late decision reads the latest MAX_SAMPLES). */
  private samples: OverloadSample[] = [];
  private lastStepAt: number | undefined;
  /** Since when every decision was clear (undefined: the last one was not). */
  private clearSince: number | undefined;
  /** When the last OverloadControl was due (undefined: none since the last reset). */
  private lastSentAt: number | undefined;

  constructor(readonly s: OverloadSettings) {}

  get admitPermille(): number { return this.admit; }
  get shedding(): boolean { return this.admit < 1000; }

  /** Which signals are at or above their high mark. */
  over(x: OverloadSample): OverloadSignal[] {
    const s = this.s;
    const out: OverloadSignal[] = [];
    if (x.forced) out.push('forced');
    if (x.loopDelayMs >= s.loopDelayHighMs) out.push('loopDelay');
    if (x.queuedRequests >= s.queuedHigh) out.push('queuedRequests');
    if (x.unreleasedAgeMs >= s.unreleasedHighMs) out.push('unreleased');
    if (x.switchBacklog >= s.switchBacklogHigh) out.push('switchBacklog');
    return out;
  }

  /** Every signal below its low mark. */
  clear(x: OverloadSample): boolean {
    const s = this.s;
    return !x.forced && x.loopDelayMs < s.loopDelayLowMs && x.queuedRequests < s.queuedLow
      && x.unreleasedAgeMs < s.unreleasedLowMs && x.switchBacklog < s.switchBacklogLow;
  }

  /** One sample, for the next decision. */
  observe(x: OverloadSample): void {
    if (this.samples.length >= MAX_SAMPLES) this.samples.shift();
    this.samples.push({ ...x });
  }

  /** Observes `x`; when `intervalMs` passed since the last decision, decides (else undefined). */
  sample(x: OverloadSample, now: number): GovernorStep | undefined {
    this.observe(x);
    if (this.lastStepAt !== undefined && now - this.lastStepAt < this.s.intervalMs) return undefined;
    return this.step(now);
  }

  /** One decision on the samples since the last one (holds when there was none). */
  step(now: number): GovernorStep {
    const s = this.s;
    const before = this.admit;
    const median = summarize(this.samples, 'median');
    const peak = summarize(this.samples, 'peak');
    this.samples = [];
    this.lastStepAt = now;
    const over = median ? this.over(median) : [];
    let pressure: Pressure = 'between';
    if (over.length > 0) {
      pressure = 'over';
      if (now - this.lastDecreaseAt >= s.decreaseEveryMs) {
        this.admit = Math.max(s.minAdmitPermille, Math.floor((this.admit * (100 - s.decreasePercent)) / 100));
        this.lastDecreaseAt = now;
      }
    } else if (peak && this.clear(peak)) {
      pressure = 'clear';
      this.clearSince ??= now;
      if (now - this.clearSince >= s.clearHoldMs) this.admit = Math.min(1000, this.admit + s.increasePermille);
    }
    if (pressure !== 'clear') this.clearSince = undefined;
    const changed = this.admit !== before;
    const refresh = this.admit < 1000 && (this.lastSentAt === undefined || now - this.lastSentAt >= s.validMs / 3);
    const send = changed || refresh;
    if (send) this.lastSentAt = now;
    return { admitPermille: this.admit, pressure, over, changed, send, median, peak };
  }

  /** Not the serving primary any more (or the link was lost): back to admit-all, nothing to send (the switch resets on a lease change). */
  reset(): void {
    this.admit = 1000;
    this.lastDecreaseAt = Number.NEGATIVE_INFINITY;
    this.lastSentAt = undefined;
    this.samples = [];
    this.lastStepAt = undefined;
    this.clearSince = undefined;
  }
}

const MAX_SAMPLES = 64;
const FIELDS = ['loopDelayMs', 'queuedRequests', 'unreleasedAgeMs', 'switchBacklog'] as const;

/**
 * Per signal, the upper median or the maximum of the samples (undefined: none). `forced` counts when
 * any sample was forced (the test hook forces every sample of its window anyway).
 */
export function summarize(xs: readonly OverloadSample[], how: 'median' | 'peak'): OverloadSample | undefined {
  if (xs.length === 0) return undefined;
  const pick = (k: (typeof FIELDS)[number]) => {
    const v = xs.map((x) => x[k]).sort((a, b) => a - b);
    return how === 'peak' ? v[v.length - 1]! : v[Math.floor(v.length / 2)]!;
  };
  return {
    loopDelayMs: pick('loopDelayMs'), queuedRequests: pick('queuedRequests'), unreleasedAgeMs: pick('unreleasedAgeMs'), switchBacklog: pick('switchBacklog'),
    ...(xs.some((x) => x.forced) ? { forced: true } : {}),
  };
}

/**
 * Parses the config file's `tserver.overload` object over the defaults; throws ConfigError with the
 * key to fix. Each key's type and range is the schema's (OverloadSection, config-schema.ts); only the
 * relations between keys, which a schema cannot state, are checked here.
 */
export function parseOverloadSettings(v: unknown): OverloadSettings {
  const out: OverloadSettings = { ...DEFAULT_OVERLOAD_SETTINGS, ...checkSettings(OverloadSection, v ?? {}, 'tserver.overload') };
  const pairs: [keyof OverloadSettings, keyof OverloadSettings][] = [['loopDelayLowMs', 'loopDelayHighMs'], ['queuedLow', 'queuedHigh'], ['unreleasedLowMs', 'unreleasedHighMs'], ['switchBacklogLow', 'switchBacklogHigh']];
  for (const [lo, hi] of pairs) {
    if ((out[lo] as number) > (out[hi] as number)) throw new ConfigError(`tserver.overload.${lo} (${String(out[lo])}) must not be above ${hi} (${String(out[hi])}): the band between them is the hysteresis`);
  }
  // A decision reads the samples since the last one, so needs one; a setting is renewed only at a
  // decision, so the switch must still hold it when the next one (perhaps late) comes.
  if (out.intervalMs < out.sampleMs) throw new ConfigError(`tserver.overload.intervalMs must be at least sampleMs (${out.sampleMs}), got ${out.intervalMs}`);
  if (out.validMs < 2 * out.intervalMs) throw new ConfigError(`tserver.overload.validMs must be at least 2 × intervalMs (${2 * out.intervalMs}), got ${out.validMs}`);
  return out;
}

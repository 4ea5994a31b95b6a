// The overload governor's shell: every `sampleMs`, while this server is the serving primary with its
// switch link up, samples the load signals into the pure governor (overload-governor.ts), which
// decides every `intervalMs`; sends the switch what it says (OverloadControl: the share of NEW inbound calls to admit). A server
// that is not the serving primary sends nothing and starts again from admit-all when it is; the switch
// drops a holder's setting on any lease change and when it is not renewed within validMs.
import type { Logger } from '../../lib/log.js';
import type { sw } from '../../wire/switch-proto.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import { OverloadGovernor, type OverloadSample, type OverloadSettings, type OverloadSignal } from './overload-governor.js';

export interface OverloadControlDeps {
  settings: OverloadSettings;
  /** The signals now (gateway admission, unreleased batches, switch-link input). */
  sample: (now: number) => OverloadSample;
  /** True while this server is the serving primary (only it may gap calls). */
  serving: () => boolean;
  /** Sends OverloadControl on the switch link; false when the link cannot (not up, lease not valid). */
  send: (admitPermille: number, validMs: number) => boolean;
  log: Logger;
  metrics: Metrics;
  now?: () => number;
}

export class OverloadControl {
  readonly governor: OverloadGovernor;
  private timer: NodeJS.Timeout | undefined;
  /** Test hook (/debug/overload): the sample counts as over until this time (ms, `now` clock). */
  private forcedUntil = 0;
  /** The switch's word on our last OverloadControl (OverloadStatus), undefined before the first. */
  private status: { admitPermille: number; callsGapped: number; callsAdmittedWhileGapping: number } | undefined;
  private sent = 0;
  /** The signals named in the last "shedding on" line, so a change of cause is logged once. */
  private lastOver = '';
  private readonly now: () => number;

  constructor(private readonly d: OverloadControlDeps) {
    this.governor = new OverloadGovernor(d.settings);
    this.now = d.now ?? (() => performance.now());
    const m = d.metrics;
    m.gauge('tandem_overload_admit_permille', 'Share of new inbound calls this primary asks the switch to admit, per 1,000 (1000 = all; tserver.overload).', () => this.governor.admitPermille);
    m.gauge('tandem_overload_calls_gapped', 'New inbound calls the switch answered Congestion since it started, as it last reported (OverloadStatus).', () => this.status?.callsGapped ?? 0);
    m.gauge('tandem_overload_switch_admit_permille', 'The share the switch applies, as it last reported (OverloadStatus; 1000 before any).', () => this.status?.admitPermille ?? 1000);
    m.gauge('tandem_overload_controls_sent', 'OverloadControl messages sent to the switch since start.', () => this.sent);
  }

  start(): void {
    if (!this.d.settings.enabled || this.timer) return;
    this.timer = setInterval(() => this.tick(), this.d.settings.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Test hook only: treat the load as over the marks for `ms` from now. */
  force(ms: number): void {
    this.forcedUntil = this.now() + ms;
    this.d.log.warn({ ms }, 'test hook: overload forced');
  }

  /** The switch applied an OverloadControl of ours. */
  onStatus(s: sw.IOverloadStatus): void {
    this.status = { admitPermille: s.admitPermille ?? 1000, callsGapped: s.callsGapped ?? 0, callsAdmittedWhileGapping: s.callsAdmittedWhileGapping ?? 0 };
  }

  /** One sampling step (the timer's; tests may call it). */
  tick(): void {
    const now = this.now();
    if (!this.d.serving()) {
      if (this.governor.shedding) this.d.log.info({ admitPermille: this.governor.admitPermille }, 'overload governor: not the serving primary: back to admit-all');
      this.governor.reset();
      this.lastOver = '';
      return;
    }
    const sample = this.d.sample(now);
    if (now < this.forcedUntil) sample.forced = true;
    const was = this.governor.admitPermille;
    const r = this.governor.sample(sample, now);
    if (!r) return;
    if (r.send && this.d.send(r.admitPermille, this.d.settings.validMs)) this.sent += 1;
    if (!r.changed) return;
    const fields = { admitPermille: r.admitPermille, oldPermille: was, over: r.over, median: r.median, peak: r.peak };
    if (was === 1000) {
      this.lastOver = r.over.join(',');
      this.d.log.warn(fields, `overload: shedding new inbound calls at the switch, admitting ${r.admitPermille} of every 1,000 (${describe(r.over, r.median, this.d.settings)})`);
    } else if (r.admitPermille === 1000) {
      this.lastOver = '';
      this.d.log.info({ ...fields, callsGapped: this.status?.callsGapped }, 'overload over: the switch admits every new inbound call again');
    } else if (r.over.join(',') !== this.lastOver && r.over.length > 0) {
      this.lastOver = r.over.join(',');
      this.d.log.info(fields, `overload: admitting ${r.admitPermille} of every 1,000 new inbound calls (${describe(r.over, r.median, this.d.settings)})`);
    } else {
      this.d.log.debug(fields, `overload: admit ${was} -> ${r.admitPermille} per 1,000`);
    }
  }
}

function describe(over: OverloadSignal[], x: OverloadSample | undefined, s: OverloadSettings): string {
  if (!x) return 'no sample';
  const what: Record<OverloadSignal, string> = {
    loopDelay: `event-loop delay ${Math.round(x.loopDelayMs)} ms ≥ ${s.loopDelayHighMs}`,
    queuedRequests: `${x.queuedRequests} requests waiting ≥ ${s.queuedHigh}`,
    unreleased: `answers held ${Math.round(x.unreleasedAgeMs)} ms ≥ ${s.unreleasedHighMs}`,
    switchBacklog: `${x.switchBacklog} switch messages waiting ≥ ${s.switchBacklogHigh}`,
    forced: 'forced by the test hook',
  };
  return over.length ? `${over.map((k) => what[k]).join(', ')}; medians of the last interval` : 'no signal over its mark';
}

// Hung-server detection for one link: every intervalMs send a probe (a WebSocket ping in Node, a
// RequestQueryServer in the browser, which cannot send pings) unless the server was heard within the
// last half interval; when nothing at all came back for deadAfterMs the server is declared dead. Any
// inbound frame or pong counts as a sign of life, so a busy server streaming events is never
// mistaken for a hung one, and is not probed either: a probe is a frame each way, and during a
// failover 5,000 desktops' probes cost the box as much CPU as their failover (bench:desktops).
//
// Silence is counted by the same SilenceMeter as the servers' ADDP (src/lib/silence-meter.ts):
// a check that fires late — a throttled background tab runs timers once a second or once a minute,
// a laptop wakes from sleep, a GC pause — counts at most two intervals and never declares the server
// dead by itself, since our last probe went out only at the previous (late) check. A really silent
// server is declared dead by the next check that comes on time.
import { SilenceMeter } from '../lib/silence-meter.js';

export interface HeartbeatOptions {
  intervalMs: number;
  deadAfterMs: number;
  /** Send one probe. */
  probe: () => void;
  /** The server was silent for `silentMs` (counted while we ran); the monitor has stopped. */
  onDead: (silentMs: number) => void;
  /** Monotonic clock, ms (default performance.now). */
  now?: () => number;
  /** Runs `fn` every `ms`; returns how to stop it (default setInterval). */
  every?: (ms: number, fn: () => void) => () => void;
}

const defaultEvery = (ms: number, fn: () => void): (() => void) => {
  const id = setInterval(fn, ms);
  return () => clearInterval(id);
};

export class HeartbeatMonitor {
  /** Set iff the monitor is running (between start and stop or a declared death). */
  private cancel: (() => void) | undefined;
  private meter: SilenceMeter;
  private readonly now: () => number;

  constructor(private readonly opts: HeartbeatOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.meter = new SilenceMeter(opts.deadAfterMs, 2 * opts.intervalMs, this.now());
  }

  start(): void {
    this.stop();
    this.meter = new SilenceMeter(this.opts.deadAfterMs, 2 * this.opts.intervalMs, this.now());
    this.cancel = (this.opts.every ?? defaultEvery)(this.opts.intervalMs, () => this.tick());
  }

  /** Something arrived from the server. */
  alive(): void {
    this.meter.heard(this.now());
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  /** The silence counted so far (ms). */
  get silenceMs(): number { return this.meter.silence; }

  private tick(): void {
    if (this.meter.tick(this.now())) {
      this.stop();
      this.opts.onDead(Math.round(this.meter.silence));
      return;
    }
    if (this.meter.silence >= this.opts.intervalMs / 2) this.opts.probe();
  }
}

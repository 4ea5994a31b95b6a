// ADDP (Advanced Disconnect Detection Protocol) for the sync stream: each end sends a heartbeat every
// `intervalMs` and declares its peer dead after `timeoutMs` of silence; any message counts as life.
//
// Robust to this process's own event loop being blocked (GC pause, a long synchronous task): silence
// is counted only while the loop runs, by SilenceMeter (src/lib/silence-meter.ts): a check that
// fires late adds at most `maxStepMs` and never declares death itself, since libuv runs timers
// BEFORE polling sockets and the peer's messages that arrived during the block are still unread.
import { performance } from 'node:perf_hooks';
import type { Logger } from '../lib/log.js';
import { SilenceMeter } from '../lib/silence-meter.js';

// The silence accounting is shared with the SDK's heartbeat monitor (browser-safe module).
export { SilenceMeter };

export interface AddpOptions {
  /** Send a heartbeat this often (ms). */
  intervalMs: number;
  /** Declare the peer dead after this much silence (ms). */
  timeoutMs: number;
  /** Log every heartbeat sent and received. */
  trace: boolean;
}

/** A hung primary is replaced within ~0.5 s; 4 missed heartbeats tolerate GC pauses up to ~300 ms. See docs/ha.md. */
export const DEFAULT_ADDP: AddpOptions = { intervalMs: 100, timeoutMs: 400, trace: false };

/**
 * While a resync runs, each side may be silent this many ADDP timeouts before the other drops it.
 * The primary builds and streams a snapshot of tens of thousands of deltas (hundreds of ms on a busy
 * machine before its Welcome goes out); the backup applies it and may not send meanwhile. Dropping
 * either only starts the same resync again, on a primary already short of CPU: the feedback loop of
 * a metastable failure (chaos: a restarted backup dropped two snapshots being built, 1.1 s lost).
 * The primary keeps the grace until the backup acks the resync's last offset; the backup until it is
 * in sync. A kill -9 still ends the stream at once, and a hang is the switch lease's to judge.
 */
export const RESYNC_SILENCE_FACTOR = 4;

export function validateAddp(o: AddpOptions): void {
  if (!(o.intervalMs > 0) || !(o.timeoutMs > 0)) throw new Error('addp.interval and addp.timeout must be positive (ms)');
  if (o.timeoutMs < 2 * o.intervalMs) {
    throw new Error(`addp.timeout (${o.timeoutMs} ms) must be at least twice addp.interval (${o.intervalMs} ms), else one late heartbeat is a false failover`);
  }
}

export interface AddpHooks {
  /** Send one heartbeat to the peer. */
  send(): void;
  /** The peer was silent for `silentMs` (counted while this loop ran). Called once per silence. */
  dead(silentMs: number): void;
  /**
   * Optional: the peer was heard again after `dead`. With this hook the monitor keeps sending and
   * checking after a timeout (the owner only suspects the peer and lets the switch judge); without
   * it the monitor stops at the first timeout.
   */
  revived?(): void;
  log: Logger;
  /** 'primary' or 'backup', for log lines. */
  peer: string;
}

export class AddpMonitor {
  private readonly meter: SilenceMeter;
  private readonly checkMs: number;
  private sendTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private sendingPaused = false;
  private declared = false;

  constructor(private readonly opts: AddpOptions, private readonly hooks: AddpHooks) {
    validateAddp(opts);
    // Check 8 times per timeout: detection within timeout + timeout/8.
    this.checkMs = Math.max(5, Math.min(opts.intervalMs, Math.floor(opts.timeoutMs / 8)));
    this.meter = new SilenceMeter(opts.timeoutMs, 2 * this.checkMs, performance.now());
  }

  start(): void {
    if (this.sendTimer) return;
    this.meter.heard(performance.now());
    this.sendTimer = setInterval(() => this.sendOne(), this.opts.intervalMs).unref();
    this.checkTimer = setInterval(() => this.check(), this.checkMs).unref();
  }

  stop(): void {
    clearInterval(this.sendTimer);
    clearInterval(this.checkTimer);
    this.sendTimer = this.checkTimer = undefined;
  }

  /** Any message from the peer. `heartbeat` only changes the trace line. */
  heard(heartbeat = false): void {
    this.meter.heard(performance.now());
    if (heartbeat && this.opts.trace) this.hooks.log.info({ peer: this.hooks.peer }, 'addp heartbeat received');
    if (this.declared && this.hooks.revived) {
      this.declared = false;
      this.hooks.log.info({ peer: this.hooks.peer }, 'addp: peer heard again after a timeout');
      this.hooks.revived();
    }
  }

  /** Test hook: stop sending heartbeats while everything else goes on (a silent, hung-looking peer). */
  pauseSending(paused: boolean): void { this.sendingPaused = paused; }

  setTrace(trace: boolean): void { this.opts.trace = trace; }

  /**
   * Declare the peer dead after `ms` of silence from now on (never below the configured timeout).
   * The primary allows a backup in full resync more: applying a snapshot of tens of thousands of
   * deltas can keep its loop from sending for longer than the timeout, and dropping it would only
   * start the same resync again (a loop that never ends under load).
   */
  setTimeoutMs(ms: number): void { this.meter.setTimeoutMs(Math.max(ms, this.opts.timeoutMs)); }

  get silenceMs(): number { return this.meter.silence; }

  private sendOne(): void {
    if (this.sendingPaused) return;
    this.hooks.send();
    if (this.opts.trace) this.hooks.log.info({ peer: this.hooks.peer }, 'addp heartbeat sent');
  }

  private check(): void {
    if (this.declared || !this.meter.tick(performance.now())) return;
    this.declared = true;
    if (!this.hooks.revived) this.stop();
    const silentMs = Math.round(this.meter.silence);
    this.hooks.log.warn({ peer: this.hooks.peer, silentMs, timeoutMs: this.opts.timeoutMs }, 'addp timeout: peer silent, declared dead');
    this.hooks.dead(silentMs);
  }
}

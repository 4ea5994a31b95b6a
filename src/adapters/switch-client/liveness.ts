// The main thread's handle on the liveness worker (liveness-worker.ts, docs/liveness.md): starts it,
// feeds it the main link's renew token and held epoch, bumps the progress counter every turn, and
// answers the lease check synchronously from shared memory. If the worker cannot start or dies, it
// says so once and reports nothing (deadline 0, never tripped): the main link's own renewals, which
// never stop, carry the lease as before.
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import type { Logger } from '../../lib/log.js';
import type { TlsMaterial } from '../../lib/tls.js';
import { SLOT, SharedSlots, type FromWorker, type LivenessWorkerData, type LogTarget, type ToWorker } from './liveness-shared.js';

/** Default hang-detection time: the lease / ADDP timeout (a hung primary is replaced in ~0.5 s). */
export const DEFAULT_HANG_DETECTION_MS = 400;

export interface LivenessOptions {
  /** host:port of the switch, secret and TLS: the same as the main link's. */
  address: string;
  serverName: string;
  secret?: string;
  tls?: TlsMaterial;
  /** No main-thread progress for this long: stop renewing and release the lease. */
  hangDetectionMs: number;
  log: Logger;
  /** Tests: another worker script. */
  workerUrl?: URL;
}

/** How often the main thread proves progress (and polls for renewals). Unref'd: never keeps the process up. */
const PROGRESS_MS = 10;

export class Liveness {
  private readonly slots = SharedSlots.create();
  private worker: Worker | undefined;
  /** True from start until the worker failed or stop(): while false, deadline() is 0 and tripped() false. */
  private alive = false;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  private seenRenewals = 0;
  private readonly renewalListeners: (() => void)[] = [];

  constructor(private readonly opts: LivenessOptions) {
    this.timer = setInterval(() => this.turn(), PROGRESS_MS).unref();
    try {
      const data: LivenessWorkerData = {
        shared: this.slots.buffer, address: opts.address, serverName: opts.serverName, hangDetectionMs: opts.hangDetectionMs,
        ...(opts.secret ? { secret: opts.secret } : {}), ...(opts.tls ? { tls: opts.tls } : {}),
        log: { level: opts.log.level, ...withTarget(logTarget(opts.log)) },
      };
      // dist/: the compiled .js next to this file; under tap, its loader maps the .js URL to the .ts source.
      const w = new Worker(opts.workerUrl ?? new URL('./liveness-worker.js', import.meta.url), {
        workerData: data,
        // The worker holds a gRPC link and a few timers: a 4 MiB young generation is plenty, and it
        // keeps the default young generation (two 16 MiB semi-spaces) off the memory budget (docs/capacity.md).
        resourceLimits: { maxYoungGenerationSizeMb: 4 },
      });
      w.unref();
      w.on('message', (m: FromWorker) => { if (m.type === 'log') opts.log[m.level]({ thread: 'liveness-worker', ...m.obj }, m.msg); });
      w.on('error', (err) => this.failed(`liveness worker failed: ${err.message}`));
      w.on('exit', (code) => { if (!this.stopped) this.failed(`liveness worker exited (code ${code})`); });
      this.worker = w;
      this.alive = true;
    } catch (err) {
      this.failed(`liveness worker could not start: ${(err as Error).message}`);
    }
  }

  /** The worker runs (it may still be connecting its renewer link). */
  get running(): boolean { return this.alive; }

  /** The main link was welcomed: renew for it (a new stream has a new token). */
  attach(renewToken: string, leaseMs: number, heartbeatMs: number): void {
    if (!renewToken) return; // an old switch without renewer links: main-thread renewals only
    this.post({ type: 'attach', token: renewToken, leaseMs, heartbeatMs });
  }

  /** The main link is gone: nothing to renew for until the next attach. */
  detach(): void {
    this.slots.set(SLOT.renewEpoch, 0);
    this.post({ type: 'detach' });
  }

  /** The epoch the main link holds (0 = none): the worker renews it. */
  setEpoch(epoch: number): void { this.slots.set(SLOT.renewEpoch, epoch); }

  /** Until when the worker's renewals let the main link act as holder of `epoch` (0 = no word). */
  deadline(epoch: number): number {
    if (!this.alive || epoch === 0 || this.slots.get(SLOT.deadlineEpoch) !== epoch) return 0;
    return this.slots.get(SLOT.deadline);
  }

  /** The watchdog gave up `epoch` (released it): the main thread must not act as its holder any more. */
  tripped(epoch: number): boolean {
    return this.alive && epoch !== 0 && this.slots.get(SLOT.tripped) === epoch;
  }

  /** Called (from a timer, at most every ~10 ms) when the worker's renewals advanced. */
  onRenewal(fn: () => void): void { this.renewalListeners.push(fn); }

  /** For /metrics. */
  stats(): { workerUp: number; renewerLinkUp: number; renewals: number; hangs: number; maxStallMs: number } {
    return {
      workerUp: this.alive ? 1 : 0, renewerLinkUp: this.alive ? this.slots.get(SLOT.linkUp) : 0, renewals: this.slots.get(SLOT.renewals),
      hangs: this.slots.get(SLOT.hangs), maxStallMs: this.slots.get(SLOT.maxStallMs),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    const w = this.worker;
    this.worker = undefined;
    this.alive = false;
    if (!w) return;
    w.postMessage({ type: 'stop' } satisfies ToWorker);
    await w.terminate();
  }

  /** One main-thread turn: progress for the watchdog, and renewals for the listeners. */
  private turn(): void {
    this.slots.add(SLOT.progress);
    const r = this.slots.get(SLOT.renewals);
    if (r !== this.seenRenewals) {
      this.seenRenewals = r;
      for (const fn of this.renewalListeners) fn();
    }
  }

  private post(m: ToWorker): void {
    if (this.alive) this.worker?.postMessage(m);
  }

  private failed(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.alive = false;
    this.worker = undefined;
    clearInterval(this.timer);
    this.opts.log.error({ why }, `${why}: falling back to main-thread lease renewals (a long main-thread stall may fail over)`);
  }
}

function withTarget(t: LogTarget | undefined): { target?: LogTarget } { return t ? { target: t } : {}; }

/**
 * The destination of a pino logger made by common/log.ts (a SonicBoom on fd 1 or a file), so the
 * worker can write its own lines there; undefined otherwise (the worker relays lines through us).
 */
export function logTarget(logger: Logger): LogTarget | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { file?: unknown; fd?: unknown } | undefined;
  if (!stream) return undefined;
  if (typeof stream.file === 'string' && stream.file) return { file: stream.file };
  if (stream.fd === 1 || stream.fd === 2) return { fd: stream.fd };
  return undefined;
}

/** The few gauges of the liveness worker (the Metrics class of src/lib/metrics/metrics.ts fits). */
export function registerLivenessMetrics(m: { gauge(name: string, help: string, read: () => number): void }, l: Liveness): void {
  m.gauge('tandem_liveness_worker_up', '1 while the liveness worker runs (0: main-thread lease renewals only).', () => l.stats().workerUp);
  m.gauge('tandem_liveness_renewer_link_up', '1 while the liveness worker\'s renewer link to the switch is up.', () => l.stats().renewerLinkUp);
  m.gauge('tandem_liveness_renewals', 'Lease renewals the switch acknowledged to the liveness worker (counter).', () => l.stats().renewals);
  m.gauge('tandem_liveness_hangs', 'Times the watchdog found the main thread hung and released the lease (counter).', () => l.stats().hangs);
  m.gauge('tandem_liveness_max_stall_seconds', 'Longest main-thread stall (no progress) the liveness worker has seen.', () => l.stats().maxStallMs / 1000);
}

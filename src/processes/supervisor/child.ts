// One supervised process: start, restart with backoff when it dies of a fault, stop on request.
// Exit status 0 means "asked to stop" (DESIGN.md, Management layer): such a process is not restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../lib/log.js';
import { StateMachine } from '../../lib/fsm.js';
import { Backoff, type BackoffOptions } from '../../lib/backoff.js';

export interface ChildSpec {
  name: string;
  /** Arguments after `node`, e.g. [tandemBin, 'tserver', '--name', 'A', ...]. */
  args: string[];
  /** Where the child's stdout/stderr go (its pino lines), or 'inherit'. */
  stdio: 'inherit' | 'ignore' | number;
  /** Extra environment (e.g. the per-run peer secrets: never on the command line, where ps shows it). */
  env?: Record<string, string>;
}

/** Restarts: 200 ms doubling to 5 s; a process that ran 10 s was healthy, its next crash restarts at once (200 ms). */
const RESTART: BackoffOptions = { initialMs: 200, maxMs: 5_000, resetAfterMs: 10_000 };

type ChildState = 'stopped' | 'running' | 'waiting-restart' | 'stopping';

/** For each state, the states it may be entered from. */
const ALLOWED_FROM: Record<ChildState, readonly ChildState[]> = {
  running: ['stopped', 'waiting-restart'],
  stopping: ['running'],
  stopped: ['running', 'stopping', 'waiting-restart'],
  'waiting-restart': ['running'],
};

export class SupervisedChild {
  private readonly sm: StateMachine<ChildState>;
  private proc: ChildProcess | undefined;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(RESTART);
  restarts = 0;

  /** onStarted: called after every (re)start, e.g. to record the new pid for `tandem ctl`. */
  constructor(readonly spec: ChildSpec, private readonly log: Logger, private readonly onStarted: () => void = () => {}) {
    this.sm = new StateMachine<ChildState>({ name: 'child', initial: 'stopped', allowedFrom: ALLOWED_FROM, log, level: () => 'debug', fields: () => ({ child: spec.name }) });
    // A start out of waiting-restart is a restart, whoever asked for it.
    this.sm.onChange(({ from, to }) => { if (from === 'waiting-restart' && to === 'running') this.restarts += 1; });
  }

  get pid(): number | undefined { return this.proc?.pid; }
  get status(): ChildState { return this.sm.state; }

  start(): void { this.launch(['stopped', 'waiting-restart'], 'start requested'); }

  /** Spawns the process if the machine is (still) in one of `from`: a stale restart timer spawns nothing. */
  private launch(from: readonly ChildState[], reason: string): void {
    if (!this.sm.transition(from, 'running', reason)) return;
    clearTimeout(this.restartTimer);
    this.startedAt = Date.now();
    this.backoff.succeeded(); // its crash restarts at once if it stayed up RESTART.resetAfterMs
    const proc = spawn(process.execPath, this.spec.args, { stdio: ['ignore', this.spec.stdio, this.spec.stdio], env: { ...process.env, ...this.spec.env } });
    this.proc = proc;
    this.log.info({ child: this.spec.name, childPid: proc.pid }, 'child started');
    proc.on('exit', (code, signal) => this.onExit(proc, code, signal));
    proc.on('error', (err) => this.log.error({ child: this.spec.name, err: err.message }, 'child could not start'));
    this.onStarted();
  }

  /** Sends a signal (operator command: SIGUSR1 promote, SIGUSR2 demote, SIGHUP reload). */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.proc || !this.sm.is('running')) return false;
    this.proc.kill(sig);
    this.log.info({ child: this.spec.name, signal: sig }, 'signal forwarded');
    return true;
  }

  /** Graceful stop: SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs = 5_000): Promise<void> {
    clearTimeout(this.restartTimer);
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      this.sm.transition(ALLOWED_FROM.stopped, 'stopped', 'stop requested: not running');
      return Promise.resolve();
    }
    if (this.sm.is('running')) this.sm.transition('running', 'stopping', 'stop requested: SIGTERM');
    return new Promise((resolve) => {
      const kill = setTimeout(() => { this.log.warn({ child: this.spec.name, graceMs }, 'child did not stop in time: SIGKILL'); proc.kill('SIGKILL'); }, graceMs);
      proc.once('exit', () => { clearTimeout(kill); resolve(); });
      proc.kill('SIGTERM');
    });
  }

  private onExit(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (proc !== this.proc) return;
    const upForMs = Date.now() - this.startedAt;
    if (this.sm.is('stopping')) {
      this.sm.transition('stopping', 'stopped', `exited (${code ?? signal})`);
      this.log.info({ child: this.spec.name, code, signal }, 'child stopped');
      return;
    }
    if (code === 0) {
      if (this.sm.transition('running', 'stopped', 'exited with status 0')) this.log.info({ child: this.spec.name }, 'child exited on request (status 0): not restarting');
      return;
    }
    // Refused when stop() came first (the exit was already on its way): no restart then.
    if (!this.sm.transition('running', 'waiting-restart', `died (${code ?? signal})`)) return;
    const delayMs = this.backoff.next();
    this.log.warn({ child: this.spec.name, code, signal, upForMs, delayMs, restarts: this.restarts }, 'child died: restarting (it rejoins as backup)');
    this.restartTimer = setTimeout(() => this.launch(['waiting-restart'], `restart after ${delayMs} ms`), delayMs);
  }
}

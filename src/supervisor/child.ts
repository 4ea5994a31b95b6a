// One supervised process: start, restart with backoff when it dies of a fault, stop on request.
// Exit status 0 means "asked to stop" (DESIGN.md, Management layer): such a process is not restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../common/log.js';
import { RestartBackoff } from './backoff.js';

export interface ChildSpec {
  name: string;
  /** Arguments after `node`, e.g. [tandemBin, 'tserver', '--name', 'A', ...]. */
  args: string[];
  /** Where the child's stdout/stderr go (its pino lines), or 'inherit'. */
  stdio: 'inherit' | 'ignore' | number;
  /** Extra environment (e.g. the per-run peer secrets: never on the command line, where ps shows it). */
  env?: Record<string, string>;
}

type ChildState = 'stopped' | 'running' | 'waiting-restart' | 'stopping';

export class SupervisedChild {
  private state: ChildState = 'stopped';
  private proc: ChildProcess | undefined;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new RestartBackoff();
  restarts = 0;

  /** onStarted: called after every (re)start, e.g. to record the new pid for `tandem ctl`. */
  constructor(readonly spec: ChildSpec, private readonly log: Logger, private readonly onStarted: () => void = () => {}) {}

  get pid(): number | undefined { return this.proc?.pid; }
  get status(): ChildState { return this.state; }

  start(): void {
    if (this.state === 'running' || this.state === 'stopping') return;
    this.setState('running');
    this.startedAt = Date.now();
    const proc = spawn(process.execPath, this.spec.args, { stdio: ['ignore', this.spec.stdio, this.spec.stdio], env: { ...process.env, ...this.spec.env } });
    this.proc = proc;
    this.log.info({ child: this.spec.name, childPid: proc.pid }, 'child started');
    proc.on('exit', (code, signal) => this.onExit(proc, code, signal));
    proc.on('error', (err) => this.log.error({ child: this.spec.name, err: err.message }, 'child could not start'));
    this.onStarted();
  }

  /** Sends a signal (operator command: SIGUSR1 promote, SIGUSR2 demote, SIGHUP reload). */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.proc || this.state !== 'running') return false;
    this.proc.kill(sig);
    this.log.info({ child: this.spec.name, signal: sig }, 'signal forwarded');
    return true;
  }

  /** Graceful stop: SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs = 5_000): Promise<void> {
    clearTimeout(this.restartTimer);
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) { this.setState('stopped'); return Promise.resolve(); }
    this.setState('stopping');
    return new Promise((resolve) => {
      const kill = setTimeout(() => { this.log.warn({ child: this.spec.name, graceMs }, 'child did not stop in time: SIGKILL'); proc.kill('SIGKILL'); }, graceMs);
      proc.once('exit', () => { clearTimeout(kill); resolve(); });
      proc.kill('SIGTERM');
    });
  }

  private onExit(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (proc !== this.proc) return;
    const upForMs = Date.now() - this.startedAt;
    if (this.state === 'stopping') { this.setState('stopped'); this.log.info({ child: this.spec.name, code, signal }, 'child stopped'); return; }
    if (code === 0) { this.setState('stopped'); this.log.info({ child: this.spec.name }, 'child exited on request (status 0): not restarting'); return; }
    const delayMs = this.backoff.nextDelay(upForMs);
    this.setState('waiting-restart');
    this.log.warn({ child: this.spec.name, code, signal, upForMs, delayMs, restarts: this.restarts }, 'child died: restarting (it rejoins as backup)');
    this.restartTimer = setTimeout(() => { this.restarts += 1; this.setState('stopped'); this.start(); }, delayMs);
  }

  private setState(to: ChildState): void {
    if (to === this.state) return;
    this.log.debug({ child: this.spec.name, from: this.state, to }, 'child state');
    this.state = to;
  }
}

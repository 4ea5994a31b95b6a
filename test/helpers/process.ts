// Real processes for integration tests: spawn `tandem <command>` from dist/, read its pino JSON
// lines, wait for a log line by predicate (never by sleeping), and kill everything at teardown even
// when the test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TANDEM_BIN = join(ROOT, 'dist', 'cli', 'tandem.js');

export type LogLine = Record<string, unknown> & { msg?: string };

export interface Proc {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** Raw stdout/stderr text that was not JSON (e.g. a CLI error line). */
  readonly text: string[];
  /** Resolves with the first line (already seen or future) matching pred; rejects on exit or timeout. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

interface Teardown { teardown(fn: () => unknown): void }

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) try { c.kill('SIGKILL'); } catch { /* gone */ } });

export function spawnTandem(t: Teardown, args: string[], opts: { env?: Record<string, string>; name?: string } = {}): Proc {
  const child = spawn(process.execPath, [TANDEM_BIN, ...args], {
    env: { ...process.env, TANDEM_LOG_LEVEL: process.env.TANDEM_LOG_LEVEL ?? 'debug', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const onLine = (raw: string) => {
    let parsed: LogLine | undefined;
    try { parsed = JSON.parse(raw) as LogLine; } catch { text.push(raw); }
    if (!parsed || typeof parsed !== 'object') return;
    lines.push(parsed);
    for (const w of waiters) if (w.pred(parsed)) { waiters.delete(w); w.resolve(parsed); }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, sig) => { live.delete(child); resolve(code ?? sig ?? -1); }));
  const proc: Proc = {
    child, lines, text, exited,
    waitFor(pred, timeoutMs = 10_000, what = 'log line') {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise<LogLine>((resolve, reject) => {
        const w = { pred, resolve: (l: LogLine) => { clearTimeout(timer); resolve(l); } };
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`${opts.name ?? args[0]}: timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}\n${text.slice(-5).join('\n')}`)); }, timeoutMs);
        waiters.add(w);
        void exited.then((code) => { if (waiters.delete(w)) { clearTimeout(timer); reject(new Error(`${opts.name ?? args[0]} exited (${code}) while waiting for ${what}; last lines:\n${lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}\n${text.slice(-5).join('\n')}`)); } });
      });
    },
    kill(signal = 'SIGKILL') { try { child.kill(signal); } catch { /* already gone */ } },
  };
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { child.kill('SIGCONT'); } catch { /* gone */ }
    child.kill('SIGKILL');
    await exited;
  });
  return proc;
}

/** Waits for the `ready` line every Tandem process logs once it listens, with its bound ports. */
export async function ready(p: Proc, timeoutMs = 15_000): Promise<LogLine> {
  return p.waitFor((l) => l.msg === 'ready', timeoutMs, 'ready');
}

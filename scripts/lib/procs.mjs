// Real Tandem processes for the bench and the chaos drill: spawn `node dist/cli/tandem.js ...`, read
// its pino JSON lines, wait for a line by predicate, read CPU and memory from /proc. Plain ESM so
// the scripts run straight from dist/ without a TypeScript loader.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync, writeFileSync, mkdtempSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TANDEM_BIN = join(ROOT, 'dist', 'cli', 'tandem.js');

const live = new Set();
process.on('exit', () => { for (const c of live) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });
// A bench or drill stopped with Ctrl-C or kill takes its switch and servers with it: a signal's
// default action skips 'exit' handlers and left them running (and holding ports and CPU).
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) process.once(sig, () => process.exit(128 + n));

/**
 * @typedef {Record<string, unknown> & {msg?: string}} LogLine
 * @typedef {{ child: import('node:child_process').ChildProcess, name: string, pid: number, lines: LogLine[],
 *   waitFor(pred: (l: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>,
 *   exited: Promise<number|string>, signal(sig: NodeJS.Signals): void, stop(): Promise<void> }} Proc
 */

/**
 * Spawns `tandem <args>`. Keeps at most `keepLines` log lines (a long bench logs a lot); with
 * `logFile`, every line is also appended there whole (the chaos drill's evidence).
 */
export function spawnTandem(args, { name = args[0], env = {}, nodeArgs = [], keepLines = 5000, logFile } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, TANDEM_BIN, ...args], {
    env: { ...process.env, TANDEM_LOG_LEVEL: process.env.TANDEM_LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines = [];
  /** How often each warning/error message was logged (kept whole, unlike `lines`). */
  const warnCounts = new Map();
  const waiters = new Set();
  const file = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  const onLine = (raw) => {
    file?.write(raw + '\n');
    let l;
    try { l = JSON.parse(raw); } catch { l = { msg: raw, text: true }; }
    if (!l || typeof l !== 'object') return;
    lines.push(l);
    if (typeof l.level === 'number' && l.level >= 40) warnCounts.set(String(l.msg), (warnCounts.get(String(l.msg)) ?? 0) + 1);
    if (lines.length > keepLines) lines.splice(0, lines.length - keepLines);
    for (const w of waiters) if (w.pred(l)) { waiters.delete(w); w.resolve(l); }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => { live.delete(child); file?.end(); resolve(code ?? sig ?? -1); }));
  /** @type {Proc} */
  const proc = {
    child, name, pid: child.pid, lines, warnCounts, exited,
    waitFor(pred, timeoutMs = 15_000, what = 'log line') {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (l) => { clearTimeout(timer); resolve(l); } };
        const fail = (why) => reject(new Error(`${name}: ${why} waiting for ${what}; last lines:\n${lines.slice(-6).map((l) => JSON.stringify(l)).join('\n')}`));
        const timer = setTimeout(() => { waiters.delete(w); fail(`timed out after ${timeoutMs} ms`); }, timeoutMs);
        waiters.add(w);
        void exited.then((code) => { if (waiters.delete(w)) { clearTimeout(timer); fail(`exited (${code})`); } });
      });
    },
    signal(sig) { try { child.kill(sig); } catch { /* gone */ } },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      proc.signal('SIGCONT');
      proc.signal('SIGKILL');
      await exited;
    },
  };
  return proc;
}

/** The first port of a `ready` line's `ports` object. */
export function firstPort(line) {
  const p = Object.values(line.ports ?? {}).find((v) => typeof v === 'number' && v > 0);
  if (typeof p !== 'number') throw new Error(`ready line without a port: ${JSON.stringify(line)}`);
  return p;
}

export const ready = (p, timeoutMs = 20_000) => p.waitFor((l) => l.msg === 'ready', timeoutMs, 'ready');

/** A free TCP port on 127.0.0.1 (bound then released: the pair needs its sync ports up front). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = /** @type {import('node:net').AddressInfo} */ (s.address()); s.close(() => resolve(port)); });
  });
}

export function writeConfig(config) {
  const file = join(mkdtempSync(join(tmpdir(), 'tandem-bench-')), 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export async function startSwitch(args = [], { logFile } = {}) {
  const proc = spawnTandem(['switch', '--host', '127.0.0.1', '--port', '0', ...args], { name: 'switch', logFile });
  const port = firstPort(await ready(proc));
  return { proc, port, address: `127.0.0.1:${port}` };
}

/** One T-Server; `pair` adds the HA flags (sync port, peer). Resolves once it listens. */
export async function startTServer({ name, switchAddress, config, port = 0, pair, nodeArgs = [], waitLinkUp = true }) {
  const args = ['tserver', '--name', name, '--host', '127.0.0.1', '--port', String(port), '--switch', switchAddress];
  if (config) args.push('--config', config);
  if (pair) {
    args.push('--sync-port', String(pair.syncPort), '--peer-sync', `127.0.0.1:${pair.peerSyncPort}`,
      '--peer-name', pair.peerName, '--peer-url', `ws://127.0.0.1:${pair.peerPort}/tlib`, '--sync-mode', pair.mode);
  }
  const proc = spawnTandem(args, { name: `tserver ${name}`, nodeArgs });
  const p = firstPort(await ready(proc));
  if (waitLinkUp) await proc.waitFor((l) => l.msg === 'switch link up', 15_000, 'switch link up');
  return tserverHandle(proc, name, p);
}

export function tserverHandle(proc, name, port) {
  const http = `http://127.0.0.1:${port}`;
  return {
    proc, name, port, url: `ws://127.0.0.1:${port}/tlib`, http,
    health: async () => (await fetch(`${http}/healthz`)).json(),
    metrics: async () => (await fetch(`${http}/metrics`)).text(),
  };
}

/** Resident set size in KiB (VmRSS), or NaN when the process is gone. */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch { return NaN; }
}

/** CPU seconds (user + system) used so far by a process. */
export function cpuSeconds(pid) {
  const t = cpuTimes(pid);
  return t.user + t.kernel;
}

/** A process's CPU time so far in seconds, user (utime) and kernel (stime), all threads; NaN when it is gone. */
export function cpuTimes(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) / 100, kernel: Number(f[12]) / 100 }; // clock ticks (USER_HZ = 100)
  } catch { return { user: NaN, kernel: NaN }; }
}

/**
 * CPU use of several processes over a window: returns a function giving {name: cores} at the end.
 * `part` 'kernel' counts only the time spent in the kernel on the processes' behalf (stime).
 */
export function cpuMeter(procs, part = 'all') {
  const read = part === 'kernel' ? (pid) => cpuTimes(pid).kernel : cpuSeconds;
  const t0 = performance.now();
  const c0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, read(pid)]));
  return () => {
    const dt = (performance.now() - t0) / 1000;
    return Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, (read(pid) - c0[k]) / dt]));
  };
}

/** Read and write system calls made so far by a process (/proc/PID/io syscr, syscw; writev counts as a write), or undefined. */
export function syscalls(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return { reads: Number(/syscr:\s+(\d+)/.exec(io)?.[1]), writes: Number(/syscw:\s+(\d+)/.exec(io)?.[1]) };
  } catch { return undefined; }
}

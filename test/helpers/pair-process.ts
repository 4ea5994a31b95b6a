// `tandem pair` as the operator runs it (the embedded supervisor with switch + A + B), for tests of
// its defaults. Ports are fixed numbers from free-port.ts (each server must know its peer's before
// either starts). Its children log to files in a temp log dir; at teardown every child is killed by
// pid (the supervisor's own SIGKILL would orphan them).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnTandem, type LogLine, type Proc } from './process.js';
import { freePorts } from './free-port.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface PairProcess {
  sup: Proc;
  logDir: string;
  ports: { switch: number; a: number; b: number; aSync: number; bSync: number };
  /** GET /healthz of A or B (undefined while it is down). */
  health(name: 'A' | 'B'): Promise<Record<string, unknown> | undefined>;
  /** The children's pids, from the supervisor's pids file. */
  pids(): Record<string, number>;
  /** The JSON lines a child has written to <logDir>/<name>.log so far. */
  logLines(name: 'A' | 'B' | 'switch'): LogLine[];
  /** Polls /healthz of both until one is a serving primary and the other its in-sync backup. */
  roles(timeoutMs?: number): Promise<{ primary: 'A' | 'B'; backup: 'A' | 'B' }>;
}

export async function startPairProcess(t: Teardown, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<PairProcess> {
  const [sw, a, b, aSync, bSync] = await freePorts(5) as [number, number, number, number, number];
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-pair-'));
  const sup = spawnTandem(t, ['pair', '--switch-port', String(sw), '--a-port', String(a), '--b-port', String(b),
    '--a-sync-port', String(aSync), '--b-sync-port', String(bSync), '--log-dir', logDir, ...extraArgs], { name: 'pair', env });
  const pids = () => (JSON.parse(readFileSync(join(logDir, 'tandem-pair.json'), 'utf8')) as { children: Record<string, number> }).children;
  t.teardown(() => {
    let children: Record<string, number> = {};
    try { children = pids(); } catch { return; /* stopped cleanly: the file is gone with the children */ }
    for (const pid of Object.values(children)) try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  });
  const port = { A: a, B: b };
  const health = async (name: 'A' | 'B') => {
    try {
      const res = await fetch(`http://127.0.0.1:${port[name]}/healthz`, { signal: AbortSignal.timeout(1_000) });
      return (await res.json()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const logLines = (name: 'A' | 'B' | 'switch'): LogLine[] => {
    let text = '';
    try { text = readFileSync(join(logDir, `${name}.log`), 'utf8'); } catch { return []; }
    return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  };
  const roles = async (timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs;
    let last: unknown[] = [];
    while (Date.now() < end) {
      const [ha, hb] = await Promise.all([health('A'), health('B')]);
      last = [ha, hb];
      const ok = (p?: Record<string, unknown>, q?: Record<string, unknown>) => p?.role === 'primary' && p.serving === true && q?.haState === 'backup-in-sync' && p.syncState === 'in-sync';
      if (ok(ha, hb)) return { primary: 'A' as const, backup: 'B' as const };
      if (ok(hb, ha)) return { primary: 'B' as const, backup: 'A' as const };
      await delay(50); // paces the polls only
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for a primary and an in-sync backup; last /healthz: ${JSON.stringify(last)}`);
  };
  return { sup, logDir, ports: { switch: sw, a, b, aSync, bSync }, health, pids, logLines, roles };
}

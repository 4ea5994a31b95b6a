// `tandem pair` (the embedded management layer) with real processes: it starts switch + A + B,
// restarts a T-Server killed with -9 (which rejoins as backup), forwards `tandem ctl` commands as
// signals, and stops everything with exit 0 on SIGINT.
//
// The pair needs each server's peer address before either starts, so its ports are fixed numbers
// (test/helpers/free-port.ts picks them outside the ephemeral range).
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnTandem, TANDEM_BIN } from '../helpers/process.js';
import { freePorts } from '../helpers/free-port.js';

async function health(port: number): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Polls both servers' /healthz until pred holds (the interval only paces the reads). */
async function until(what: string, pred: () => Promise<boolean>, ports: number[], timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await delay(50);
  }
  const last = await Promise.all(ports.map(health));
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}; last /healthz: ${JSON.stringify(last)}`);
}

const ctl = (logDir: string, ...args: string[]) =>
  execFileSync(process.execPath, [TANDEM_BIN, 'ctl', ...args, '--log-dir', logDir], { encoding: 'utf8' });

t.test('tandem pair supervises switch + A + B: restart after kill -9, ctl promote, clean stop', async (t) => {
  const [sw, a, b, as, bs] = await freePorts(5) as [number, number, number, number, number];
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-pair-'));
  const pidsOf = () => (JSON.parse(readFileSync(join(logDir, 'tandem-pair.json'), 'utf8')) as { children: Record<string, number> }).children;
  const sup = spawnTandem(t, ['pair', '--switch-port', String(sw), '--a-port', String(a), '--b-port', String(b),
    '--a-sync-port', String(as), '--b-sync-port', String(bs), '--log-dir', logDir], { name: 'pair' });
  // The supervisor's own SIGKILL at teardown would orphan its children: kill them by pid first.
  t.teardown(() => {
    let pids: Record<string, number> = {};
    try { pids = pidsOf(); } catch { return; /* stopped cleanly: the file is gone with the children */ }
    for (const pid of Object.values(pids)) try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  });

  // Whichever claims the switch first is primary (A, unless it started slowly: see below).
  const roles = async () => {
    const [ha, hb] = await Promise.all([health(a), health(b)]);
    const ok = (p?: Record<string, unknown>, q?: Record<string, unknown>) => p?.role === 'primary' && p.serving === true && q?.role === 'backup' && q.syncState === 'in-sync';
    return ok(ha, hb) ? { primary: 'A', backup: 'B' } : ok(hb, ha) ? { primary: 'B', backup: 'A' } : undefined;
  };
  await until('one server is primary and the other an in-sync backup', async () => (await roles()) !== undefined, [a, b]);
  const first = (await roles())!;
  // A is the preferred primary: B, started with --preferred-role backup, leaves the first claim to it
  // for 2 s (a slow start of A on a loaded machine may still let B win: then B is primary).
  const bStart = readFileSync(join(logDir, 'B.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'role changed' && l.from === 'starting');
  t.match(String(bStart?.reason), /first start, preferred role backup: waiting 2000 ms|holds the lease/, 'B did not race A for the first claim');
  t.ok(sup.text.some((l) => l.includes(`/desktop/`)), 'prints where the desktop page is');
  t.ok(sup.text.some((l) => l.includes(logDir)), 'prints where the logs are');

  const killedPid = pidsOf()[first.primary]!;
  process.kill(killedPid, 'SIGKILL');
  await until(`${first.backup} took over and a new ${first.primary} rejoined as an in-sync backup`,
    async () => (await roles())?.primary === first.backup, [a, b]);
  t.not(pidsOf()[first.primary], killedPid, `${first.primary} was restarted with a new pid`);
  await sup.waitFor((l) => l.msg === 'child died: restarting (it rejoins as backup)' && l.child === first.primary, 5_000, 'restart log line');

  t.match(ctl(logDir, 'promote', first.primary), new RegExp(`SIGUSR1 sent to ${first.primary}`));
  await until(`${first.primary} is primary again after the switchover`, async () => (await roles())?.primary === first.primary, [a, b]);

  const status = (() => {
    try {
      return execFileSync(process.execPath, [TANDEM_BIN, 'status', '--servers', `http://127.0.0.1:${a},http://127.0.0.1:${b}`], { encoding: 'utf8' });
    } catch (err) {
      return String((err as { stdout?: string }).stdout ?? err);
    }
  })();
  t.match(status, new RegExp(`${first.primary}\\s+primary`), `tandem status shows ${first.primary} primary`);
  t.match(status, new RegExp(`${first.backup}\\s+backup`), `tandem status shows ${first.backup} backup`);

  const children = pidsOf();
  sup.kill('SIGINT');
  t.equal(await sup.exited, 0, 'SIGINT stops everything with exit 0');
  const left = Object.values(children).filter((pid) => { try { process.kill(pid!, 0); return true; } catch { return false; } });
  t.same(left, [], 'no child left running');
});

t.test('tandem ctl explains what is wrong', async (t) => {
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-ctl-'));
  try {
    execFileSync(process.execPath, [TANDEM_BIN, 'ctl', 'promote', 'B', '--log-dir', logDir], { encoding: 'utf8', stdio: 'pipe' });
    t.fail('should exit non-zero');
  } catch (err) {
    const e = err as { status: number; stderr: string };
    t.equal(e.status, 1);
    t.match(e.stderr, /is `tandem pair` running/);
  }
});

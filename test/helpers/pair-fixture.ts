// A real hot-standby pair for HA tests: a switch and two `tandem tserver` processes on ephemeral
// ports. Each server's sync port is reached through a TCP proxy (the peer is started with
// `--peer-sync 127.0.0.1:<proxy>` before the real sync port is known; the proxy is pointed at it
// from the ready line), which is also the test's handle to cut and heal the sync link alone.
// A is started first and becomes primary; B joins as backup and the pair is returned in sync.
import { setTimeout as delay } from 'node:timers/promises';
import { ready, spawnTandem, type LogLine, type Proc } from './process.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { startSwitch, writeConfig, type SwitchHandle } from './tserver-fixture.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface Member {
  name: 'A' | 'B';
  proc: Proc;
  port: number;
  syncPort: number;
  url: string;
  http: string;
  /** The proxy the PEER uses to reach this server's sync port (cut it to cut the sync link). */
  proxy: TcpProxy;
  health(): Promise<Record<string, unknown>>;
  /** canonicalState JSON (GET /debug/state). */
  state(): Promise<string>;
  metrics(): Promise<string>;
}

export interface PairOptions {
  config?: Record<string, unknown>;
  switchArgs?: string[];
  /** Extra flags for both servers. */
  args?: string[];
  /** Extra flags per server. */
  argsA?: string[];
  argsB?: string[];
  /** Start B too (default true). */
  withB?: boolean;
}

export interface Pair {
  sw: SwitchHandle;
  a: Member;
  b: Member;
  members(): Member[];
  /** (Re)starts a member with the same flags; resolves once it logged ready (proxy re-pointed). */
  start(name: 'A' | 'B'): Promise<Member>;
}

/** Index to pass to `after` so only lines logged from now on match. */
export const mark = (m: Member): number => m.proc.lines.length;

/** The first line at or after `from` that matches. */
export function after(m: Member, from: number, pred: (l: LogLine) => boolean, timeoutMs = 10_000, what = 'log line'): Promise<LogLine> {
  const before = new Set(m.proc.lines.slice(0, from));
  return m.proc.waitFor((l) => !before.has(l) && pred(l), timeoutMs, `${m.name}: ${what}`);
}

/** The role machine reached `to` (a 'role changed' line at or after `from`). */
export function roleChanged(m: Member, to: string, from = 0, timeoutMs = 10_000): Promise<LogLine> {
  return after(m, from, (l) => l.msg === 'role changed' && l.to === to, timeoutMs, `role changed to ${to}`);
}

/** Polls /healthz until pred holds (reads state; the interval only paces the reads). */
export async function healthUntil(m: Member, pred: (h: Record<string, unknown>) => boolean, timeoutMs = 10_000, what = 'health'): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  let last: Record<string, unknown> = {};
  while (Date.now() < end) {
    try { last = await m.health(); } catch { /* restarting */ }
    if (pred(last)) return last;
    await delay(20);
  }
  throw new Error(`${m.name}: timed out after ${timeoutMs} ms waiting for ${what}; last /healthz: ${JSON.stringify(last)}`);
}

/** Both report the same syncOffset, the primary has nothing unacked, the backup is in sync. */
export async function inSync(primary: Member, backup: Member, timeoutMs = 10_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let p: Record<string, unknown> = {};
  let b: Record<string, unknown> = {};
  while (Date.now() < end) {
    [p, b] = await Promise.all([primary.health(), backup.health()]);
    if (p.haState === 'primary' && b.haState === 'backup-in-sync' && p.syncState === 'in-sync' && p.syncLag === 0 && p.syncOffset === b.syncOffset) return p.syncOffset as number;
    await delay(20);
  }
  throw new Error(`not in sync after ${timeoutMs} ms: primary ${JSON.stringify(p)} backup ${JSON.stringify(b)}`);
}

export async function startPair(t: Teardown, o: PairOptions = {}): Promise<Pair> {
  const sw = await startSwitch(t, o.switchArgs);
  const proxies = { A: await startTcpProxy('127.0.0.1', 0, t), B: await startTcpProxy('127.0.0.1', 0, t) };
  const configFile = o.config ? writeConfig(o.config) : undefined;
  const members: Partial<Record<'A' | 'B', Member>> = {};

  const start = async (name: 'A' | 'B'): Promise<Member> => {
    const peer = name === 'A' ? 'B' : 'A';
    const args = ['tserver', '--name', name, '--host', '127.0.0.1', '--port', '0', '--switch', sw.address,
      '--sync-port', '0', '--peer-sync', `127.0.0.1:${proxies[peer].port}`, '--peer-name', peer, '--peer-url', `ws://127.0.0.1:0/tlib`,
      // The HA tests compare the two states (Member.state(): GET /debug/state, off by default).
      '--debug-state',
      ...(configFile ? ['--config', configFile] : []), ...(o.args ?? []), ...((name === 'A' ? o.argsA : o.argsB) ?? [])];
    const proc = spawnTandem(t, args, { name: `tserver ${name}` });
    const line = await ready(proc);
    const ports = line.ports as { http: number; sync: number };
    proxies[name].setTarget(ports.sync);
    const http = `http://127.0.0.1:${ports.http}`;
    const m: Member = {
      name, proc, port: ports.http, syncPort: ports.sync, url: `ws://127.0.0.1:${ports.http}/tlib`, http, proxy: proxies[name],
      health: async () => (await (await fetch(`${http}/healthz`)).json()) as Record<string, unknown>,
      state: async () => {
        const res = await fetch(`${http}/debug/state`);
        if (res.status !== 200) throw new Error(`${name}: GET /debug/state answered ${res.status}: ${await res.text()}`);
        return res.text();
      },
      metrics: async () => (await fetch(`${http}/metrics`)).text(),
    };
    members[name] = m;
    return m;
  };

  const a = await start('A');
  await roleChanged(a, 'primary');
  await healthUntil(a, (h) => h.switchLink === 'up', 10_000, 'switch link up');
  let b = a;
  if (o.withB ?? true) {
    b = await start('B');
    await roleChanged(b, 'backup-in-sync');
  }
  const pair: Pair = {
    sw, a, b: o.withB === false ? (undefined as unknown as Member) : b,
    members: () => [members.A, members.B].filter((m): m is Member => m !== undefined),
    start: async (name) => {
      const m = await start(name);
      if (name === 'A') pair.a = m; else pair.b = m;
      return m;
    },
  };
  return pair;
}

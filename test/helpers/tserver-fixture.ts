// Shared by the T-Server, HA and SDK tests: start a real switch and real `tandem tserver` processes
// on ephemeral ports, open T-Library clients on them. Everything is killed/closed at teardown.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ready, spawnTandem, type LogLine, type Proc } from './process.js';
import { TestClient } from './ws-client.js';
import { connectLink, type LinkClient } from '../../src/adapters/switch-client/link-client.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface SwitchHandle { proc: Proc; port: number; address: string }

export interface TServerHandle {
  proc: Proc;
  port: number;
  name: string;
  /** ws://127.0.0.1:<port>/tlib */
  url: string;
  http: string;
  health(): Promise<Record<string, unknown>>;
  metrics(): Promise<string>;
}

/** The first port in a ready line's `ports` object (the switch names its one port however it likes). */
export function firstPort(line: LogLine): number {
  const ports = (line.ports ?? {}) as Record<string, unknown>;
  const p = Object.values(ports).find((v) => typeof v === 'number' && v > 0);
  if (typeof p !== 'number') throw new Error(`ready line without a port: ${JSON.stringify(line)}`);
  return p;
}

export async function startSwitch(t: Teardown, args: string[] = [], port = 0): Promise<SwitchHandle> {
  const proc = spawnTandem(t, ['switch', '--host', '127.0.0.1', '--port', String(port), ...args], { name: 'switch' });
  const p = firstPort(await ready(proc));
  return { proc, port: p, address: `127.0.0.1:${p}` };
}

/** A switch link as T-Server `serverName` would open it, closed at teardown. */
export async function openSwitchLink(t: Teardown, address: string, serverName: string): Promise<LinkClient> {
  const l = await connectLink({ address, serverName });
  t.teardown(() => l.close());
  return l;
}

/** Writes a config file for the test (removed with the OS temp dir). */
export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-test-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface TServerOptions {
  name?: string;
  switchAddress: string;
  config?: unknown;
  port?: number;
  args?: string[];
  /** Wait until the switch link is up (default true). */
  waitLinkUp?: boolean;
}

export async function startTServer(t: Teardown, o: TServerOptions): Promise<TServerHandle> {
  const name = o.name ?? 'A';
  const args = ['tserver', '--name', name, '--host', '127.0.0.1', '--port', String(o.port ?? 0), '--switch', o.switchAddress, ...(o.args ?? [])];
  if (o.config !== undefined) args.push('--config', writeConfig(o.config));
  const proc = spawnTandem(t, args, { name: `tserver ${name}` });
  const port = firstPort(await ready(proc));
  if (o.waitLinkUp ?? true) await proc.waitFor((l) => l.msg === 'switch link up', 10_000, 'switch link up');
  const http = `http://127.0.0.1:${port}`;
  return {
    proc, port, name, url: `ws://127.0.0.1:${port}/tlib`, http,
    health: async () => (await (await fetch(`${http}/healthz`)).json()) as Record<string, unknown>,
    metrics: async () => (await fetch(`${http}/metrics`)).text(),
  };
}

/** Opens a client (RequestOpen done) and closes it at teardown. */
export async function openClient(t: Teardown, url: string, name: string): Promise<TestClient> {
  const c = await TestClient.connect(url, name);
  t.teardown(() => c.close());
  const info = await c.open();
  if (info.event !== 'EventServerInfo') throw new Error(`${name}: RequestOpen answered ${JSON.stringify(info)}`);
  return c;
}

export interface Stack { sw: SwitchHandle; ts: TServerHandle }

/** Switch + one T-Server (primary), link up. */
export async function startStack(t: Teardown, o: { config?: unknown; switchArgs?: string[] } = {}): Promise<Stack> {
  const sw = await startSwitch(t, o.switchArgs);
  const ts = await startTServer(t, { switchAddress: sw.address, config: o.config });
  return { sw, ts };
}

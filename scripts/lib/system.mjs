// The system under test as real processes: switch + one T-Server, or switch + the A/B pair (sync mode
// async or ack), every port fixed up front so a killed server can be restarted on the same ports
// (desktops keep their two URLs), the sync link optionally through cuttable TCP proxies.
import { freePort, startSwitch, spawnTandem, firstPort, ready, tserverHandle, writeConfig } from './procs.mjs';
import { startThreadedTcpProxy } from './proxy-thread.mjs';
import { join } from 'node:path';
import { sleep } from './stats.mjs';

export const QUEUE = '7000';
export const ROUTE_POINT = '8000';
export const PARK_POINT = '8001';

/** One config file for every process: the switch's dial plan, the core's queue and route points. */
export function benchConfig({ extraExtensions = [], journalEvents = 200_000, tserver = {}, relaxed = false } = {}) {
  // relaxed: failure detection 5× slower (lease 2 s, ADDP 250/2000 ms), to measure throughput on a
  // machine where CPU contention stalls event loops past the 400 ms defaults.
  const lease = relaxed ? { leaseMs: 2000, heartbeatMs: 200 } : {};
  const addp = relaxed ? { addpIntervalMs: 250, addpTimeoutMs: 2000 } : {};
  return writeConfig({
    switch: { dialPlan: { extensions: ['5000-5999', ...extraExtensions], queues: ['7000-7009'], routePoints: ['8000-8009'] }, eventLogSize: 200_000, commandLogSize: 1_000_000, ...lease },
    // The router is a server application: no per-connection request rate limit; the bulk desktop
    // of the resync test registers 5,000 DNs.
    // debugState: the chaos checker reads /debug/state (loopback, auth off).
    tserver: { maxQueuedMessages: 50_000, maxBufferedBytes: 32 * 1024 * 1024, maxRequestsPerSecond: 0, maxDNsPerClient: 0, maxConnections: 10_000, debugState: true, ...addp, ...tserver },
    core: {
      queues: { [QUEUE]: { wrapUpMs: 0, treatment: 'music' } },
      routePoints: { [ROUTE_POINT]: { defaultTarget: QUEUE, timeoutMs: 10_000 } },
      journal: { maxEvents: journalEvents, maxAgeMs: 15 * 60_000 },
    },
  });
}

/**
 * @param {{mode:'single'|'async'|'ack', config:string, proxy?:boolean, nodeArgs?:Record<string,string[]>, log?:(s:string)=>void, logDir?:string, switchArgs?:string[]}} o
 * With `logDir`, each process appends its log lines to `<logDir>/<switch|tserver-A|tserver-B>.log`.
 * `switchArgs` go to `tandem switch` (the SIP bench: `--sip --sip-port 0`).
 */
export async function startSystem(o) {
  const log = o.log ?? (() => {});
  const logFile = (name) => (o.logDir ? join(o.logDir, `${name}.log`) : undefined);
  const sw = await startSwitch(['--config', o.config, ...(o.switchArgs ?? [])], { logFile: logFile('switch') });
  const pair = o.mode !== 'single';
  const ports = { A: await freePort(), B: await freePort(), syncA: await freePort(), syncB: await freePort() };
  // Each server dials its peer's sync port; with proxies, through the proxy in front of it.
  const proxies = {};
  if (pair && o.proxy) {
    // On their own threads: a stall of this process (hundreds of SDK desktops) must not stall the sync link.
    proxies.A = await startThreadedTcpProxy('127.0.0.1', ports.syncA);
    proxies.B = await startThreadedTcpProxy('127.0.0.1', ports.syncB);
  }
  const peerSync = (name) => (proxies[name] ? proxies[name].port : name === 'A' ? ports.syncA : ports.syncB);
  const servers = {};
  const spawnServer = (name) => {
    const peer = name === 'A' ? 'B' : 'A';
    const args = ['tserver', '--name', name, '--host', '127.0.0.1', '--port', String(ports[name]), '--switch', sw.address, '--config', o.config];
    if (pair) args.push('--sync-port', String(name === 'A' ? ports.syncA : ports.syncB), '--peer-sync', `127.0.0.1:${peerSync(peer)}`,
      '--peer-name', peer, '--peer-url', `ws://127.0.0.1:${ports[peer]}/tlib`, '--sync-mode', o.mode);
    const proc = spawnTandem(args, { name: `tserver ${name}`, nodeArgs: o.nodeArgs?.[name] ?? [], logFile: logFile(`tserver-${name}`) });
    servers[name] = tserverHandle(proc, name, ports[name]);
    return servers[name];
  };
  const sys = {
    mode: o.mode, pair, sw, servers, proxies, ports, config: o.config,
    urls: pair ? [`ws://127.0.0.1:${ports.A}/tlib`, `ws://127.0.0.1:${ports.B}/tlib`] : [`ws://127.0.0.1:${ports.A}/tlib`],
    /** (Re)starts a server on its ports; resolves once it listens. */
    async start(name) { const s = spawnServer(name); firstPort(await ready(s.proc)); return s; },
    /** The server whose /healthz says serving primary (polls up to timeoutMs). */
    async primary(timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        for (const s of Object.values(servers)) {
          const h = await s.health().catch(() => undefined);
          if (h && h.role === 'primary' && h.serving && h.switchLink === 'up') return s;
        }
        if (Date.now() > end) throw new Error('no serving primary');
        await sleep(20);
      }
    },
    /** Waits until the backup is in sync (the primary's syncState says so); false on timeout. */
    async inSync(timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const p = await sys.primary(timeoutMs).catch(() => undefined);
        const h = p && (await p.health().catch(() => undefined));
        if (h && /in-sync|insync|synced/i.test(String(h.syncState))) return true;
        await sleep(50);
      }
      return false;
    },
    async stop() {
      await Promise.all(Object.values(servers).map((s) => s.proc.stop()));
      await sw.proc.stop();
      await Promise.all(Object.values(proxies).map((p) => p.close()));
    },
  };
  await sys.start('A');
  await servers.A.proc.waitFor((l) => l.msg === 'switch link up', 15_000, 'switch link up');
  if (pair) {
    await sys.start('B');
    sys.haWorks = await sys.inSync(o.syncTimeoutMs ?? 15_000);
    if (!sys.haWorks) log(`pair (${o.mode}): the backup never reported in sync (is the HA layer wired?)`);
  }
  return sys;
}

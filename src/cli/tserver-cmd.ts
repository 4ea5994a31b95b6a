// `tandem tserver`: one T-Server process (HTTP/WebSocket gateway + switch link + core).
import { parseFlags } from './args.js';
import { createLogger } from '../lib/log.js';
import { PortInUseError } from '../lib/listen.js';
import { buildConfig, ConfigError, readConfigFile, type FileShape } from '../processes/tserver/config.js';
import { haSettings, reloadable } from '../processes/tserver/ha-settings.js';
import { openSwitchTransport } from '../adapters/switch-client/link-binding.js';
import { TServer } from '../processes/tserver/tserver.js';
import { applyHeapTuning, heapGrowingPercent } from '../processes/tserver/heap-tuning.js';
import { loadTls } from '../lib/tls.js';
import { PeerSecretError, resolveSecret, SWITCH_SECRET_ENV, SYNC_SECRET_ENV } from '../lib/peer-auth.js';

const HELP = `usage: tandem tserver --name A [options]

Runs one T-Server: desktops connect with WebSocket to ws://<host>:<port>/tlib (T-Library in JSON,
see docs/protocol.md); /healthz and /metrics on the same port; the web desktop under /desktop/.

options:
  --name <n>           this server's name (A, B…), in every log line and in EventServerInfo (required)
  --host <addr>        listen address (default 127.0.0.1)
  --port <n>           HTTP/WebSocket port (default 7001; 0 = any free port)
  --switch <host:port> the switch's link address (default 127.0.0.1:7200)
  --config <file>      JSON config: "tserver" section (maxFrameBytes, maxBufferedBytes,
                       maxQueuedMessages, pingIntervalMs, desktopDir, heapGrowingPercent) and "core" section
                       (routePoints, queues, journal, dedup…)
  --log-file <path>    write JSON logs there (reopened on SIGHUP) instead of stdout
  --peer-name <n>      the other server's name, and --peer-url <ws://…/tlib> (shown to desktops)
  --debug-state        serve GET /debug/state (the whole state, user data included) to operators:
                       tokens of tserver.auth.operators, or loopback callers when auth is off
                       (also tserver.debugState: true; off by default; docs/security.md)

HA pair (docs/ha.md; each also a "tserver" key of the config file: syncPort, peerSync, syncMode,
addpIntervalMs, addpTimeoutMs, addpTrace, syncSecret, syncSecretFile, backlogBatches, hangDetectionMs, preferredRole,
logLevel; every key: docs/config.md):
  --peer-sync <host:port>   where the peer's sync port listens; turns the pair mode on
  --sync-port <n>           this server's sync port (default 7101; 0 = any free port)
  --sync-mode <ack|async>   ack (default): events and answers wait for the backup's ack
  --addp-interval-ms <n>    sync heartbeat period (default 100)
  --addp-timeout-ms <n>     peer declared dead after this much silence (default 400)
  --addp-trace              log every sync heartbeat
  --sync-secret-file <f>    file holding the sync stream's shared secret (the same on both
                            servers); or set $${SYNC_SECRET_ENV} (tandem pair does: a fresh random
                            secret per run). Without one (or tserver.peerTls with a ca) the sync port
                            accepts any peer and the server warns at start (docs/peer-auth.md)
  --sync-secret <s>         the secret itself (visible in ps: prefer the file or the variable)
  --switch-secret-file <f>  file holding the switch's secret; or $${SWITCH_SECRET_ENV}, tserver.switchSecret
  --backlog-batches <n>     batches kept for partial resync of a rejoining backup
  --hang-detection-ms <n>   main thread without progress this long: the liveness worker stops
                            renewing the switch lease and releases it (default 400; docs/liveness.md)
  --preferred-role <r>      primary (default) or backup: at a pair's very first start the backup
                            leaves the first claim to its peer for 2 s (tandem pair: A primary)

signals: SIGTERM/SIGINT stop gracefully (a primary hands over to an in-sync backup first; exit 0);
SIGUSR1 promote this server (switchover to it); SIGUSR2 demote it (hand over to the peer);
SIGHUP reopens the log file and re-reads logLevel and addpTrace from the config file.`;

/** Exit status of a T-Server stopped by a core bug (sysexits EX_SOFTWARE). */
export const CORE_BUG_EXIT_CODE = 70;

export async function main(argv: string[]): Promise<number> {
  const values = parseFlags('tserver', argv, {
    name: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7001' },
    switch: { type: 'string', default: '127.0.0.1:7200' },
    config: { type: 'string' },
    'log-file': { type: 'string' },
    'peer-name': { type: 'string' },
    'peer-url': { type: 'string' },
    'sync-port': { type: 'string' },
    'peer-sync': { type: 'string' },
    'sync-mode': { type: 'string' },
    'addp-interval-ms': { type: 'string' },
    'addp-timeout-ms': { type: 'string' },
    'addp-trace': { type: 'boolean' },
    'sync-secret': { type: 'string' },
    'sync-secret-file': { type: 'string' },
    'switch-secret-file': { type: 'string' },
    'backlog-batches': { type: 'string' },
    'hang-detection-ms': { type: 'string' },
    'preferred-role': { type: 'string' },
    'debug-state': { type: 'boolean' },
  }, HELP);
  if (typeof values === 'number') return values;
  if (!values.name) { console.error(`tandem tserver: --name is required\n\n${HELP}`); return 2; }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`tandem tserver: --port must be 0..65535, got "${values.port}"`); return 2; }

  let cfg;
  let file: FileShape;
  let heapPercent: number;
  try {
    file = readConfigFile(values.config);
    const t = file.tserver ?? {};
    heapPercent = heapGrowingPercent(t.heapGrowingPercent);
    const peerName = values['peer-name'] ?? t.peerName;
    const peerUrl = values['peer-url'] ?? t.peerUrl;
    // Peer secrets (docs/peer-auth.md): flag, flag file, environment, config value, config file.
    const syncSecret = resolveSecret({
      flag: values['sync-secret'], flagFile: values['sync-secret-file'], env: process.env[SYNC_SECRET_ENV], configValue: t.syncSecret, configFile: t.syncSecretFile,
      names: { flag: '--sync-secret', flagFile: '--sync-secret-file', env: SYNC_SECRET_ENV, config: 'tserver.syncSecret', configFile: 'tserver.syncSecretFile' },
    });
    const switchSecret = resolveSecret({
      flagFile: values['switch-secret-file'], env: process.env[SWITCH_SECRET_ENV], configValue: t.switchSecret, configFile: t.switchSecretFile,
      names: { flag: '', flagFile: '--switch-secret-file', env: SWITCH_SECRET_ENV, config: 'tserver.switchSecret', configFile: 'tserver.switchSecretFile' },
    });
    // Read once: nothing this process starts later needs to inherit them.
    delete process.env[SYNC_SECRET_ENV];
    delete process.env[SWITCH_SECRET_ENV];
    cfg = buildConfig({
      serverName: values.name, host: values.host!, port, switchAddress: values.switch!, role: 'primary',
      peer: peerName && peerUrl ? { serverName: peerName, url: peerUrl } : undefined,
      ha: haSettings({ ...values, 'sync-secret': syncSecret }, t),
      ...(switchSecret ? { switchSecret } : {}),
    }, file);
    if (values['debug-state'] && cfg.security) cfg.security = { ...cfg.security, debugState: true };
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PeerSecretError) { console.error(`tandem tserver: ${err.message}`); return 1; }
    throw err;
  }

  // The role and epoch getters read the live server, so every line (children too) stays correct.
  let server: TServer | undefined;
  const level = reloadable(file.tserver).logLevel;
  const logs = createLogger({ server: cfg.serverName, role: () => server?.role.role ?? cfg.role, epoch: () => server?.role.epoch ?? 0 }, { file: values['log-file'], ...(level ? { level } : {}) });
  const log = logs.logger;
  const heap = applyHeapTuning(heapPercent);
  server = new TServer(cfg, log, openSwitchTransport(cfg.switchAddress, cfg.serverName, cfg.security?.peerTls ? loadTls(cfg.security.peerTls, 'tserver.peerTls') : undefined), {
    // A core bug (logged by the core host with its input, which was rolled back): stop at once, before
    // anything else runs on a state the core could not handle. Exit 70 (EX_SOFTWARE); the in-sync
    // backup takes over and the supervisor restarts this one as backup.
    onCoreBug: () => { logs.flush(); process.exit(CORE_BUG_EXIT_CODE); },
  });

  let httpPort: number;
  try {
    httpPort = await server.start();
  } catch (err) {
    if (err instanceof PortInUseError) {
      console.error(`tandem tserver: ${err.message}`);
      log.error({ port: err.port, setting: err.setting }, err.message);
      logs.flush();
      return 1;
    }
    throw err;
  }
  const ports: Record<string, number> = { http: httpPort };
  if (server.syncPort !== undefined) ports.sync = server.syncPort;
  log.info({ ports, ...(server.syncServer ? { peerAuth: server.syncServer.peerAuth } : {}), switch: cfg.switchAddress, desktop: cfg.desktopDir ?? null, heap, limits: cfg.limits, ha: cfg.ha ? { peerSync: cfg.ha.peerSync, syncMode: cfg.ha.syncMode, addp: cfg.ha.addp } : null }, 'ready');

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      // A primary with a backup in sync hands over first: its desktops carry on there.
      if (server!.switchover?.canHandOver()) await server!.switchover.handOver(`graceful stop (${signal})`);
      await server!.stop();
      log.info('stopped');
      logs.flush();
      resolveExit(0);
      // The gRPC channel to the switch would keep the loop alive; everything is closed and flushed.
      setImmediate(() => process.exit(0));
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGUSR1', () => {
      if (!server!.switchover) return log.warn('SIGUSR1 (promote) ignored: not part of an HA pair (--peer-sync)');
      log.info({ signal: 'SIGUSR1' }, 'operator: promote this server');
      server!.switchover.promote('operator SIGUSR1');
    });
    process.on('SIGUSR2', () => {
      if (!server!.switchover) return log.warn('SIGUSR2 (demote) ignored: not part of an HA pair (--peer-sync)');
      log.info({ signal: 'SIGUSR2' }, 'operator: demote this server');
      void server!.switchover.demote('operator SIGUSR2');
    });
    process.on('SIGHUP', () => {
      logs.reopen();
      try {
        const r = reloadable(readConfigFile(values.config).tserver);
        if (r.logLevel) logs.setLevel(r.logLevel);
        if (r.addpTrace !== undefined || values['addp-trace']) server!.ha?.setTrace(values['addp-trace'] === true || r.addpTrace === true);
        log.info({ logLevel: r.logLevel ?? null, addpTrace: r.addpTrace ?? null }, 'log file reopened and settings reloaded (SIGHUP)');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'SIGHUP: config file not reloaded (kept the running settings)');
      }
    });
  });
}

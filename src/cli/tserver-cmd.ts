// `tandem tserver`: one T-Server process (HTTP/WebSocket gateway + switch link + core).
import { parseArgs } from 'node:util';
import { createLogger } from '../common/log.js';
import { PortInUseError } from '../common/listen.js';
import { buildConfig, ConfigError, readConfigFile } from '../tserver/config.js';
import { openSwitchTransport } from '../tserver/link-binding.js';
import { TServer } from '../tserver/tserver.js';
import { SecurityConfigError } from '../auth/security-config.js';
import { loadTls } from '../common/tls.js';

const HELP = `usage: tandem tserver --name A [options]

Runs one T-Server: desktops connect with WebSocket to ws://<host>:<port>/tlib (T-Library in JSON,
see docs/protocol.md); /healthz and /metrics on the same port; the web desktop under /desktop/.

options:
  --name <n>           this server's name (A, B…), in every log line and in EventServerInfo (required)
  --host <addr>        listen address (default 127.0.0.1)
  --port <n>           HTTP/WebSocket port (default 7001; 0 = any free port)
  --switch <host:port> the switch's link address (default 127.0.0.1:7200)
  --config <file>      JSON config: "tserver" section (maxFrameBytes, maxBufferedBytes,
                       maxQueuedMessages, pingIntervalMs, desktopDir) and "core" section
                       (routePoints, queues, journal, dedup…)
  --log-file <path>    write JSON logs there (reopened on SIGHUP) instead of stdout
  --peer-name <n>      the other server's name, and --peer-url <ws://…/tlib> (shown to desktops)
  --sync-port, --peer-sync, --sync-mode   HA pair settings (accepted; used once the HA layer lands)

signals: SIGTERM/SIGINT stop gracefully (exit 0); SIGHUP reopens the log file.`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
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
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`tandem tserver: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) { console.log(HELP); return 0; }
  if (!values.name) { console.error(`tandem tserver: --name is required\n\n${HELP}`); return 2; }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`tandem tserver: --port must be 0..65535, got "${values.port}"`); return 2; }

  let cfg;
  try {
    cfg = buildConfig({
      serverName: values.name, host: values.host!, port, switchAddress: values.switch!, role: 'primary',
      peer: values['peer-name'] && values['peer-url'] ? { serverName: values['peer-name'], url: values['peer-url'] } : undefined,
    }, readConfigFile(values.config));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecurityConfigError) { console.error(`tandem tserver: ${err.message}`); return 1; }
    throw err;
  }

  // The role and epoch getters read the live server, so every line (children too) stays correct.
  let server: TServer | undefined;
  const logs = createLogger({ server: cfg.serverName, role: () => server?.role.role ?? cfg.role, epoch: () => server?.role.epoch ?? 0 }, { file: values['log-file'] });
  const log = logs.logger;
  server = new TServer(cfg, log, openSwitchTransport(cfg.switchAddress, cfg.serverName, cfg.security?.peerTls ? loadTls(cfg.security.peerTls, 'tserver.peerTls') : undefined));

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
  log.info({ ports: { http: httpPort }, switch: cfg.switchAddress, desktop: cfg.desktopDir ?? null, limits: cfg.limits }, 'ready');

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      void server!.stop().then(() => {
        log.info('stopped');
        logs.flush();
        resolveExit(0);
        // The gRPC channel to the switch would keep the loop alive; everything is closed and flushed.
        setImmediate(() => process.exit(0));
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => { logs.reopen(); log.info('log file reopened (SIGHUP)'); });
  });
}

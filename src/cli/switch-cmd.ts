// `tandem switch`: the simulated switch (embedded PBX and primary-role witness) as a process.
import { parseFlags } from './args.js';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../lib/log.js';
import { PortInUseError } from '../lib/listen.js';
import { CONFIG_HELP, DEFAULT_SWITCH_CONFIG, loadConfigFile, validateConfig, type SwitchConfig } from '../processes/switch/config.js';
import { startSwitchServer } from '../processes/switch/start.js';
import { resolveSecret, SWITCH_SECRET_ENV } from '../lib/peer-auth.js';
import { DEFAULT_SIP_CONFIG, parseTrunkFlag } from '../processes/switch/sip/config.js';
import { SipServer } from '../processes/switch/sip/sip-server.js';

const HELP = `usage: tandem switch [options]

Runs the simulated switch: a small PBX (extensions, route points, ACD queues, a trunk to external
numbers) and the witness that grants the primary role to one T-Server at a time (lease + epoch).
Link protocol: proto/switch.proto; call flows and their events: docs/switch.md.

options:
  --port <n>            gRPC port (default ${DEFAULT_SWITCH_CONFIG.port}; 0 = any free port)
  --host <addr>         listen address (default ${DEFAULT_SWITCH_CONFIG.host})
  --config <file>       JSON config file (see below); flags override it
  --lease-ms <n>        how long one heartbeat keeps the lease (default ${DEFAULT_SWITCH_CONFIG.leaseMs})
  --heartbeat-ms <n>    heartbeat interval announced to T-Servers (default ${DEFAULT_SWITCH_CONFIG.heartbeatMs})
  --secret-file <f>     file holding the shared secret every link must send in Hello; or set
                        $${SWITCH_SECRET_ENV} (tandem pair does, with a fresh random secret per run).
                        Without one the port accepts any link and the switch warns at start
                        (docs/peer-auth.md)
  --secret <s>          the secret itself (visible in ps: prefer --secret-file or the variable)
  --tls-cert <f> --tls-key <f> --tls-ca <f>
                        TLS on the link port (PEM files); with --tls-ca every T-Server must present
                        a certificate signed by that CA (mutual TLS, docs/security.md)
  --sip                 run the SIP switch instead of the simulated PBX: phones REGISTER, trunks send
                        INVITEs, the same switch link drives the calls (docs/sip.md)
  --sip-port <n>        SIP port, UDP and TCP (default ${DEFAULT_SIP_CONFIG.port}; 0 = any free port)
  --sip-host <addr>     SIP listen address (default: --host)
  --sip-trunk <h:p>     the trunk: outbound calls to external numbers go there, and INVITEs from
                        that host are inbound calls (default trunk peer: 127.0.0.1, no outbound)
  -h, --help            this text

${CONFIG_HELP}

Logs one JSON line per event worth knowing; "ready" with {ports: {switch: N}} once listening
({ports: {switch: N, sip: M}} with --sip).
SIGTERM / SIGINT stop it cleanly (exit 0).`;

function intFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got "${v}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const values = parseFlags('switch', argv, {
    port: { type: 'string' }, host: { type: 'string' }, config: { type: 'string' },
    'lease-ms': { type: 'string' }, 'heartbeat-ms': { type: 'string' }, secret: { type: 'string' }, 'secret-file': { type: 'string' },
    'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-ca': { type: 'string' },
    sip: { type: 'boolean' }, 'sip-port': { type: 'string' }, 'sip-host': { type: 'string' }, 'sip-trunk': { type: 'string' },
  }, HELP);
  if (typeof values === 'number') return values;

  let cfg: SwitchConfig;
  try {
    cfg = loadConfigFile(values.config);
    cfg.port = intFlag(values.port, '--port') ?? cfg.port;
    cfg.host = values.host ?? cfg.host;
    cfg.leaseMs = intFlag(values['lease-ms'], '--lease-ms') ?? cfg.leaseMs;
    cfg.heartbeatMs = intFlag(values['heartbeat-ms'], '--heartbeat-ms') ?? cfg.heartbeatMs;
    cfg.secret = resolveSecret({
      flag: values.secret, flagFile: values['secret-file'], env: process.env[SWITCH_SECRET_ENV], configValue: cfg.secret, configFile: cfg.secretFile,
      names: { flag: '--secret', flagFile: '--secret-file', env: SWITCH_SECRET_ENV, config: 'switch.secret', configFile: 'switch.secretFile' },
    }) ?? '';
    // Read once: nothing this process starts later needs to inherit it.
    delete process.env[SWITCH_SECRET_ENV];
    if (values['tls-cert'] || values['tls-key'] || values['tls-ca']) {
      if (!values['tls-cert'] || !values['tls-key']) throw new Error('--tls-cert and --tls-key go together (and --tls-ca for mutual TLS)');
      cfg.tls = { cert: values['tls-cert'], key: values['tls-key'], ...(values['tls-ca'] ? { ca: values['tls-ca'] } : {}) };
    }
    if (!values.sip && (values['sip-port'] || values['sip-host'] || values['sip-trunk'])) throw new Error('--sip-port, --sip-host and --sip-trunk need --sip');
    cfg.sip.port = intFlag(values['sip-port'], '--sip-port') ?? cfg.sip.port;
    if (cfg.sip.port > 65535) throw new Error(`--sip-port must be at most 65535, got ${cfg.sip.port}`);
    cfg.sip.host = values['sip-host'] ?? cfg.sip.host;
    if (values['sip-trunk']) {
      const t = parseTrunkFlag(values['sip-trunk']);
      cfg.sip.outboundTrunk = { ...cfg.sip.outboundTrunk, host: t.host, port: t.port };
      if (!cfg.sip.trunkPeers.some((p) => p.host === t.host)) cfg.sip.trunkPeers.push({ name: 'trunk', host: t.host, port: 0 });
    }
    validateConfig(cfg);
  } catch (err) {
    console.error(`tandem switch: ${(err as Error).message}`);
    return 1;
  }

  const logHandle = createLogger({ server: 'switch' });
  const log = logHandle.logger;
  // grpc-js writes its own lines to stderr (e.g. on a port in use); keep stderr to our one clear line.
  grpc.setLogger({ error: (...a: unknown[]) => log.debug({ component: 'grpc' }, a.map(String).join(' ')) } as unknown as Console);
  let running;
  let sip: SipServer | undefined;
  try {
    // SIP first: a taken SIP port fails before anything listens on the link port.
    if (values.sip) sip = await SipServer.listen(cfg.sip, cfg.host, log.child({ component: 'sip' }));
    running = await startSwitchServer(cfg, log, sip ? (plan, hooks) => sip!.attach(plan, hooks) : undefined);
  } catch (err) {
    await sip?.close();
    const msg = err instanceof PortInUseError ? err.message : `cannot start the switch: ${(err as Error).message}`;
    log.error({ code: err instanceof PortInUseError ? err.code : 'StartFailed' }, msg);
    logHandle.flush();
    console.error(`tandem switch: ${msg}`);
    return 1;
  }
  if (cfg.autoAnswer && Object.keys(cfg.autoAnswer).length > 0 && sip) log.warn({ component: 'sip' }, 'switch.autoAnswer is ignored with --sip: phones answer themselves or by RequestAnswerCall');
  log.info({ ports: { switch: running.port, ...(sip ? { sip: sip.port } : {}) }, ...(sip ? { callModel: 'sip', sipHost: sip.local.host, trunkPeers: cfg.sip.trunkPeers.map((p) => `${p.host}${p.port ? `:${p.port}` : ''}`), outboundTrunk: cfg.sip.outboundTrunk.port ? `${cfg.sip.outboundTrunk.host}:${cfg.sip.outboundTrunk.port}` : 'none' } : { callModel: 'simulated' }), host: cfg.host, leaseMs: cfg.leaseMs, heartbeatMs: cfg.heartbeatMs, eventLogSize: cfg.eventLogSize, auth: cfg.secret ? 'shared secret' : 'none', peerAuth: running.sim.peerAuth, tls: cfg.tls ? (cfg.tls.ca ? 'mutual' : 'server') : 'off' }, 'ready');

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      void running.close().then(() => sip?.close()).then(() => {
        log.info('stopped');
        logHandle.flush();
        resolve(0);
        // A peer's half-open stream must not keep a stopped switch alive.
        setTimeout(() => process.exit(0), 1_000).unref();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

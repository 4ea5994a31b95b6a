// `tandem pair`: the embedded management layer for one machine. Starts the switch and T-Servers A
// and B, restarts any that dies (a restarted T-Server rejoins as backup), forwards operator
// commands as signals, and stops everything cleanly on Ctrl-C.
import { mkdirSync, openSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../lib/log.js';
import { parseFlags } from './args.js';
import { SupervisedChild, type ChildSpec } from '../processes/supervisor/child.js';
import { generateSecret, SWITCH_SECRET_ENV, SYNC_SECRET_ENV } from '../lib/peer-auth.js';
import { startNotes } from './start-notes.js';
import { ConfigError } from '../lib/config-check.js';
import { loadConfigFile, validateConfig } from '../processes/switch/config.js';
import { readConfigFile } from '../processes/tserver/config.js';

const HELP = `usage: tandem pair [options]

Starts the whole system on this machine: the simulated switch, T-Server A (primary at start) and
T-Server B (backup), each restarted with backoff when it dies. Ctrl-C stops all cleanly.

options:
  --host <addr>          listen address for everything (default 127.0.0.1)
  --switch-port <n>      switch gRPC port (default 7200)
  --a-port <n>           T-Server A HTTP/WebSocket port (default 7001); sync port --a-sync-port (7101)
  --b-port <n>           T-Server B HTTP/WebSocket port (default 7002); sync port --b-sync-port (7102)
  --config <file>        config file passed to every process (every key: docs/config.md)
  --log-dir <dir>        where the processes' JSON logs go (default ./logs)
  --sync-mode <m>        ack (default) or async
  --sip                  the SIP switch instead of the simulated one: phones register and trunks call
                         on --sip-port (default 5060, UDP and TCP; docs/sip.md)
  --sip-port <n>         the SIP port with --sip (0 = any free port: see the switch's ready line)
  --sip-trunk <h:p>      with --sip: the outbound trunk (also accepted as a trunk peer)

peer auth (docs/peer-auth.md): each run generates a random secret for the switch link and one for
the sync stream, passed to the children in the environment (${SWITCH_SECRET_ENV},
${SYNC_SECRET_ENV}), never on the command line. One already set (in this environment, or in the
config file: switch.secret/secretFile, tserver.syncSecret/syncSecretFile) is used instead. The
switch secret is also written to <log-dir>/switch.secret (mode 0600) for tools:
  tandem call --to 8000 --secret-file logs/switch.secret

operator commands while it runs (another terminal):
  tandem ctl promote B   switchover to B (SIGUSR1 to B)
  tandem ctl demote A    hand A's primary role to its peer (SIGUSR2 to A)
  tandem ctl reload A    reopen logs, re-read reloadable settings (SIGHUP)
  tandem status          roles, epochs, sync state and lag of both servers`;

export const PIDS_FILE = 'tandem-pair.json';
/** The switch secret of the running pair, for tools (`tandem call --secret-file`). Mode 0600, removed at stop. */
export const SWITCH_SECRET_FILE = 'switch.secret';

/**
 * The config file checked as the children will check it, so a bad file stops `tandem pair` here with
 * one line naming the setting instead of three children failing in a restart loop, each in its log.
 * Returns which peer secrets the file already sets (the children then read them from it).
 */
function checkConfig(path: string | undefined): { switch: boolean; sync: boolean } {
  const sw = loadConfigFile(path);
  validateConfig(sw);
  const ts = readConfigFile(path).tserver;
  return { switch: !!(sw.secret || sw.secretFile), sync: !!(ts?.syncSecret || ts?.syncSecretFile) };
}

export async function main(argv: string[]): Promise<number> {
  const values = parseFlags('pair', argv, {
    host: { type: 'string', default: '127.0.0.1' },
    'switch-port': { type: 'string', default: '7200' },
    'a-port': { type: 'string', default: '7001' },
    'b-port': { type: 'string', default: '7002' },
    'a-sync-port': { type: 'string', default: '7101' },
    'b-sync-port': { type: 'string', default: '7102' },
    config: { type: 'string' },
    'log-dir': { type: 'string', default: 'logs' },
    'sync-mode': { type: 'string', default: 'ack' },
    sip: { type: 'boolean' },
    'sip-port': { type: 'string', default: '5060' },
    'sip-trunk': { type: 'string' },
  }, HELP);
  if (typeof values === 'number') return values;
  let configured: { switch: boolean; sync: boolean };
  try {
    configured = checkConfig(values.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`tandem pair: ${err.message}`);
    return 1;
  }
  const host = values.host!;
  const logDir = resolve(values['log-dir']!);
  mkdirSync(logDir, { recursive: true });
  const { logger: log } = createLogger({ server: 'supervisor' });
  const bin = fileURLToPath(new URL('./tandem.js', import.meta.url));
  const common = values.config ? ['--config', values.config] : [];
  const switchAddr = `${host}:${values['switch-port']}`;
  const url = (port: string) => `ws://${host}:${port}/tlib`;
  const out = (name: string) => openSync(join(logDir, `${name}.log`), 'a');
  // Peer auth on by default: a fresh secret per run unless one is already set (docs/peer-auth.md).
  const env: Record<string, string> = {};
  const secretSource = {
    switch: process.env[SWITCH_SECRET_ENV] ? 'environment' : configured.switch ? 'config file' : 'generated for this run',
    sync: process.env[SYNC_SECRET_ENV] ? 'environment' : configured.sync ? 'config file' : 'generated for this run',
  };
  const switchSecret = process.env[SWITCH_SECRET_ENV] || (configured.switch ? undefined : generateSecret());
  if (switchSecret) env[SWITCH_SECRET_ENV] = switchSecret;
  const syncSecret = process.env[SYNC_SECRET_ENV] || (configured.sync ? undefined : generateSecret());
  if (syncSecret) env[SYNC_SECRET_ENV] = syncSecret;
  const secretPath = join(logDir, SWITCH_SECRET_FILE);
  rmSync(secretPath, { force: true });
  if (switchSecret) writeFileSync(secretPath, `${switchSecret}\n`, { mode: 0o600, flag: 'wx' });

  const sipArgs = values.sip ? ['--sip', '--sip-port', values['sip-port']!, ...(values['sip-trunk'] ? ['--sip-trunk', values['sip-trunk']] : [])] : [];
  const tserver = (name: string, port: string, syncPort: string, peerSyncPort: string, peerPort: string, peerName: string, extra: string[] = []): ChildSpec => ({
    name,
    args: [bin, 'tserver', '--name', name, '--host', host, '--port', port, '--switch', switchAddr,
      '--sync-port', syncPort, '--peer-sync', `${host}:${peerSyncPort}`, '--peer-name', peerName, '--peer-url', url(peerPort),
      '--sync-mode', values['sync-mode']!, ...extra, ...common],
    stdio: out(name),
    env,
  });
  const pidsPath = join(logDir, PIDS_FILE);
  const children: SupervisedChild[] = [];
  const writePids = () => writeFileSync(pidsPath, JSON.stringify({ supervisor: process.pid, children: Object.fromEntries(children.map((c) => [c.spec.name, c.pid])) }));
  children.push(
    new SupervisedChild({ name: 'switch', args: [bin, 'switch', '--host', host, '--port', values['switch-port']!, ...sipArgs, ...common], stdio: out('switch'), ...(switchSecret ? { env: { [SWITCH_SECRET_ENV]: switchSecret } } : {}) }, log, writePids),
    new SupervisedChild(tserver('A', values['a-port']!, values['a-sync-port']!, values['b-sync-port']!, values['b-port']!, 'B'), log, writePids),
    new SupervisedChild(tserver('B', values['b-port']!, values['b-sync-port']!, values['a-sync-port']!, values['a-port']!, 'A', ['--preferred-role', 'backup']), log, writePids),
  );
  for (const c of children) c.start();
  log.info({ switchSecret: secretSource.switch, syncSecret: secretSource.sync }, 'peer auth: where the shared secrets come from');

  console.log([
    '',
    `Tandem is starting: switch ${switchAddr}, T-Server A ${url(values['a-port']!)}, T-Server B ${url(values['b-port']!)}`,
    `  web desktop:  http://${host}:${values['a-port']}/desktop/  (either server works)`,
    `  health:       http://${host}:${values['a-port']}/healthz   http://${host}:${values['b-port']}/healthz`,
    `  logs:         ${logDir}/{switch,A,B}.log   (npx pino-pretty < ${logDir}/A.log)`,
    values.sip
      ? `  SIP switch:   phones register to sip:<extension>@${host}:${values['sip-port']} (UDP/TCP); trunk INVITEs to sip:8000@${host}:${values['sip-port']} (docs/sip.md)`
      : `  place a call: npx tandem call --switch ${switchAddr} --to 8000 --from 4155550100${switchSecret ? ` --secret-file ${secretPath}` : ''}`,
    ...startNotes(values.config, host),
    `  peer auth:    switch link and sync stream need this run's secrets (docs/peer-auth.md)`,
    '  Ctrl-C stops everything.',
    '',
  ].join('\n'));

  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, 'stopping all');
      // T-Servers first (a primary hands over or stops cleanly), the switch last.
      await Promise.all(children.slice(1).map((c) => c.stop()));
      await children[0]!.stop();
      rmSync(pidsPath, { force: true });
      rmSync(secretPath, { force: true });
      resolveStop();
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });
  return 0;
}

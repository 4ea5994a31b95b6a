// Peer auth when servers are run by hand: with no secret (and no mutual TLS) a switch or a pair
// member still starts but says so (one warning naming what to set, peerAuth "none" in its ready
// line and /healthz); a secret from the environment or a file turns it on; a bad secret file stops
// the process at start with a message naming the setting.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ready, spawnTandem, type Proc } from '../helpers/process.js';
import { firstPort, startSwitch } from '../helpers/tserver-fixture.js';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-peer-auth-'));
const secretFile = join(dir, 'sync.secret');
writeFileSync(secretFile, 'file-secret\n', { mode: 0o600 });
const emptyFile = join(dir, 'empty.secret');
writeFileSync(emptyFile, '');

const openWarnings = (p: Proc) => p.lines.filter((l) => /^peer auth is off/.test(String(l.msg)));

/** A pair member on its own (its peer never comes): enough for its sync port and /healthz. */
async function member(t: Tap.Test, switchAddress: string, args: string[] = [], env: Record<string, string> = {}) {
  const proc = spawnTandem(t, ['tserver', '--name', 'A', '--port', '0', '--sync-port', '0', '--peer-sync', '127.0.0.1:1', '--switch', switchAddress, ...args], { name: 'tserver A', env });
  const line = await ready(proc);
  const health = (await (await fetch(`http://127.0.0.1:${firstPort(line)}/healthz`)).json()) as Record<string, unknown>;
  return { proc, line, health };
}

t.test('no secret: the switch and a pair member start, warn once, and report peerAuth none', async (t) => {
  const sw = await startSwitch(t);
  const swReady = await ready(sw.proc);
  t.equal(swReady.peerAuth, 'none', 'switch ready line: peerAuth none');
  const w = openWarnings(sw.proc);
  t.equal(w.length, 1, 'the switch: one warning');
  t.match(w[0], { level: 40, port: 'switch', docs: 'docs/peer-auth.md', msg: /TANDEM_SWITCH_SECRET/ }, 'naming what to set');

  const a = await member(t, sw.address);
  t.equal(a.health.peerAuth, 'none', '/healthz: peerAuth none');
  t.equal(a.line.peerAuth, 'none', 'ready line: peerAuth none');
  const wa = openWarnings(a.proc);
  t.equal(wa.length, 1, 'the T-Server: one warning');
  t.match(wa[0], { level: 40, port: 'sync', msg: /TANDEM_SYNC_SECRET.*tserver\.peerTls/ }, 'naming what to set');
});

t.test('a secret from the environment or a file: peerAuth secret, no warning, the secret never logged', async (t) => {
  const sw = await startSwitch(t, [], 0);
  const env = await member(t, sw.address, [], { TANDEM_SYNC_SECRET: 'env-secret' });
  t.equal(env.health.peerAuth, 'secret', 'TANDEM_SYNC_SECRET: peerAuth secret');
  t.same(openWarnings(env.proc), [], 'no warning');
  const file = await member(t, sw.address, ['--sync-secret-file', secretFile]);
  t.equal(file.health.peerAuth, 'secret', '--sync-secret-file: peerAuth secret');
  t.notOk([...env.proc.lines, ...file.proc.lines].some((l) => /env-secret|file-secret/.test(JSON.stringify(l))), 'no secret in any log line');

  const swFile = spawnTandem(t, ['switch', '--port', '0', '--secret-file', secretFile], { name: 'switch (file)' });
  const line = await ready(swFile);
  t.equal(line.peerAuth, 'secret', 'switch --secret-file: peerAuth secret');
  const address = `127.0.0.1:${firstPort(line)}`;
  await t.rejects(connectLink({ address, serverName: 'x', secret: 'file-secret\n' }), { code: 'Unauthorized' }, 'the file\'s newline is not part of the secret');
  const ok = await connectLink({ address, serverName: 'x', secret: 'file-secret' });
  ok.close();
  const swEnv = spawnTandem(t, ['switch', '--port', '0'], { name: 'switch (env)', env: { TANDEM_SWITCH_SECRET: 'sw-env' } });
  t.equal((await ready(swEnv)).peerAuth, 'secret', 'switch with TANDEM_SWITCH_SECRET: peerAuth secret');
});

t.test('a bad secret setting stops the process at start, naming the setting', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['switch', '--port', '0', '--secret-file', join(dir, 'missing')], /cannot read the secret file .*missing \(--secret-file\)/],
    [['switch', '--port', '0', '--secret-file', emptyFile], /empty\.secret \(--secret-file\) is empty: put the shared secret in it/],
    [['tserver', '--name', 'A', '--port', '0', '--peer-sync', '127.0.0.1:1', '--sync-secret-file', emptyFile], /\(--sync-secret-file\) is empty/],
    [['tserver', '--name', 'A', '--port', '0', '--switch-secret-file', join(dir, 'missing')], /cannot read the secret file .*\(--switch-secret-file\)/],
  ];
  for (const [args, msg] of cases) {
    const p = spawnTandem(t, args, { name: args.slice(0, 3).join(' ') });
    t.equal(await p.exited, 1, `${args.join(' ')}: exit 1`);
    t.match(p.text.join('\n'), msg, 'with a message that names the setting');
  }
});

// Desktop token auth off on a non-loopback address is allowed but never silent (issue 12 item 6):
// one warn line at start naming the setting, and /healthz says it; on loopback, or with token auth
// on, nothing. `tandem pair --host` says it in its start-up banner too.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ready, spawnTandem, TANDEM_BIN } from '../helpers/process.js';
import { firstPort, startSwitch, writeConfig } from '../helpers/tserver-fixture.js';
import { freePorts } from '../helpers/free-port.js';

const warned = (l: Record<string, unknown>) => l.level === 40 && l.setting === 'tserver.auth.mode';

for (const c of [
  { what: 'auth off on 0.0.0.0: one warning, and in /healthz', host: '0.0.0.0', config: {}, warn: true },
  { what: 'auth off on 127.0.0.1: no warning', host: '127.0.0.1', config: {}, warn: false },
  { what: 'token auth on 0.0.0.0: no warning', host: '0.0.0.0', config: { tserver: { auth: { mode: 'token', tokens: { desk: 'a-long-enough-desk-token' } } } }, warn: false },
]) {
  t.test(c.what, async (t) => {
    const sw = await startSwitch(t);
    const ts = spawnTandem(t, ['tserver', '--name', 'A', '--host', c.host, '--port', '0', '--switch', sw.address, '--config', writeConfig(c.config)], { name: 'tserver A' });
    const port = firstPort(await ready(ts));
    const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Record<string, unknown>;
    const lines = ts.lines.filter(warned);
    if (c.warn) {
      t.equal(lines.length, 1, 'one warn line');
      t.match(lines[0], { desktopAuth: 'none', host: '0.0.0.0', port, docs: 'docs/security.md' });
      t.equal(h.desktopAuth, 'none');
      t.match(h.desktopAuthWarning, /tserver\.auth\.mode/, '/healthz names the setting');
    } else {
      t.same(lines, [], 'no warning');
      t.notOk('desktopAuthWarning' in h);
      t.equal(h.desktopAuth, Object.keys(c.config).length ? 'token' : 'none');
    }
  });
}

t.test('tandem pair --host 0.0.0.0 with auth off: a WARNING line in the banner naming the setting', async (t) => {
  const [sw, a, b, as, bs] = await freePorts(5);
  const logDir = mkdtempSync(join(tmpdir(), 'tandem-exposure-'));
  const child = spawn(process.execPath, [TANDEM_BIN, 'pair', '--host', '0.0.0.0', '--switch-port', String(sw), '--a-port', String(a), '--b-port', String(b),
    '--a-sync-port', String(as), '--b-sync-port', String(bs), '--log-dir', logDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TANDEM_LOG_LEVEL: 'warn' } });
  const exited = new Promise<number | string>((res) => child.on('exit', (code, sig) => res(code ?? sig ?? -1)));
  t.teardown(async () => {
    try {
      const pids = JSON.parse(readFileSync(join(logDir, 'tandem-pair.json'), 'utf8')) as { children: Record<string, number> };
      for (const pid of Object.values(pids.children)) try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    } catch { /* stopped cleanly */ }
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
    rmSync(logDir, { recursive: true, force: true });
  });
  let out = '';
  await new Promise<void>((res, rej) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('Ctrl-C stops everything')) res(); });
    void exited.then((code) => rej(new Error(`pair exited (${code}): ${out}`)));
  });
  t.match(out, /WARNING: +desktop auth is off \(tserver\.auth\.mode "none"\) on 0\.0\.0\.0/);
  child.kill('SIGINT');
  t.equal(await exited, 0, 'stops cleanly');
});

// The management layer's other signals (DESIGN.md): SIGTERM on a primary with an in-sync backup
// hands over before exiting 0 (desktops carry on, zero failed requests); SIGHUP reopens the log file
// after rotation and re-reads the reloadable settings.
import t from 'tap';
import { mkdtempSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createNodeClient } from '../../src/sdk/node.js';
import { mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { spawnTandem } from '../helpers/process.js';
import { startSwitch } from '../helpers/tserver-fixture.js';

t.test('SIGTERM to the primary: it hands over to the in-sync backup, exits 0, no request fails', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  const client = createNodeClient({ servers: [a.url, b.url], clientName: 'desk', requestTimeoutMs: 20_000 });
  t.teardown(() => client.close());
  await client.register('5011');
  await client.login('5011', 'agent-5011', { queue: '7002' });

  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    let ready = false;
    while (running) {
      try {
        await (ready ? client.notReady('5011') : client.ready('5011'));
        ok += 1;
      } catch (err) {
        failures.push((err as Error).message);
      }
      ready = !ready;
    }
  })();
  const okBy = async (n: number) => { const want = ok + n; while (ok < want && failures.length === 0) await delay(5); };
  await okBy(20);

  const mb = mark(b);
  const healthA = await a.health();
  a.proc.kill('SIGTERM');
  const promoted = await roleChanged(b, 'primary', mb, 10_000);
  if (!t.match(String(promoted.reason), /handover/, `B promoted by a handover (${String(promoted.reason)})`)) {
    // Say why: the two servers' HA, sync and switch-link lines around the SIGTERM.
    const lines = (p: typeof a) => p.proc.lines.filter((l) => l.level >= 30 && /ha|sync|handover|switch|lease/i.test(`${String(l.component)} ${String(l.msg)}`))
      .slice(-40).map((l) => `${String(l.time)} ${String(l.component ?? '')}: ${String(l.msg)} ${JSON.stringify({ reason: l.reason, from: l.from, to: l.to, err: l.err, code: l.code })}`);
    t.comment(`A before the SIGTERM: ${JSON.stringify(healthA)}\n== A\n${lines(a).join('\n')}\n== B\n${lines(b).join('\n')}`);
  }
  t.equal(await a.proc.exited, 0, 'A exits 0 (asked to stop: a supervisor does not restart it)');
  t.ok(a.proc.lines.some((l) => l.msg === 'stopped'), 'A logged its stop');
  await okBy(20);
  running = false;
  await loop;
  t.same(failures, [], `zero failed requests (${ok} answered)`);
  t.equal((await b.health()).serving, true, 'B serves');
});

async function fileLine(path: string, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(path)) {
      for (const raw of readFileSync(path, 'utf8').split('\n')) {
        if (!raw) continue;
        try { const l = JSON.parse(raw) as Record<string, unknown>; if (pred(l)) return l; } catch { /* partial line */ }
      }
    }
    await delay(25);
  }
  throw new Error(`no matching line in ${path} within ${timeoutMs} ms`);
}

t.test('SIGHUP reopens the rotated log file and reloads logLevel and addpTrace', async (t) => {
  const sw = await startSwitch(t);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-hup-'));
  const logFile = join(dir, 'A.log');
  const configFile = join(dir, 'A.json');
  writeFileSync(configFile, JSON.stringify({ tserver: { logLevel: 'info' } }));
  const proc = spawnTandem(t, ['tserver', '--name', 'A', '--port', '0', '--switch', sw.address, '--config', configFile, '--log-file', logFile], { name: 'tserver A' });
  const { http } = (await fileLine(logFile, (l) => l.msg === 'ready')).ports as { http: number };

  renameSync(logFile, `${logFile}.1`); // what logrotate does
  writeFileSync(configFile, JSON.stringify({ tserver: { logLevel: 'debug', addpTrace: true } }));
  proc.kill('SIGHUP');
  const line = await fileLine(logFile, (l) => String(l.msg).startsWith('log file reopened'));
  t.equal(line.logLevel, 'debug', 'logLevel reloaded');
  t.equal(line.addpTrace, true, 'addpTrace reloaded');
  t.equal(line.server, 'A', 'the line names the server');

  writeFileSync(configFile, '{ not json');
  proc.kill('SIGHUP');
  const bad = await fileLine(logFile, (l) => String(l.msg).startsWith('SIGHUP: config file not reloaded'));
  t.ok(bad.err, 'a broken config file is reported, the running settings kept');
  const res = await fetch(`http://127.0.0.1:${http}/healthz`);
  t.equal(res.status, 200, 'the server is still up');
});

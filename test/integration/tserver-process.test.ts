// The T-Server as a process: ready line, /healthz, /metrics, /desktop/, port in use, graceful stop.
import t from 'tap';
import { ready, spawnTandem } from '../helpers/process.js';
import { firstPort, openClient, startStack } from '../helpers/tserver-fixture.js';

t.test('healthz, metrics, desktop and a clean SIGTERM', async (t) => {
  const { ts } = await startStack(t);
  const c = await openClient(t, ts.url, 'ann');
  const h = await ts.health();
  t.match(h, { serverName: 'A', role: 'primary', serving: true, switchLink: 'up', clients: 1, calls: 0, syncState: 'alone' });
  t.type(h.epoch, 'number');
  t.type(h.seq, 'number');
  await c.request('RequestQueryServer');
  const m = await ts.metrics();
  t.match(m, 'tandem_requests_total{request="RequestQueryServer",outcome="ok"} 1');
  t.match(m, 'tandem_clients 1');
  t.match(m, 'tandem_switch_link_up 1');
  t.match(m, /tandem_event_loop_lag_seconds\{quantile="0.99"\} /);
  const d = await fetch(`${ts.http}/desktop/../../package.json`);
  t.equal(d.status, 404, 'nothing outside the desktop folder');
  const line = ts.proc.lines.find((l) => l.msg === 'ready')!;
  t.match(line, { server: 'A', role: 'primary', ports: { http: ts.port } });
  ts.proc.kill('SIGTERM');
  t.equal(await ts.proc.exited, 0);
  const closed = await c.closedWith();
  t.equal(closed.code, 1001);
});

t.test('port in use: one clear line, exit 1', async (t) => {
  const first = spawnTandem(t, ['tserver', '--name', 'A', '--port', '0', '--switch', '127.0.0.1:1'], { name: 'first' });
  const port = firstPort(await ready(first));
  const second = spawnTandem(t, ['tserver', '--name', 'A2', '--port', String(port), '--switch', '127.0.0.1:1'], { name: 'second' });
  t.equal(await second.exited, 1);
  const line = second.text.find((l) => l.includes('already in use'));
  t.ok(line, 'a plain stderr line');
  t.match(line!, `port ${port}`);
  t.match(line!, '--port');
  t.match(line!, /[Aa]nother instance/);
});

t.test('--help and bad flags', async (t) => {
  const help = spawnTandem(t, ['tserver', '--help']);
  t.equal(await help.exited, 0);
  t.match(help.text.join('\n'), 'usage: tandem tserver');
  const bad = spawnTandem(t, ['tserver', '--port', '5']);
  t.equal(await bad.exited, 2);
  t.match(bad.text.join('\n'), '--name is required');
});

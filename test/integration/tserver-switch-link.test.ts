// The switch away at start and killed mid-run: EventLinkDisconnected, SwitchUnavailable,
// EventLinkConnected once it is back.
import t from 'tap';
import { createServer } from 'node:net';
import { openClient, startStack, startSwitch, startTServer } from '../helpers/tserver-fixture.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

t.test('switch unreachable at start', async (t) => {
  const port = await freePort();
  const ts = await startTServer(t, { switchAddress: `127.0.0.1:${port}`, waitLinkUp: false });
  const c = await openClient(t, ts.url, 'ann');
  t.match(c.events[0], { event: 'EventServerInfo', switchLink: 'down' });
  await c.take((e) => e.event === 'EventLinkDisconnected');
  const mk = await c.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  t.match(mk, { event: 'EventError', errorCode: 'SwitchUnavailable' });
  t.match(await ts.health(), { switchLink: 'down' });
  await startSwitch(t, [], port);
  await c.take((e) => e.event === 'EventLinkConnected', 15_000);
  t.match(await ts.health(), { switchLink: 'up', serving: true });
  await c.request('RequestRegisterAddress', { thisDN: '5001' });
  const dial = await c.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  t.equal(dial.event, 'EventDialing');
});

t.test('switch killed mid-run and restarted', async (t) => {
  const { sw, ts } = await startStack(t);
  const c = await openClient(t, ts.url, 'ann');
  await c.request('RequestRegisterAddress', { thisDN: '5001' });
  sw.proc.kill('SIGKILL');
  await sw.proc.exited;
  await c.take((e) => e.event === 'EventLinkDisconnected');
  t.equal(c.events.filter((e) => e.event === 'EventLinkDisconnected')[0]!.seq, undefined, 'no seq');
  await ts.proc.waitFor((l) => l.msg === 'switch link down');
  const mk = await c.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  t.match(mk, { event: 'EventError', errorCode: 'SwitchUnavailable' });
  await startSwitch(t, [], sw.port);
  await c.take((e) => e.event === 'EventLinkConnected', 15_000);
  const dial = await c.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  t.equal(dial.event, 'EventDialing');
  t.match(await ts.health(), { switchLink: 'up', serving: true });
});

// WebSockets that never send RequestOpen: closed after tserver.openTimeoutMs (close 4002), and capped
// per remote address (tserver.maxUnopenedPerAddress, loopback: maxUnopenedPerLoopbackAddress), so
// sockets without a token cannot hold the server's slots. A valid desktop is admitted meanwhile.
import t from 'tap';
import { WebSocket } from 'ws';
import { startStack, type TServerHandle } from '../helpers/tserver-fixture.js';
import { TestClient, upgradeStatus } from '../helpers/ws-client.js';

const TOKEN = 'desk-TOKEN-41aa';
const auth = { mode: 'token', tokens: { desk: TOKEN } };

interface Silent { ws: WebSocket; openedAt: number; closed: Promise<{ code: number; reason: string; at: number }> }

/** An upgraded WebSocket that sends nothing. */
function silent(url: string, localAddress = '127.0.0.1'): Promise<Silent> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress });
    const closed = new Promise<{ code: number; reason: string; at: number }>((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString(), at: Date.now() })));
    ws.once('open', () => resolve({ ws, openedAt: Date.now(), closed }));
    ws.once('error', reject);
  });
}


async function openDesk(t: Tap.Test, url: string, localAddress = '127.0.0.1'): Promise<TestClient> {
  const ws = new WebSocket(url, { localAddress });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const c = new TestClient(ws, 'desk');
  t.teardown(() => c.close());
  return c;
}

/** The server logged `n` 'client disconnected' lines in all (its side of the closes is done). */
function disconnected(ts: TServerHandle, n: number): Promise<unknown> {
  const count = () => ts.proc.lines.filter((l) => l.msg === 'client disconnected').length;
  return ts.proc.waitFor(() => count() >= n, 10_000, `${n} 'client disconnected' lines`);
}

const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

t.test('1,000 silent sockets: a desktop with a valid token is admitted meanwhile; all 1,000 closed at the deadline', async (t) => {
  const DEADLINE = 4_000;
  const { ts } = await startStack(t, { config: { tserver: { auth, openTimeoutMs: DEADLINE } } });
  const silents: Silent[] = [];
  t.teardown(() => { for (const s of silents) s.ws.terminate(); });
  for (let wave = 0; wave < 10; wave++) silents.push(...await Promise.all(Array.from({ length: 100 }, () => silent(ts.url))));
  t.equal(gauge(await ts.metrics(), 'tandem_connections_unopened'), 1_000, 'all 1,000 silent sockets are open at once');

  const desk = await openDesk(t, ts.url);
  t.match(await desk.open({ token: TOKEN }), { event: 'EventServerInfo' }, 'valid desktop admitted');
  t.match(await desk.request('RequestRegisterAddress', { thisDN: '5001' }), { event: 'EventRegistered' });

  const closes = await Promise.all(silents.map((s) => s.closed));
  t.same([...new Set(closes.map((c) => `${c.code} ${c.reason}`))], [`4002 no RequestOpen within ${DEADLINE} ms (tserver.openTimeoutMs)`], 'every silent socket closed with 4002 and the reason');
  const early = silents.filter((s, i) => closes[i]!.at - s.openedAt < DEADLINE - 50).length;
  t.equal(early, 0, 'none closed before the deadline');
  await disconnected(ts, 1_000);
  t.equal(desk.closed, undefined, 'the opened desktop stays (it is past the deadline now)');
  t.match(await desk.request('RequestQueryAddress', { thisDN: '5001' }), { event: 'EventAddressInfo' });
  const m = await ts.metrics();
  t.equal(gauge(m, 'tandem_connections_unopened'), 0);
  t.equal(gauge(m, 'tandem_open_timeouts_total'), 1_000);
});

t.test('silent sockets at the connection cap lock a desktop out only until the deadline', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { auth, openTimeoutMs: 1_000, maxConnections: 30 } } });
  const silents = await Promise.all(Array.from({ length: 30 }, () => silent(ts.url)));
  t.teardown(() => { for (const s of silents) s.ws.terminate(); });
  const full = await upgradeStatus(ts.url, { localAddress: '127.0.0.1' });
  t.equal(full.status, 503, 'cap reached');
  t.match(full.body, /tserver\.maxConnections/);
  await Promise.all(silents.map((s) => s.closed));
  await disconnected(ts, 30);
  const desk = await openDesk(t, ts.url);
  t.match(await desk.open({ token: TOKEN }), { event: 'EventServerInfo' }, 'admitted once the silent sockets were closed');
});

t.test('unopened sockets per address: the cap refuses one more from that address only; opening frees a slot', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { auth, openTimeoutMs: 30_000, maxUnopenedPerLoopbackAddress: 20 } } });
  const held = await Promise.all(Array.from({ length: 19 }, () => silent(ts.url)));
  t.teardown(() => { for (const s of held) s.ws.terminate(); });
  const desk = await openDesk(t, ts.url); // the 20th unopened socket from 127.0.0.1
  const over = await upgradeStatus(ts.url, { localAddress: '127.0.0.1' });
  t.equal(over.status, 503, 'the 21st unopened socket from 127.0.0.1 is refused');
  t.match(over.body, /20 connections from 127\.0\.0\.1 have not sent RequestOpen yet \(tserver\.maxUnopenedPerLoopbackAddress 20\): send RequestOpen right after connecting/);
  await ts.proc.waitFor((l) => l.msg === 'connection refused' && l.status === 503 && /RequestOpen/.test(String(l.reason)), 5_000, 'refusal logged');
  t.equal((await upgradeStatus(ts.url, { localAddress: '127.0.0.2' })).status, 101, 'another address is not affected');
  t.match(await desk.open({ token: TOKEN }), { event: 'EventServerInfo' }, 'a desktop that opens stops counting');
  t.equal((await upgradeStatus(ts.url, { localAddress: '127.0.0.1' })).status, 101, 'so 127.0.0.1 may connect again');
});

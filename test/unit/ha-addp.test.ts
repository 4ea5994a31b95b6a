// ADDP: silence accounting (exact numbers), then the real monitor with real timers, including a
// blocked event loop on the monitor's side that must not be taken for a dead peer.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import net from 'node:net';
import pino from 'pino';
import { AddpMonitor, SilenceMeter, validateAddp, DEFAULT_ADDP } from '../../src/ha/addp.js';

const silent = pino({ level: 'silent' });

t.test('SilenceMeter: dead after timeout of silence, exactly', async (t) => {
  const m = new SilenceMeter(400, 100, 0);
  const seq = [50, 100, 150, 200, 250, 300, 350, 399, 400].map((now) => m.tick(now));
  t.same(seq, [false, false, false, false, false, false, false, false, true]);
});

t.test('SilenceMeter: any message resets the silence', async (t) => {
  const m = new SilenceMeter(400, 100, 0);
  t.equal(m.tick(100), false);
  t.equal(m.tick(200), false);
  t.equal(m.tick(300), false);
  m.heard(350);
  t.equal(m.silence, 0);
  t.equal(m.tick(400), false);
  t.equal(m.tick(500), false);
  t.equal(m.tick(600), false);
  t.equal(m.tick(700), false);
  t.equal(m.silence, 350, 'counted from the message, not from the tick before it');
  t.equal(m.tick(750), true);
});

t.test('SilenceMeter: a late tick (our loop was blocked) counts one step and never kills', async (t) => {
  const m = new SilenceMeter(400, 100, 0);
  t.equal(m.tick(5000), false, 'blocked 5 s: counts 100 ms only');
  t.equal(m.silence, 100);
  t.equal(m.tick(5050), false);
  t.equal(m.tick(5100), false);
  t.equal(m.tick(5150), false);
  t.equal(m.silence, 250);
  // Near the timeout, then blocked again: the late tick defers the verdict to the next one.
  t.equal(m.tick(5250), false);
  t.equal(m.silence, 350);
  t.equal(m.tick(9000), false, 'would cross, but was late: wait for the poll phase');
  t.equal(m.silence, 399);
  m.heard(9001); // the peer's message, read after the block
  t.equal(m.tick(9050), false);
  t.equal(m.silence, 49);
  // Really silent: the next on-time tick declares.
  t.equal(m.tick(9150), false);
  t.equal(m.tick(9250), false);
  t.equal(m.tick(9350), false);
  t.equal(m.tick(9450), true);
});

t.test('options are validated; defaults documented', async (t) => {
  t.same(DEFAULT_ADDP, { intervalMs: 100, timeoutMs: 400, trace: false });
  t.throws(() => validateAddp({ intervalMs: 100, timeoutMs: 150, trace: false }), /at least twice addp.interval/);
  t.throws(() => validateAddp({ intervalMs: 0, timeoutMs: 150, trace: false }), /positive/);
});

t.test('monitor: sends every interval, silence -> dead once, messages keep it alive', async (t) => {
  let sent = 0;
  let deadAt = 0;
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s).msg); } });
  const started = performance.now();
  const keepAlive = setInterval(() => {}, 1000); // the monitor's timers are unref'd (a stream keeps a real process alive)
  t.teardown(() => clearInterval(keepAlive));
  const dead = new Promise<number>((resolve) => {
    const m = new AddpMonitor({ intervalMs: 20, timeoutMs: 120, trace: true }, {
      send: () => { sent++; },
      dead: (ms) => { deadAt = performance.now(); resolve(ms); },
      log, peer: 'primary',
    });
    m.start();
    // Alive for a while: a message every 30 ms.
    let n = 0;
    const feed = setInterval(() => { m.heard(true); if (++n === 10) clearInterval(feed); }, 30);
    t.teardown(() => { clearInterval(feed); m.stop(); });
  });
  const silentMs = await dead;
  const total = deadAt - started;
  t.ok(total >= 300 + 120 - 40, `alive while fed (~300 ms), dead ~120 ms later (${Math.round(total)} ms)`);
  t.ok(silentMs >= 120, `silence counted: ${silentMs} ms`);
  t.ok(sent >= 10, `heartbeats sent (${sent})`);
  t.ok(lines.includes('addp heartbeat sent') && lines.includes('addp heartbeat received'), 'trace logs both');
  t.equal(lines.filter((l) => l === 'addp timeout: peer silent, declared dead').length, 1, 'declared once');
});

t.test('monitor: pauseSending stops heartbeats (test hook)', async (t) => {
  let sent = 0;
  const m = new AddpMonitor({ intervalMs: 10, timeoutMs: 1000, trace: false }, { send: () => { sent++; }, dead: () => {}, log: silent, peer: 'x' });
  m.pauseSending(true);
  m.start();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => { if (m.silenceMs >= 100) { clearInterval(check); resolve(); } }, 5);
  });
  m.stop();
  t.equal(sent, 0);
});

// The peer is a worker thread writing a byte every 20 ms on a real TCP socket. The main thread
// blocks its own loop for 4x the timeout: on wake-up the bytes are waiting unread in the socket;
// the monitor must see them before it judges.
t.test('monitor: our own blocked event loop does not make a live peer dead', async (t) => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const worker = new Worker(`
    const net = require('node:net');
    const s = net.connect(${port}, '127.0.0.1', () => setInterval(() => s.write('h'), 20));
    s.on('error', () => {});
  `, { eval: true });
  t.teardown(async () => { await worker.terminate(); server.close(); });
  const sock = await new Promise<net.Socket>((r) => server.once('connection', r));
  let died = false;
  const m = new AddpMonitor({ intervalMs: 25, timeoutMs: 100, trace: false }, { send: () => {}, dead: () => { died = true; }, log: silent, peer: 'primary' });
  sock.on('data', () => m.heard(true));
  t.teardown(() => { m.stop(); sock.destroy(); });
  m.start();
  await new Promise((r) => sock.once('data', r));
  for (let round = 0; round < 3; round++) {
    const until = performance.now() + 400;
    while (performance.now() < until) { /* a long GC pause or synchronous task */ }
    await new Promise((r) => sock.once('data', r));
    await new Promise((r) => setTimeout(r, 60)); // a few check periods of normal running
  }
  t.notOk(died, 'no false death after three 400 ms blocks with a 100 ms timeout');
  // And the same monitor still detects a real silence.
  await worker.terminate();
  await new Promise<void>((resolve) => { const c = setInterval(() => { if (died) { clearInterval(c); resolve(); } }, 10); });
  t.ok(died, 'dead once the peer really stops');
});

t.test('SilenceMeter: a raised timeout applies from the next check and keeps the silence counted', async (t) => {
  const m = new SilenceMeter(100, 50, 0);
  t.notOk(m.tick(50));
  m.setTimeoutMs(400);
  t.equal(m.timeoutMs, 400);
  let dead = -1;
  for (let now = 100; now <= 600 && dead < 0; now += 50) if (m.tick(now)) dead = now;
  t.equal(dead, 400, '400 ms of silence counted from 0, the 50 before the change included');
});

t.test('monitor: setTimeoutMs raises the verdict (a backup in resync) and never lowers it below the configured timeout', async (t) => {
  let died = false;
  const m = new AddpMonitor({ intervalMs: 10, timeoutMs: 50, trace: false }, { send: () => {}, dead: () => { died = true; }, log: silent, peer: 'backup' });
  m.setTimeoutMs(10_000);
  m.setTimeoutMs(400);
  m.start();
  t.teardown(() => m.stop());
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  await new Promise<void>((resolve) => { const c = setInterval(() => { if (m.silenceMs >= 150) { clearInterval(c); resolve(); } }, 5); });
  t.notOk(died, '150 ms of silence: alive under the raised timeout (the configured one is 50)');
  m.setTimeoutMs(1);
  await new Promise<void>((resolve) => { const c = setInterval(() => { if (died) { clearInterval(c); resolve(); } }, 5); });
  t.ok(m.silenceMs >= 50, 'back at the configured 50 ms, not 1');
});

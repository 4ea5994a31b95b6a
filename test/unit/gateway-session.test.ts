// Session send bounds against a stand-in socket: a desktop that does not drain is closed with 4008.
import t from 'tap';
import pino from 'pino';
import { Session, CLOSE } from '../../src/adapters/gateway/session.js';

function fakeWs() {
  const ws = {
    OPEN: 1, readyState: 1, bufferedAmount: 0, sent: [] as string[], closed: undefined as undefined | [number, string], terminated: false,
    callbacks: [] as ((err?: Error) => void)[],
    send(text: string, opts: unknown, cb: (err?: Error) => void) { ws.sent.push(text); ws.callbacks.push(cb); },
    close(code: number, reason: string) { ws.closed = [code, reason]; ws.readyState = 2; },
    terminate() { ws.terminated = true; },
  };
  return ws;
}

t.test('closes with 4008 when the socket holds too many bytes', async (t) => {
  const ws = fakeWs();
  let sent = 0;
  const s = new Session(ws as never, 'test', { maxBufferedBytes: 100, maxQueuedMessages: 1000 }, pino({ level: 'silent' }), () => sent++);
  t.ok(s.send('a'));
  ws.bufferedAmount = 101;
  t.notOk(s.send('b'));
  t.same(ws.closed, [CLOSE.tooSlow, 'too slow; reconnect and RequestReplay']);
  t.notOk(s.send('c'), 'nothing after closing');
  t.equal(sent, 1);
});

t.test('closes with 4008 when too many frames are not written out', async (t) => {
  const ws = fakeWs();
  const s = new Session(ws as never, 'test', { maxBufferedBytes: 1e9, maxQueuedMessages: 2 }, pino({ level: 'silent' }), () => {});
  t.ok(s.send('1'));
  t.ok(s.send('2'));
  ws.callbacks[0]!();
  t.ok(s.send('3'), 'a written frame frees its slot');
  t.notOk(s.send('4'));
  t.equal(ws.closed?.[0], 4008);
});

t.test('frames sent in one synchronous run are corked on the socket and written out together', async (t) => {
  const ws = fakeWs();
  const socket = { corks: 0, uncorks: 0, cork() { socket.corks++; }, uncork() { socket.uncorks++; } };
  (ws as unknown as { _socket: typeof socket })._socket = socket;
  const s = new Session(ws as never, 'test', { maxBufferedBytes: 1e9, maxQueuedMessages: 100 }, pino({ level: 'silent' }), () => {});
  t.ok(s.send('1'));
  t.ok(s.send(Buffer.from('2')));
  t.ok(s.send('3'));
  t.same([socket.corks, socket.uncorks], [1, 0], 'corked once for the run, nothing written yet');
  await Promise.resolve();
  t.same([socket.corks, socket.uncorks], [1, 1], 'uncorked once after it: one write for the three frames');
  t.same(ws.sent.map(String), ['1', '2', '3']);
  t.ok(s.send('4'));
  await Promise.resolve();
  t.same([socket.corks, socket.uncorks], [2, 2], 'the next run corks again');
});

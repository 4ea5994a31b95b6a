// A desktop that stops reading is closed (4008, logged) once its buffer bound is reached; the others
// keep receiving every event.
import t from 'tap';
import { openClient, startStack } from '../helpers/tserver-fixture.js';
import { isStateEvent } from '../helpers/ws-client.js';

t.test('slow client closed, fast client unaffected', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { maxBufferedBytes: 512 * 1024, maxQueuedMessages: 200, maxUserDataBytes: 64 * 1024 } } });
  const fast = await openClient(t, ts.url, 'fast');
  const slow = await openClient(t, ts.url, 'slow');
  await fast.request('RequestRegisterAddress', { thisDN: '5001' });
  await slow.request('RequestRegisterAddress', { thisDN: '5001' });
  await fast.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1', thisQueue: '7000', workMode: 'ManualIn' });
  // The slow desktop stops reading its socket.
  const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();

  const reasons = { note: 'x'.repeat(30_000) };
  const N = 400;
  fast.skipAll();
  // One request at a time: the fast desktop is never behind; only the paused one falls behind.
  const wrong: string[] = [];
  for (let i = 1; i <= N; i++) {
    const answer = await (i % 2
      ? fast.request('RequestAgentNotReady', { thisDN: '5001', workMode: 'AuxWork', reasons }, 10_000)
      : fast.request('RequestAgentReady', { thisDN: '5001', reasons }, 10_000));
    if (answer.event !== (i % 2 ? 'EventAgentNotReady' : 'EventAgentReady')) wrong.push(`${i}: ${answer.event} ${answer.errorCode ?? ''}`);
  }
  t.same(wrong, [], 'every request answered with its event');
  const closedLine = await ts.proc.waitFor((l) => l.msg === 'client connection closed by server' && l.clientName === 'slow', 20_000, 'slow client closed');
  t.match(closedLine, { code: 4008, reason: 'too slow; reconnect and RequestReplay' });
  socket.resume();
  await slow.closedWith();
  // The fast client got an answer to every request, events in strictly increasing seq.
  await fast.waitFor(() => fast.events.filter((e) => e.event === 'EventAgentReady' || e.event === 'EventAgentNotReady').length >= N, 20_000, 'all events');
  const seqs = fast.events.filter(isStateEvent).map((e) => e.seq!);
  t.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), 'seq strictly increasing');
  t.match(await ts.health(), { clients: 1 });
});

t.test('a desktop that stops answering pings is cut (4001, logged); others stay', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { pingIntervalMs: 150 } } });
  const alive = await openClient(t, ts.url, 'alive');
  const dead = await openClient(t, ts.url, 'dead');
  const socket = (dead.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause(); // it reads nothing, so it answers no ping
  const line = await ts.proc.waitFor((l) => l.msg === 'client connection closed by server' && l.clientName === 'dead', 5_000, 'dead client cut');
  t.match(line, { code: 4001, reason: 'no pong: connection presumed dead' });
  socket.resume();
  await dead.closedWith();
  t.equal((await alive.request('RequestQueryServer')).event, 'EventServerInfo');
  t.match(await ts.health(), { clients: 1 });
});

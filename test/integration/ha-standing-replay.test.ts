// A desktop that lost its primary asks the backup for a standing replay (RequestReplay
// {untilPrimary}, docs/protocol.md Session 4): the backup replays its journal at once and holds the
// EventACK; when it serves after the kill -9, its EventServerInfo is followed by the events journalled
// since and then the EventACK, so the desktop needs no request once the backup promoted.
import t from 'tap';
import { inSync, roleChanged, mark, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';
import { isStateEvent } from '../helpers/ws-client.js';
import type { TEvent } from '../../src/protocol/messages.js';

const standingGauge = async (http: string): Promise<number> => {
  const text = await (await fetch(`${http}/metrics`)).text();
  return Number(/^tandem_replays_standing (\d+)/m.exec(text)?.[1] ?? NaN);
};

t.test('kill -9: the standing replay completes right behind the new primary\'s EventServerInfo', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  const sup = await openClient(t, a.url, 'sup');
  await sup.request('RequestRegisterAddress', { thisDN: '5001' });
  const onA = await openClient(t, a.url, 'desk');
  await onA.request('RequestRegisterAddress', { thisDN: '5001' });
  const onB = await openClient(t, b.url, 'desk');
  await onB.request('RequestRegisterAddress', { thisDN: '5001' });
  const login = await sup.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1', thisQueue: '7000', workMode: 'ManualIn' });
  const afterSeq = login.seq!;
  // Journalled after the desktop's last seq: the backup replays these at once.
  const early = [await sup.request('RequestAgentReady', { thisDN: '5001' }), await sup.request('RequestAgentNotReady', { thisDN: '5001', workMode: 'AuxWork' })];

  // On a serving primary untilPrimary changes nothing: replayed and acknowledged at once.
  t.equal((await onA.request('RequestReplay', { afterSeq, untilPrimary: true })).event, 'EventACK', 'the primary answers at once');
  const bad = await onB.request('RequestReplay', { afterSeq, untilPrimary: 'yes' });
  t.match(bad, { event: 'EventError', errorCode: 'BadRequest', errorMessage: /untilPrimary/ }, 'untilPrimary that is not a boolean is refused, saying which attribute');

  await inSync(a, b);
  onB.skipAll();
  const acked = onB.request('RequestReplay', { afterSeq, untilPrimary: true }, 20_000);
  const replayedNow = await onB.nextStateEvents(2);
  t.same(replayedNow.map((e) => e.seq), early.map((e) => e.seq), 'the backup replays its journal at once');
  t.equal(await standingGauge(b.http), 1, 'the EventACK is held (tandem_replays_standing 1)');

  // Journalled after the backup answered: it must come with the completion.
  const late = await sup.request('RequestAgentReady', { thisDN: '5001' });
  await inSync(a, b);
  const from = mark(b);
  a.proc.kill('SIGKILL');
  await roleChanged(b, 'primary', from);
  const ack = await acked;
  t.equal(ack.event, 'EventACK', 'answered once the backup serves');

  const rest = onB.events.slice(onB.events.indexOf(replayedNow[1]!) + 1);
  const info = rest.findIndex((e: TEvent) => e.event === 'EventServerInfo' && e.role === 'primary' && e.serving === true);
  t.ok(info >= 0, 'the new primary pushed its EventServerInfo (primary, serving)');
  const between = rest.slice(info + 1, rest.indexOf(ack));
  t.same(between.filter(isStateEvent).map((e) => e.seq), [late.seq], 'between the info and the ACK: exactly the event journalled since the first part');
  t.equal(rest.filter((e: TEvent) => isStateEvent(e) && e.seq === late.seq).length, 1, 'that event came once');
  t.equal(await standingGauge(b.http), 0, 'nothing held any more');
  t.ok(b.proc.lines.some((l) => l.msg === 'standing replays completed behind the server info' && l.replays === 1), 'the completion is logged with its count');
});

// A desktop that lost its primary asks the backup for a standing replay (RequestReplay
// {untilPrimary}, docs/protocol.md Session 4): the backup replays its journal at once and holds the
// EventACK; when it serves after the kill -9, its EventServerInfo is followed by the events journalled
// since and then the EventACK, so the desktop needs no request once the backup promoted. A desktop
// whose heartbeat ping reported "<lastSeq> <referenceId>" to the backup needs no request at all: the
// info that starts the new primary says replayFollows, its replay and EventACK right behind it.
import t from 'tap';
import { inSync, roleChanged, mark, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';
import { isStateEvent } from '../helpers/ws-client.js';
import type { TEvent } from '../../src/protocol/messages.js';

const gauge = async (http: string, name: string): Promise<number> => {
  const text = await (await fetch(`${http}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
};
const standingGauge = (http: string): Promise<number> => gauge(http, 'tandem_replays_standing');

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

t.test('kill -9: a heartbeat report is a standing replay nobody had to send', async (t) => {
  const pair = await startPair(t);
  const { a, b } = pair;
  const sup = await openClient(t, a.url, 'sup');
  await sup.request('RequestRegisterAddress', { thisDN: '5002' });
  const onA = await openClient(t, a.url, 'desk'); // registered with both servers, as the SDK does
  await onA.request('RequestRegisterAddress', { thisDN: '5002' });
  const onB = await openClient(t, b.url, 'desk');
  await onB.request('RequestRegisterAddress', { thisDN: '5002' });
  const other = await openClient(t, b.url, 'other'); // reports nothing: gets the info alone
  const browserOnA = await openClient(t, a.url, 'browser'); // a browser cannot ping: reports in RequestQueryServer
  await browserOnA.request('RequestRegisterAddress', { thisDN: '5002' });
  const browser = await openClient(t, b.url, 'browser');
  await browser.request('RequestRegisterAddress', { thisDN: '5002' });
  const login = await sup.request('RequestAgentLogin', { thisDN: '5002', agentId: 'a2', thisQueue: '7000', workMode: 'ManualIn' });
  const ready = await sup.request('RequestAgentReady', { thisDN: '5002' });

  // Bad payloads are not reports (any ping payload is legal WebSocket): ignored, answered with a pong.
  const pongs = (n: number) => new Promise<void>((resolve) => { let k = 0; const f = () => { if (++k === n) { onB.ws.off('pong', f); resolve(); } }; onB.ws.on('pong', f); });
  let echoed = pongs(4);
  for (const junk of ['', 'x y', `${login.seq} -1`, '99999999999999999 1']) onB.ws.ping(junk);
  await echoed;
  t.equal(await gauge(b.http, 'tandem_replays_reported'), 0, 'no report held for malformed payloads');
  // The desktop last saw the login: it reports that seq, with the referenceId the replay's ACK answers.
  echoed = pongs(1);
  onB.ws.ping(`${login.seq} 4242`);
  await echoed;
  t.equal(await gauge(b.http, 'tandem_replays_reported'), 1, 'tandem_replays_reported 1');
  t.match(await browser.request('RequestQueryServer', { lastSeq: -1, replayReferenceId: 5151 }), { event: 'EventError', errorCode: 'BadRequest', errorMessage: /lastSeq/ }, 'a negative lastSeq is refused, saying which attribute');
  t.match(await browser.request('RequestQueryServer', { lastSeq: login.seq, replayReferenceId: 'x' }), { event: 'EventError', errorCode: 'BadRequest', errorMessage: /replayReferenceId/ });
  t.match(await browser.request('RequestQueryServer', { lastSeq: login.seq, replayReferenceId: 5151 }), { event: 'EventServerInfo', role: 'backup' }, 'answered once the report is held');
  t.equal(await gauge(b.http, 'tandem_replays_reported'), 2, 'tandem_replays_reported 2');
  const late = await sup.request('RequestAgentNotReady', { thisDN: '5002', workMode: 'AuxWork' });
  await inSync(a, b);
  onB.skipAll();
  other.skipAll();
  browser.skipAll();
  const from = mark(b);
  a.proc.kill('SIGKILL');
  await roleChanged(b, 'primary', from);
  const ack = await onB.waitFor((e: TEvent) => e.event === 'EventACK' && e.referenceId === 4242, 10_000);
  const got = onB.events;
  const info = got.findIndex((e: TEvent) => e.event === 'EventServerInfo' && e.role === 'primary' && e.serving === true);
  t.match(got[info], { replayFollows: true }, 'the info that starts the new primary says a replay follows');
  const between = got.slice(info + 1, got.indexOf(ack));
  t.same(between.filter(isStateEvent).map((e) => e.seq), [ready.seq, late.seq], 'right behind it: the events after the reported seq, in order');
  t.equal(got.filter((e: TEvent) => e.event === 'EventACK' && e.referenceId === 4242).length, 1, 'one EventACK with the reported referenceId');
  const browserAck = await browser.waitFor((e: TEvent) => e.event === 'EventACK' && e.referenceId === 5151, 10_000);
  const seen = browser.events.slice(browser.events.findIndex((e: TEvent) => e.event === 'EventServerInfo' && e.replayFollows === true));
  t.same(seen.slice(1, seen.indexOf(browserAck)).filter(isStateEvent).map((e) => e.seq), [ready.seq, late.seq], 'the browser\'s report: the same replay, behind the same info');
  await other.waitFor((e: TEvent) => e.event === 'EventServerInfo' && e.role === 'primary');
  t.notOk(other.events.some((e: TEvent) => e.event === 'EventACK' || isStateEvent(e)), 'a connection that reported nothing gets the info alone');
  t.ok(b.proc.lines.some((l) => l.msg === 'starting to serve: reported replays follow the server info' && l.reported === 2), 'logged with the count of reports');
});

// The SDK's reported replay (docs/sdk.md "Failover", docs/protocol.md Session 4): its heartbeat ping
// carries "<lastSeq> <referenceId>"; once a pong echoed it, a failover needs no request at all: the
// server that starts serving says `replayFollows` and sends the events after the reported seq and the
// EventACK right behind its info. Each event once, in seq order, for kill -9, a hang and a switchover;
// a server without reported replays gets the ordinary replay.
import t, { type Test } from 'tap';
import { deskOnFakePair } from '../helpers/fake-tserver.js';

async function setup(t: Test, firstReferenceId?: number, heartbeat: 'auto' | 'app' = 'auto') {
  const desk = await deskOnFakePair(t, { client: { heartbeat, firstReferenceId } });
  const { pair, client, poll } = desk;
  const replays = () => [...pair.a.received, ...pair.b.received].filter((r) => r.request === 'RequestReplay');
  if (firstReferenceId !== undefined) return { ...desk, replays };
  // B's pong echoed a report of seq 1: B will push the replay when it starts serving.
  await poll(() => pair.b.reports.get('desk-1')?.[1] === 1 && client.servers()[1]!.reporting, 'a report of seq 1 echoed by B');
  return { ...desk, replays };
}

for (const fault of ['kill -9', 'hang', 'switchover'] as const) {
  t.test(`${fault}: the replay pushed behind the new primary's info completes the failover, no request sent`, async (t) => {
    const { pair, statuses, events, poll, replays, liveEvent } = await setup(t);
    if (fault === 'kill -9') await pair.a.crash();
    else if (fault === 'hang') pair.a.hung = true;
    else pair.a.setRole('backup', 1);
    const missed = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' }); // journalled, never sent by A
    if (fault === 'switchover') await poll(() => statuses.some((s) => s.type === 'failover-started'), 'A said backup');
    pair.b.setRole('primary', 2);
    await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
    t.same(replays(), [], 'no RequestReplay on either server: the report was the request');
    t.same(events.map((e) => e.seq), [1, missed.seq], 'every event once, in seq order (seq 1 came again in the push and was dropped)');
    const live = await liveEvent('EventAgentReady');
    t.equal(live.delivered.seq, live.published.seq, 'a live event from B');
  });
}

t.test('a new primary without reported replays (no replayFollows): the ordinary replay, each event once', async (t) => {
  const { pair, statuses, events, poll, replays } = await setup(t);
  pair.b.ignoreReports = true;
  await pair.a.crash();
  const missed = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.equal(replays().length, 1, 'one RequestReplay, sent after the info');
  t.match(replays()[0], { afterSeq: 1 });
  t.notOk('untilPrimary' in replays()[0]!, 'no standing replay: B held our report');
  t.same(events.map((e) => e.seq), [1, missed.seq]);
});

t.test('a replayFollows info from the server already our primary: its push is dropped, nothing delivered twice', async (t) => {
  const { pair, statuses, events, controls, poll, liveEvent } = await setup(t);
  pair.a.setRole('backup', 1);
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'live on B');
  await poll(() => (pair.a.reports.get('desk-1')?.[1] ?? 0) >= 1, 'a report to A (now the backup)');
  const before = statuses.length;
  const controlsBefore = controls.length;
  pair.b.setRole('primary', 3); // B pushes again as it "starts" epoch 3
  const live = await liveEvent('EventAgentReady');
  t.same(events.map((e) => e.seq), [1, live.published.seq], 'the pushed events were duplicates, dropped');
  t.notOk(controls.slice(controlsBefore).some((c) => c.event === 'EventACK'), 'the unexpected push\'s EventACK is not handed to the application');
  t.notOk(statuses.slice(before).some((s) => s.type === 'failover-started'), 'no failover');
});

t.test('a report goes out when lastSeq moved; the pings between carry nothing', async (t) => {
  const { pair, poll } = await setup(t);
  const from = pair.b.pings.length;
  await poll(() => pair.b.pings.length >= from + 4, 'four more pings');
  t.same(pair.b.pings.slice(from, from + 4), ['', '', '', ''], 'lastSeq still 1: plain pings');
  const next = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  await poll(() => pair.b.reports.get('desk-1')?.[1] === next.seq, 'the new seq reported');
  t.equal(pair.b.pings.filter((p) => p === `${next.seq} ${pair.b.reports.get('desk-1')![0]}`).length, 1, 'once');
});

t.test('referenceIds the server would not take as a report: no report, the standing replay as before', async (t) => {
  const { pair, client, statuses, events, poll } = await setup(t, Number.MAX_SAFE_INTEGER + 10);
  await new Promise((r) => setTimeout(r, 200)); // several heartbeats
  t.same(pair.b.pings.filter((p) => p !== ''), [], 'no ping carried a report');
  t.notOk(client.servers()[1]!.reporting);
  await pair.a.crash();
  const missed = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  await poll(() => pair.b.received.some((r) => r.request === 'RequestReplay' && r.untilPrimary === true), 'the standing replay');
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.same(events.map((e) => e.seq), [1, missed.seq]);
});

t.test('a pushed ReplayGap from an old report: replayed again from our own lastSeq, no gap reported', async (t) => {
  const { pair, statuses, events, poll, replays } = await setup(t);
  pair.b.keepFirstReport = true; // B keeps the report of seq 1, as a link too busy to ping would
  const later = [pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' }), pair.state.publish({ event: 'EventAgentReady', thisDN: '5001' })];
  await poll(() => events.length === 3, 'two more live events');
  pair.state.oldestSeq = later[1]!.seq!; // the journal no longer holds seq 2: the report's replay gaps
  await pair.a.crash();
  const missed = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.notOk(statuses.some((s) => s.type === 'replay-gap'), 'no gap: our own lastSeq is still in the journal');
  t.same(replays().map((r) => r.afterSeq), [later[1]!.seq], 'one RequestReplay, after our lastSeq');
  t.same(events.map((e) => e.seq), [1, ...later.map((e) => e.seq), missed.seq], 'every event once, in order');
});

t.test('a browser (RequestQueryServer heartbeat, no pings) reports in the query: kill -9 needs no replay request either', async (t) => {
  const { pair, statuses, events, poll, replays } = await setup(t, undefined, 'app');
  const queries = pair.b.received.filter((r) => r.request === 'RequestQueryServer');
  t.ok(queries.some((q) => q.lastSeq === 1 && typeof q.replayReferenceId === 'number'), 'the query carried lastSeq and the replay\'s referenceId');
  t.same(pair.b.pings, [], 'no pings');
  await pair.a.crash();
  const missed = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.same(replays(), [], 'no RequestReplay');
  t.same(events.map((e) => e.seq), [1, missed.seq]);
});

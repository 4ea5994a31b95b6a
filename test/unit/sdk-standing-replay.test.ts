// The SDK's standing replay (docs/sdk.md "Failover"): when the primary is lost it asks the other
// server at once for RequestReplay {untilPrimary}; the events that server replays then and those it
// sends right behind its EventServerInfo when it serves are delivered once, in seq order, and the
// failover completes with no second replay. A server that answers at once, or a primary that turns
// out to be elsewhere, falls back to the ordinary replay with the same guarantees.
import t, { type Test } from 'tap';
import { deskOnFakePair } from '../helpers/fake-tserver.js';

async function setup(t: Test) {
  // No report's pong back yet (a desktop within its first heartbeat): the standing replay is the way.
  const desk = await deskOnFakePair(t, { prepare: (pair) => { pair.b.pongWithoutReport = true; } });
  const replays = () => desk.pair.b.received.filter((r) => r.request === 'RequestReplay');
  return { ...desk, replays };
}

t.test('kill -9: the standing replay to the backup completes the failover, each event once, in order', async (t) => {
  const { pair, statuses, events, poll, replays, liveEvent } = await setup(t);
  await pair.a.crash();
  const missed = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' }); // journalled, never sent by A
  await poll(() => replays().length === 1, 'the standing replay on B');
  t.match(replays()[0], { afterSeq: 1, untilPrimary: true }, 'sent to the backup when A was lost, after the last seq seen');
  t.equal(pair.b.standing.size, 1, 'B holds its EventACK');
  const later = pair.state.publish({ event: 'EventAgentReady', thisDN: '5001' }); // journalled before B serves
  t.notOk(statuses.some((s) => s.type === 'failover-complete'), 'not complete before B serves');
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.equal(replays().length, 1, 'no second replay: the info and the rest came together');
  t.same(events.map((e) => e.seq), [1, missed.seq, later.seq], 'every event once, in seq order');
  const live = await liveEvent('EventAgentNotReady');
  t.equal(live.delivered.seq, live.published.seq, 'a live event from B');
});

t.test('a server that acknowledges the standing replay at once: dropped, replayed again once it is primary', async (t) => {
  const { pair, statuses, events, poll, replays } = await setup(t);
  pair.b.ignoreUntilPrimary = true;
  await pair.a.crash();
  const missed = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  await poll(() => replays().length === 1, 'the standing replay on B');
  await new Promise((r) => setTimeout(r, 30));
  t.same(events.map((e) => e.seq), [1], 'what a backup replayed is not delivered as complete');
  const later = pair.state.publish({ event: 'EventAgentReady', thisDN: '5001' });
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.equal(replays().length, 2, 'the ordinary replay on the new primary');
  t.equal(replays()[1]!.untilPrimary, undefined);
  t.same(events.map((e) => e.seq), [1, missed.seq, later.seq], 'every event once, in seq order');
});

t.test('switchover to the other server: the standing replay on it completes when it serves', async (t) => {
  const { pair, statuses, events, poll, replays } = await setup(t);
  pair.a.setRole('backup', 1); // A hands over: it says backup, nobody is primary for a moment
  await poll(() => replays().length === 1, 'the standing replay on B');
  t.equal(pair.a.received.filter((r) => r.request === 'RequestReplay').length, 0, 'not on the old primary');
  const during = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  pair.b.setRole('primary', 2);
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.equal(replays().length, 1);
  t.same(events.map((e) => e.seq), [1, during.seq]);
});

t.test('the primary turns out to be the old one: the standing replay is abandoned for its replay', async (t) => {
  const { pair, statuses, events, poll, replays, liveEvent } = await setup(t);
  pair.a.setRole('backup', 1);
  await poll(() => replays().length === 1, 'the standing replay on B');
  const during = pair.state.publish({ event: 'EventAgentNotReady', thisDN: '5001' });
  pair.a.setRole('primary', 3); // A is primary again (newer epoch); B never promotes
  await poll(() => statuses.some((s) => s.type === 'failover-complete'), 'failover complete');
  t.equal(pair.a.received.filter((r) => r.request === 'RequestReplay').length, 1, 'replayed on A');
  pair.b.setRole('primary', 2); // B's late completion is ignored: A (epoch 3) stays the primary
  await new Promise((r) => setTimeout(r, 30));
  t.same(events.map((e) => e.seq), [1, during.seq], 'every event once');
  const live = await liveEvent('EventAgentReady');
  t.same(events.map((e) => e.seq), [1, during.seq, live.published.seq]);
});

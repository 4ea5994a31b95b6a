// StandingReplays (src/adapters/gateway/replays.ts): one per connection, replaced by a newer one,
// dropped with its connection, completed with the events after its `upTo` and an EventACK (or
// ReplayGap), answered NotPrimary once held longer than the limit.
import t from 'tap';
import { parseSeqReport, StandingReplays } from '../../src/adapters/gateway/replays.js';
import { createState } from '../../src/core/state.js';
import pino from 'pino';

const metrics = { gauge: () => {}, inc: () => {} } as never;
const log = pino({ level: 'silent' });

const s1 = { id: 1 };
const s2 = { id: 2 };

t.test('park, replace, drop, complete', async (t) => {
  const expired: number[] = [];
  const sr = new StandingReplays<{ id: number }>(metrics, log, (_s, ref) => expired.push(ref), 60_000);
  t.teardown(() => sr.stop());
  t.equal(sr.park(s1, 'desk', 10, 5), undefined);
  t.equal(sr.park(s1, 'desk', 11, 6), 10, 'a newer one on the same connection replaces it and says which');
  t.equal(sr.park(s2, 'other', 12, 6), undefined);
  t.equal(sr.size, 2);
  sr.drop(s2);
  t.equal(sr.size, 1, 'dropped with its connection');
  const state = createState();
  const out = sr.complete(state, () => undefined, '2026-11-30T00:00:00.000Z')!;
  t.same([...out.keys()], [s1]);
  t.same(out.get(s1)!.map((f) => JSON.parse(f)), [{ event: 'EventACK', referenceId: 11, time: '2026-11-30T00:00:00.000Z' }], 'nothing journalled since: the EventACK alone');
  t.equal(sr.size, 0, 'completed ones are gone');
  t.equal(sr.complete(state, () => undefined), undefined, 'none held: nothing to send');
  t.same(expired, []);
});

t.test('held longer than the limit: answered (NotPrimary by the gateway), once', async (t) => {
  let now = 1_000;
  const expired: number[] = [];
  const sr = new StandingReplays<{ id: number }>(metrics, log, (_s, ref) => expired.push(ref), 50, () => now);
  t.teardown(() => sr.stop());
  sr.park(s1, 'desk', 21, 0);
  now += 49;
  await new Promise((r) => setTimeout(r, 40));
  t.same(expired, [], 'not before the limit');
  now += 1;
  await new Promise((r) => setTimeout(r, 40));
  t.same(expired, [21], 'at the limit');
  t.equal(sr.size, 0);
  now += 1_000;
  await new Promise((r) => setTimeout(r, 40));
  t.same(expired, [21], 'once');
});

t.test('heartbeat reports: parsed strictly, the newest per connection, pushed only when starting to serve, standing ones first', async (t) => {
  t.same(parseSeqReport(Buffer.from('1796007441530002 1796007441530099')), { seq: 1796007441530002, ref: 1796007441530099 }, 'the SDK\'s 16-digit seqs and referenceIds');
  for (const bad of ['', '12', '1  2', '1 2 3', '-1 2', '1 -2', 'a 2', '1.5 2', '99999999999999999 1', '9007199254740993 1', ' 1 2', '1 2\n']) {
    t.equal(parseSeqReport(Buffer.from(bad)), undefined, `not a report: ${JSON.stringify(bad)}`);
  }
  const sr = new StandingReplays<{ id: number }>(metrics, log, () => undefined, 60_000);
  t.teardown(() => sr.stop());
  const state = createState();
  sr.report(s1, 'desk', parseSeqReport(Buffer.from('0 7')));
  sr.report(s1, 'desk', { seq: 0, ref: 8 }); // a RequestQueryServer's report
  sr.report(s1, 'desk', parseSeqReport(Buffer.from('junk')));
  sr.report(s1, 'desk', { seq: 1e20, ref: 10 }); // an integer, not a safe one: not a report
  sr.report(s2, 'other', parseSeqReport(Buffer.from('0 9')));
  sr.park(s2, 'other', 12, 0);
  t.equal(sr.followUps(() => state, () => undefined, false)?.get(s1), undefined, 'already serving (no start): no reported replay');
  sr.park(s2, 'other', 13, 0);
  const f = sr.followUps(() => state, () => undefined, true)!;
  t.same(f.get(s1)!.map((x) => JSON.parse(x).referenceId), [8], 'the newest report\'s referenceId, made when asked for (the info\'s write)');
  t.same(f.get(s2)!.map((x) => JSON.parse(x).referenceId), [13], 'a standing replay wins over a report on the same connection');
  sr.drop(s1);
  t.equal(sr.followUps(() => state, () => undefined, true)!.get(s1), undefined, 'dropped with its connection');
});

// The derived de-dup order (CoreState.dedupOrder): trimming and nextDeadline find the oldest record in
// O(1) and in the Map's own order, on the primary and on a backup that applies the same deltas.
import t from 'tap';
import { applyDelta, createState, oldestDedup } from '../../src/core/state.js';
import { Rig } from '../helpers/core-rig.js';

const rec = (key: string, at: number) => ({ key, answer: { event: 'EventACK' as const }, at });

t.test('oldest record in insertion order; deleted keys skipped; a re-put keeps its place', async (t) => {
  const s = createState();
  for (const [k, at] of [['a#1', 1], ['b#1', 2], ['c#1', 3]] as const) applyDelta(s, { op: 'put', coll: 'dedup', key: k, value: rec(k, at) });
  t.equal(oldestDedup(s)?.key, 'a#1');
  applyDelta(s, { op: 'put', coll: 'dedup', key: 'a#1', value: rec('a#1', 9) });
  t.same(oldestDedup(s), { key: 'a#1', record: rec('a#1', 9) }, 'a put of an existing key keeps its place, as the Map does');
  applyDelta(s, { op: 'del', coll: 'dedup', key: 'a#1' });
  t.equal(oldestDedup(s)?.key, 'b#1');
  t.same(s.dedupOrder.keys.slice(s.dedupOrder.head), ['b#1', 'c#1']);
  applyDelta(s, { op: 'del', coll: 'dedup', key: 'b#1' });
  applyDelta(s, { op: 'del', coll: 'dedup', key: 'c#1' });
  t.equal(oldestDedup(s), undefined);
  t.same(s.dedupOrder, { keys: [], head: 0 }, 'emptied');
});

t.test('trim keeps maxRecords, oldest first, and the backup trims the same keys', async (t) => {
  const rig = new Rig({ dedup: { maxRecords: 3, maxAgeMs: 60_000 } });
  rig.agentReady('5001', 'a1');
  const refs: number[] = [];
  for (let i = 0; i < 10; i++) {
    rig.now += 1;
    refs.push(rig.req('d1', { request: i % 2 ? 'RequestAgentReady' : 'RequestAgentNotReady', thisDN: '5001', workMode: 'AuxWork' }).referenceId);
  }
  const last3 = refs.slice(-3).map((r) => `d1#${r}`);
  t.same([...rig.state.dedup.keys()], last3);
  t.equal(oldestDedup(rig.state)?.key, last3[0]);
  const b = Rig.backupOf(rig, rig.all.deltas);
  t.same([...b.state.dedup.keys()], last3);
  t.equal(oldestDedup(b.state)?.key, last3[0]);
  // Age: everything older than maxAgeMs goes on the next input.
  rig.tick(60_001);
  t.equal(rig.state.dedup.size, 0);
  t.equal(oldestDedup(rig.state), undefined);
});

t.test('a backup that only applies the primary\'s deletions keeps the order bounded (no key of every request ever)', async (t) => {
  const s = createState();
  // The primary's stream: records put and trimmed oldest first; the backup never calls oldestDedup.
  for (let i = 0; i < 20_000; i++) {
    applyDelta(s, { op: 'put', coll: 'dedup', key: `d#${i}`, value: rec(`d#${i}`, i) });
    if (i >= 100) applyDelta(s, { op: 'del', coll: 'dedup', key: `d#${i - 100}` });
  }
  t.equal(s.dedup.size, 100);
  t.ok(s.dedupOrder.keys.length - s.dedupOrder.head === 100, 'exactly the live keys after the head');
  t.ok(s.dedupOrder.keys.length < 2_500, `the array stays small (${s.dedupOrder.keys.length} slots for 100 records)`);
  t.equal(oldestDedup(s)?.key, 'd#19900');
});

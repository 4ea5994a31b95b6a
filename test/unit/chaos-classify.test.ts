// The chaos drill's judges (scripts/lib/chaos-classify.mjs, scripts/lib/chaos-report.mjs): from a
// cycle's role changes, which failovers were the fault's own (planned) and which were not
// (unplanned, a missing planned one, a stale backup taking over); from both /healthz, whether the pair
// is back to one serving primary and one in-sync backup; the per-fault summary.
import t from 'tap';
// @ts-ignore -- plain ESM script without types (the drill runs it straight from scripts/)
import { classifyFailovers, countsBetween, isGrant, pairRecovered } from '../../scripts/lib/chaos-classify.mjs';
// @ts-ignore -- plain ESM script without types
import { lossesOf, perFaultRows } from '../../scripts/lib/chaos-report.mjs';
// @ts-ignore -- plain ESM script without types
import { pct } from '../../scripts/lib/stats.mjs';

type Change = { server: string; from: string; to: string; oldEpoch: number; epoch: number; reason?: string };
const ch = (server: string, from: string, to: string, oldEpoch: number, epoch: number): Change => ({ server, from, to, oldEpoch, epoch });
// B promoted after A was lost; A restarted and rejoined as backup.
const killA: Change[] = [
  ch('B', 'backup-in-sync', 'promoting', 4, 4), ch('B', 'promoting', 'primary', 4, 5),
  ch('A', 'starting', 'backup-syncing', 0, 5), ch('A', 'backup-syncing', 'backup-in-sync', 5, 5),
];

t.test('a grant is a change to primary under a new epoch', async (t) => {
  t.ok(isGrant(ch('B', 'promoting', 'primary', 4, 5)));
  t.notOk(isGrant(ch('A', 'demoting', 'primary', 5, 5)), 'a handover that failed before the lease was released keeps its epoch');
  t.notOk(isGrant(ch('B', 'backup-in-sync', 'promoting', 4, 4)));
});

t.test('peer: the one promotion of the peer is planned', async (t) => {
  const r = classifyFailovers(killA, 'peer', 'A');
  t.equal(r.planned.length, 1);
  t.same([r.unplanned.length, r.missing, r.stale, r.ok], [0, false, 0, true]);
});

t.test('peer: a second failover after the kill is unplanned; none at all is missing', async (t) => {
  const twice = [...killA, ch('B', 'primary', 'backup-syncing', 5, 5), ch('A', 'promoting', 'primary', 5, 6)];
  const r = classifyFailovers(twice, 'peer', 'A');
  t.same([r.planned.length, r.unplanned.length, r.ok], [1, 1, false]);
  t.match(r.why[0], /unplanned: A promoting -> primary, epoch 5 -> 6/);
  const back = classifyFailovers([ch('A', 'promoting', 'primary', 4, 5)], 'peer', 'A');
  t.same([back.planned.length, back.unplanned.length, back.missing, back.ok], [0, 1, true, false], 'the old primary taking it back is not the planned one');
  const none = classifyFailovers([], 'peer', 'A');
  t.same([none.missing, none.ok], [true, false]);
  t.match(none.why, [/missing/]);
});

t.test('none: every grant is unplanned (a stall, an overload, a backup kill)', async (t) => {
  t.same(classifyFailovers([ch('B', 'backup-in-sync', 'promoting', 4, 4), ch('B', 'promoting', 'backup-syncing', 4, 4)], 'none', 'A').ok, true, 'a refused claim is no failover');
  const r = classifyFailovers(killA, 'none', 'A');
  t.same([r.planned.length, r.unplanned.length, r.missing, r.ok], [0, 1, false, false]);
  const flap = classifyFailovers([...killA, ch('A', 'promoting', 'primary', 5, 6)], 'none', 'A');
  t.equal(flap.unplanned.length, 2, 'a failover and the one it caused: two');
});

t.test('reclaim: the frozen primary reclaiming its own lease is planned; the unsynced backup taking over is stale', async (t) => {
  t.same(classifyFailovers([], 'reclaim', 'A').ok, true, 'no change at all');
  const own = classifyFailovers([ch('A', 'primary', 'backup-syncing', 4, 4), ch('A', 'promoting', 'primary', 4, 5)], 'reclaim', 'A');
  t.same([own.planned.length, own.unplanned.length, own.ok], [1, 0, true]);
  const stale = classifyFailovers([ch('B', 'promoting', 'primary', 4, 5)], 'reclaim', 'A');
  t.same([stale.unplanned.length, stale.stale, stale.missing, stale.ok], [1, 1, false, false]);
  t.match(stale.why, [/unplanned: B/, /stale/]);
});

t.test('restarted: only the restarted primary may take the role (fresh); the stale backup never', async (t) => {
  const ok = classifyFailovers([ch('A', 'starting', 'promoting', 0, 4), ch('A', 'promoting', 'primary', 4, 5), ch('B', 'backup-syncing', 'backup-in-sync', 5, 5)], 'restarted', 'A');
  t.same([ok.planned.length, ok.ok], [1, true]);
  const stale = classifyFailovers([ch('B', 'promoting', 'primary', 4, 5), ch('A', 'starting', 'backup-syncing', 0, 5)], 'restarted', 'A');
  t.same([stale.planned.length, stale.unplanned.length, stale.stale, stale.missing, stale.ok], [0, 1, 1, true, false]);
});

const primary = (o: object = {}) => ({ role: 'primary', haState: 'primary', serving: true, switchLink: 'up', syncState: 'in-sync', epoch: 5, ...o });
const backup = (o: object = {}) => ({ role: 'backup', haState: 'backup-in-sync', serving: false, switchLink: 'up', syncState: 'in-sync', epoch: 5, ...o });

t.test('recovered: one serving primary with an in-sync backup, and that backup in sync', async (t) => {
  t.match(pairRecovered({ A: primary(), B: backup() }), { ok: true, primary: 'A' });
  t.match(pairRecovered({ A: backup(), B: primary() }), { ok: true, primary: 'B' });
});

t.test('not recovered: each way the pair can be short, with both states in the reason', async (t) => {
  const cases: [string, Record<string, object | undefined>, RegExp][] = [
    ['backup still resyncing', { A: primary({ syncState: 'resyncing' }), B: backup({ haState: 'backup-syncing', syncState: 'resyncing' }) }, /B: backup-syncing epoch 5 sync resyncing/],
    ['primary alone', { A: primary({ syncState: 'alone' }), B: backup() }, /A: primary serving epoch 5 sync alone/],
    ['primary not serving', { A: primary({ serving: false }), B: backup() }, /NOT serving/],
    ['switch link down', { A: primary({ switchLink: 'down' }), B: backup() }, /switchLink down/],
    ['a server does not answer', { A: primary(), B: undefined }, /B: no answer/],
    ['no primary', { A: backup({ haState: 'backup-syncing' }), B: backup() }, /^0 primaries/],
    ['two primaries', { A: primary(), B: primary({ epoch: 6 }) }, /^2 primaries/],
    ['promoting', { A: primary(), B: { ...backup(), haState: 'promoting', syncState: 'lost' } }, /B: promoting/],
  ];
  for (const [name, h, why] of cases) {
    const r = pairRecovered(h);
    t.equal(r.ok, false, name);
    t.match(r.why, why, name);
  }
});

t.test('countsBetween: what a phase added, by code', async (t) => {
  t.same(countsBetween({ NotPrimary: 3 }, { NotPrimary: 5, Overloaded: 2 }), { NotPrimary: 2, Overloaded: 2 });
  t.same(countsBetween({ NotPrimary: 3 }, { NotPrimary: 3 }), {});
});

t.test('per fault: cycles, recovered, recovery percentiles, failovers, losses (by design apart), refusals', async (t) => {
  const row = (o: object) => ({ fault: 'kill-primary', recovered: true, recoverMs: 100, planned: 1, unplanned: 0, callsLost: 0, agentsLost: 0, evLost: 0, evUnexpected: 0, reqFailed: 0, evDup: 0, twice: 0, split: 0, refused: {}, failed: false, ...o });
  const rows = [
    row({ recoverMs: 100, refused: { NotPrimary: 4 } }), row({ recoverMs: 300 }),
    row({ recovered: false, recoverMs: NaN, unplanned: 1, failed: true, evLost: 2 }),
    row({ fault: 'cut-sync-kill-primary', lossByDesign: true, agentsLost: 20, evLost: 7, planned: 1 }),
    row({ fault: 'overload', planned: 0, refused: { Overloaded: 9, NotPrimary: 1 }, failed: true }),
  ];
  t.same(lossesOf(rows[3]), { forbidden: 0, byDesign: 27 });
  t.same(lossesOf(rows[2]), { forbidden: 2, byDesign: 0 });
  const [k, c, o] = perFaultRows(rows, ['kill-primary', 'cut-sync-kill-primary', 'overload'], pct);
  t.match(k, { fault: 'kill-primary', cycles: 3, recovered: 2, recoverP50: 100, recoverP99: 300, planned: 3, unplanned: 1, lost: 2, lostByDesign: 0, refused: 'NotPrimary 4', failed: 1 });
  t.match(c, { cycles: 1, lost: 0, lostByDesign: 27, failed: 0 });
  t.match(o, { refused: 'Overloaded 9, NotPrimary 1', failed: 1, planned: 0 });
});

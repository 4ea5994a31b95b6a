// Property tests of the HA machine over random interleavings of faults (fast-check): two servers
// running the real pure machine against the real lease rules (test/helpers/ha-world.ts). Checked after
// every step: never two serving primaries under one epoch, a primary that the switch considers holder
// is the only one serving, and a backup whose stream is in sync accepts an operator promotion. After
// the faults stop (heal, resume, restart, the foreign holder leaves), the pair returns by itself to a
// serving primary and an in-sync backup within 5 s of simulated time.
import t from 'tap';
import fc from 'fast-check';
import { isPromotable, step } from '../../src/ha/machine.js';
import { NAMES, World, type Name } from '../helpers/ha-world.js';

type Fault =
  | { f: 'kill' | 'restart' | 'stall' | 'hang' | 'resume' | 'sigusr1' | 'sigusr2'; who: Name }
  | { f: 'cut' | 'heal' | 'foreign-claim' | 'foreign-leave' }
  | { f: 'advance'; ms: number };

const who = fc.constantFrom<Name>('A', 'B');
const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ f: fc.constantFrom('kill', 'restart', 'stall', 'hang', 'resume', 'sigusr1', 'sigusr2') as fc.Arbitrary<'kill'>, who }),
  fc.record({ f: fc.constantFrom('cut', 'heal', 'foreign-claim', 'foreign-leave') as fc.Arbitrary<'cut'> }),
  fc.record({ f: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3_000 }) }),
  fc.record({ f: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }),
);

function apply(w: World, x: Fault): void {
  switch (x.f) {
    case 'kill': return w.kill(x.who);
    case 'restart': return w.restart(x.who);
    case 'stall': return w.stall(x.who);
    case 'hang': return w.hang(x.who);
    case 'resume': return w.resume(x.who);
    case 'sigusr1': return w.sigusr1(x.who);
    case 'sigusr2': return w.sigusr2(x.who);
    case 'cut': return w.cutSync();
    case 'heal': return w.healSync();
    case 'foreign-claim': return w.foreignClaim();
    case 'foreign-leave': return w.foreignLeave();
    case 'advance': return w.advance(x.ms);
    default: { const never: never = x; throw new Error(String(never)); }
  }
}

/** The safety invariants, checked after every fault. */
function checkSafety(w: World): string | undefined {
  const serving = NAMES.filter((n) => w.servers[n].alive && !w.servers[n].stalled && w.servers[n].s.kind === 'primary' && w.holderName() === n);
  if (serving.length > 1) return `two serving primaries: ${w.describe()}`;
  const primaries = NAMES.filter((n) => w.servers[n].alive && w.servers[n].s.kind === 'primary');
  if (primaries.length === 2 && w.servers.A.s.epoch === w.servers.B.s.epoch) return `two primaries under epoch ${w.servers.A.s.epoch}: ${w.describe()}`;
  for (const n of NAMES) {
    const sv = w.servers[n];
    if (!sv.alive || sv.stalled || sv.s.kind !== 'backup' || w.stream[n] !== 'in-sync') continue;
    if (!isPromotable(sv.s)) return `${n}'s stream is in sync but its machine says ${sv.s.sync}: ${w.describe()}`;
    const r = step(sv.s, { type: 'operator-promote' }, w.now, sv.params);
    if (!r.effects.some((e) => e.type === 'request-handover')) return `${n} is in sync but refuses an operator promotion: ${w.describe()}`;
  }
  return undefined;
}

t.test('random faults: safety after every step, recovery once faults stop', async (t) => {
  fc.assert(fc.property(fc.array(fault, { minLength: 1, maxLength: 40 }), (faults) => {
    const w = new World();
    w.boot();
    w.advance(200);
    for (const x of faults) {
      apply(w, x);
      const bad = checkSafety(w);
      if (bad) throw new Error(`after ${JSON.stringify(x)}: ${bad}`);
    }
    w.healAll();
    for (let ms = 0; ms < 5_000 && !w.healthy(); ms += 50) {
      w.advance(50);
      const bad = checkSafety(w);
      if (bad) throw new Error(`recovering: ${bad}`);
    }
    if (!w.healthy()) throw new Error(`not recovered 5 s after the faults stopped: ${w.describe()}`);
  }), { numRuns: 400, seed: Number(process.env.HA_PROPS_SEED ?? 20261129) });
  t.pass('400 random fault sequences');
});

t.test('the lease granted to a third party and then abandoned: the pair comes back by itself', async (t) => {
  const w = new World();
  w.boot();
  w.advance(200);
  t.ok(w.healthy(), w.describe());
  w.foreignClaim();
  w.advance(2_000);
  t.equal(w.holderName(), 'X');
  t.notOk(NAMES.some((n) => w.servers[n].s.kind === 'primary'), 'nobody serves while the tool holds the lease');
  w.foreignLeave();
  w.advance(1_100);
  t.ok(w.healthy(), `back to a serving primary and an in-sync backup: ${w.describe()}`);
});

t.test('a short stall of the primary (lease kept): the backup suspects, asks the switch, stays backup', async (t) => {
  const w = new World();
  w.boot();
  w.advance(200);
  const primary = NAMES.find((n) => w.servers[n].s.kind === 'primary')!;
  const epoch = w.lease.epoch;
  w.stall(primary);
  w.advance(200); // shorter than the lease: the stalled holder's lease has not lapsed
  w.resume(primary);
  w.advance(500);
  t.equal(w.lease.epoch, epoch, 'no new epoch: no failover');
  t.ok(w.healthy(), w.describe());
});

t.test('a long stall of the primary: the backup takes over once the lease lapsed; the old primary rejoins', async (t) => {
  const w = new World();
  w.boot();
  w.advance(200);
  const primary = NAMES.find((n) => w.servers[n].s.kind === 'primary')!;
  const backup = w.peer(primary);
  w.stall(primary);
  w.advance(600);
  t.equal(w.servers[backup].s.kind, 'primary', w.describe());
  w.resume(primary);
  w.advance(200);
  t.ok(w.healthy(), w.describe());
});

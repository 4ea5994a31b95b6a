// The chaos drill's plan (scripts/lib/chaos-plan.mjs): the seeded PRNG is mulberry32 exactly, a seed
// gives one fault schedule (random order, every fault its share), and the command line refuses what
// it cannot run with a message instead of a stack trace.
import t from 'tap';
// @ts-ignore -- plain ESM script without types (the drill runs it straight from scripts/)
import { FAULTS, FAULT_NAMES, mulberry32, parseChaosArgs, replayCommand, schedule, shuffle } from '../../scripts/lib/chaos-plan.mjs';

t.test('mulberry32: the reference sequence, same seed same numbers, all in [0, 1)', async (t) => {
  const r = mulberry32(1);
  // the widely published first outputs of mulberry32 for seed 1
  t.same([r(), r(), r()], [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  const a = mulberry32(42), b = mulberry32(42), c = mulberry32(43);
  const xs = Array.from({ length: 1000 }, () => a());
  t.same(Array.from({ length: 1000 }, () => b()), xs, 'replayable');
  t.not(c(), xs[0], 'another seed, another sequence');
  t.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  t.ok(Math.abs(mean - 0.5) < 0.05, `roughly uniform (mean ${mean})`);
});

t.test('shuffle: a permutation of a copy', async (t) => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const s = shuffle(items, mulberry32(7));
  t.same([...s].sort(), items);
  t.same(items, ['a', 'b', 'c', 'd', 'e'], 'input untouched');
});

t.test('schedule: a seed gives one order; every fault gets its share; not round-robin', async (t) => {
  const faults = FAULT_NAMES as string[];
  const s1 = schedule(11, faults, 100);
  t.same(schedule(11, faults, 100), s1, 'same seed, same schedule');
  t.notSame(schedule(12, faults, 100), s1, 'another seed, another schedule');
  t.equal(s1.length, 100);
  const counts = new Map<string, number>();
  for (const f of s1) counts.set(f, (counts.get(f) ?? 0) + 1);
  t.same([...counts.values()], faults.map(() => 10), 'bags of one permutation each: 10 of each in 100');
  const roundRobin = Array.from({ length: 100 }, (_, i) => faults[i % faults.length]);
  t.notSame(s1, roundRobin);
  const short = schedule(3, ['x', 'y', 'z'], 7);
  t.equal(short.length, 7);
  for (const f of ['x', 'y', 'z']) t.ok(short.filter((v: string) => v === f).length >= 2, `${f} in each of the first two bags`);
  t.same(schedule(5, ['only'], 3), ['only', 'only', 'only']);
});

t.test('every fault has an expectation the classifier knows', async (t) => {
  for (const [name, f] of Object.entries(FAULTS as Record<string, { grants: string; loss: string; about: string }>)) {
    t.ok(['peer', 'none', 'reclaim', 'restarted'].includes(f.grants), `${name} grants`);
    t.ok(['none', 'fresh'].includes(f.loss), `${name} loss`);
    t.ok(f.about.length > 10, `${name} described`);
  }
  t.equal(FAULTS['stall-primary'].grants, 'none', 'a stall shorter than detection must not fail over');
  t.equal(FAULTS.overload.notPrimaryFails, true, 'overload: NotPrimary from a serving primary fails');
});

t.test('args: defaults and derived values', async (t) => {
  const r = parseChaosArgs([]);
  t.equal(r.ok, true);
  t.match(r.opts, { cycles: 10, rate: 20, desktops: 20, detectMs: 400, stallMs: 240, overloadRate: 40, overloadSecs: 20, recoverMs: 5000, holdMs: 2000, claimWindowMs: 1200, seed: undefined, seedGiven: false, mode: 'ack', checkOn: 'backup' });
  t.same(r.opts.faults, FAULT_NAMES);
  const r2 = parseChaosArgs(['--rate', '80', '--detect-ms', '1000', '--seed', '9', '--faults', 'overload,stall-primary,overload', '--overload-rate', '100']);
  t.match(r2.opts, { rate: 80, overloadRate: 100, stallMs: 600, holdMs: 5000, claimWindowMs: 3000, seed: 9, seedGiven: true });
  t.same(r2.opts.faults, ['overload', 'stall-primary'], 'deduplicated');
  t.same(parseChaosArgs(['-h']), { ok: true, opts: { help: true } });
});

t.test('args: a bad command line is an error message, never a throw', async (t) => {
  const bad: [string[], RegExp][] = [
    [['--out'], /--out/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--cycles', 'x'], /--cycles: 'x' is not a number/],
    [['--cycles', '0'], /--cycles/],
    [['--rate', ''], /--rate/],
    [['--faults', 'kill-primary,nope'], /unknown nope/],
    [['--mode', 'sync'], /--mode/],
    [['--check-on', 'switch'], /--check-on/],
    [['extra'], /positional|Unexpected argument/i],
  ];
  for (const [argv, msg] of bad) {
    const r = parseChaosArgs(argv);
    t.equal(r.ok, false, argv.join(' '));
    t.match(r.error, msg, argv.join(' '));
  }
});

t.test('replayCommand: the given arguments, the drawn seed added, --write dropped', async (t) => {
  t.equal(replayCommand(['--cycles', '5', '--write'], 123), 'node scripts/chaos.mjs --cycles 5 --seed 123');
  t.equal(replayCommand(['--seed', '7'], 7), 'node scripts/chaos.mjs --seed 7');
  t.equal(replayCommand(['--seed=7'], 7), 'node scripts/chaos.mjs --seed=7');
});

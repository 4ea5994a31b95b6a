// The watchdog's verdict (src/ha/hang-judge.ts): a main thread without progress that had the CPU is
// hung at the detection time; one that was starved or blocked gets up to the starved limit.
import t from 'tap';
import { HangJudge, threadCpuMs } from '../../src/ha/hang-judge.js';

const opts = { hangDetectionMs: 400, maxStepMs: 40, busyShare: 0.5, starvedLimitMs: 1600 };

/** Checks every 20 ms from `from` to `to` with no progress; CPU advancing at `share` of wall time. */
function run(j: HangJudge, from: number, to: number, cpuAt: (now: number) => number | undefined) {
  let v = j.observe(from, 1, cpuAt(from));
  for (let now = from + 20; now <= to && v.kind !== 'hung'; now += 20) {
    v = j.observe(now, 1, cpuAt(now));
    if (v.kind === 'hung') return { at: now, v };
  }
  return { at: -1, v };
}

t.test('a busy main thread (an endless loop) is hung at the detection time', async (t) => {
  const j = new HangJudge(opts, 0, 0, 0);
  const r = run(j, 0, 3000, (now) => now * 0.95);
  t.equal(r.at, 400, 'the check at 400 ms of silence');
  t.match(r.v, { kind: 'hung', stallMs: 400 });
});

t.test('a starved main thread (runnable, 25 % of a CPU) is waited for up to the starved limit', async (t) => {
  const j = new HangJudge(opts, 0, 0, 0);
  const kinds = new Set<string>();
  let now = 0;
  j.observe(0, 1, 0);
  for (now = 20; now <= 1500; now += 20) kinds.add(j.observe(now, 1, now * 0.25).kind);
  t.same([...kinds].sort(), ['starved', 'waiting'], 'starved past 400 ms, never hung before 1.6 s');
  t.same(j.observe(1500 + 20, 2, 400).kind, 'progress', 'it made progress: nothing happened');
});

t.test('a blocked main thread (no CPU: a deadlock) is hung at the starved limit', async (t) => {
  const j = new HangJudge(opts, 0, 0, 0);
  const r = run(j, 0, 3000, () => 10);
  t.equal(r.at, 1600);
  t.match(r.v, { kind: 'hung', cpuMs: 0 });
});

t.test('without CPU figures (not Linux) the judge is the wall-clock one', async (t) => {
  const j = new HangJudge(opts, 0, 0, undefined);
  t.equal(run(j, 0, 3000, () => undefined).at, 400);
});

t.test('a late check (the whole process stopped) never trips by itself', async (t) => {
  const j = new HangJudge(opts, 0, 0, 0);
  j.observe(0, 1, 0);
  t.equal(j.observe(5000, 1, 0).kind, 'waiting', '5 s late: counted as one step');
});

t.test('threadCpuMs reads utime + stime from a /proc stat line, even with spaces in the name', async (t) => {
  const line = '4242 (node (main) x) R 1 4242 4242 0 -1 4194560 2875 0 0 0 123 45 0 0 20 0 11 0 100 0 0';
  t.equal(threadCpuMs(line), 1680, '(123 + 45) ticks of 10 ms');
  t.equal(threadCpuMs('garbage'), undefined);
  t.equal(threadCpuMs('1 (x) R 1'), undefined);
});

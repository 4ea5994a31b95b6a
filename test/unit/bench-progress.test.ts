// Progress lines of the long benchmark runs (scripts/lib/bench-progress.mjs): the exact wording a
// watcher reads (part, offered rate, how far into the step, elapsed), a line at the start and one per
// tick while the part lasts, none after it ends, and the part's result or error passed through.
import t from 'tap';
// @ts-ignore -- plain ESM script without types (the benches run it straight from scripts/)
import { clock, progressLine, withProgress } from '../../scripts/lib/bench-progress.mjs';

t.test('clock: m:ss, h:mm:ss from an hour', async (t) => {
  t.same([0, 999, 5_000, 65_000, 600_000, 3_599_000, 3_600_000, 3_725_000].map(clock), ['0:00', '0:00', '0:05', '1:05', '10:00', '59:59', '1:00:00', '1:02:05']);
});

t.test('progressLine: part, offered rate, step position, elapsed', async (t) => {
  t.equal(progressLine({ what: 'mode 2/3 (ack), step 4/10', rate: 1000, stepMs: 60_000, doneMs: 30_400, elapsedMs: 725_000 }),
    'mode 2/3 (ack), step 4/10: 1000 calls/s offered, 30/60 s, elapsed 12:05');
  t.equal(progressLine({ what: 'kill run 3/20', elapsedMs: 61_000 }), 'kill run 3/20: elapsed 1:01', 'no rate, no step length');
  t.equal(progressLine({ what: 's', rate: 250, stepMs: 6000, doneMs: 9000, elapsedMs: 0 }), 's: 250 calls/s offered, 6/6 s, elapsed 0:00', 'never past the step');
});

/** A manual clock and timer: `tick()` runs the registered callback as the interval would. */
function manual(start: number) {
  let now = start, cb: (() => void) | undefined, stopped = 0;
  return {
    now: () => now,
    advance: (ms: number) => { now += ms; },
    every: (fn: () => void) => { cb = fn; return () => { cb = undefined; stopped++; }; },
    tick: () => cb?.(),
    get stopped() { return stopped; },
  };
}

t.test('withProgress: a line at the start and per tick, the timer stopped at the end, the result returned', async (t) => {
  const m = manual(100_000);
  const lines: string[] = [];
  let finish: (v: string) => void = () => {};
  const p = withProgress((s: string) => lines.push(s), { what: 'overload run 1/5', rate: 1500, stepMs: 60_000, runStartedAt: 40_000, now: m.now, every: m.every }, () => new Promise<string>((r) => { finish = r; }));
  m.advance(10_000); m.tick();
  m.advance(10_000); m.tick();
  finish('step result');
  t.equal(await p, 'step result');
  t.same(lines, [
    'progress: overload run 1/5: 1500 calls/s offered, 0/60 s, elapsed 1:00',
    'progress: overload run 1/5: 1500 calls/s offered, 10/60 s, elapsed 1:10',
    'progress: overload run 1/5: 1500 calls/s offered, 20/60 s, elapsed 1:20',
  ]);
  t.equal(m.stopped, 1);
  m.tick();
  t.equal(lines.length, 3, 'no line after the part ended');
});

t.test('withProgress: an error of the part is passed through and the timer stopped', async (t) => {
  const m = manual(0);
  await t.rejects(withProgress(() => {}, { what: 'x', runStartedAt: 0, now: m.now, every: m.every }, async () => { throw new Error('step failed'); }), /step failed/);
  t.equal(m.stopped, 1);
});

// The one backoff: exact delay sequences, the cap, jitter bounds with an injected random, the reset
// rules (at once, or only after an attempt stayed good for resetAfterMs on an injected clock).
import t from 'tap';
import { Backoff, backoffDelay } from '../../src/lib/backoff.js';

const take = (b: Backoff, n: number): number[] => Array.from({ length: n }, () => b.next());

t.test('doubles from initialMs up to maxMs, without jitter exactly', async (t) => {
  const b = new Backoff({ initialMs: 50, maxMs: 1_000 });
  t.same(take(b, 7), [50, 100, 200, 400, 800, 1_000, 1_000]);
  t.equal(b.attempts, 7);
  b.reset();
  t.equal(b.attempts, 0);
  t.same(take(b, 2), [50, 100]);
});

t.test('a factor other than 2', async (t) => {
  t.same(take(new Backoff({ initialMs: 10, maxMs: 500, factor: 3 }), 5), [10, 30, 90, 270, 500]);
  t.same(take(new Backoff({ initialMs: 10, maxMs: 500, factor: 1 }), 3), [10, 10, 10]);
});

t.test('jitter takes up to that share off the base, never more, never above the cap', async (t) => {
  const randoms = [0, 0.5, 0.999999, 0, 0.5, 0.999999];
  const b = new Backoff({ initialMs: 100, maxMs: 200, jitter: 0.5 }, { random: () => randoms.shift()! });
  // base 100: r=0 -> 100, then base 200 (capped from here): r=0.5 -> 150, r~1 -> 100, ...
  t.same(take(b, 6), [100, 150, 100, 200, 150, 100]);
  const wide = new Backoff({ initialMs: 1_000, maxMs: 1_000, jitter: 0.2 }, { random: Math.random });
  for (const d of take(wide, 200)) t.ok(d >= 800 && d <= 1_000, `${d} within [800, 1000]`);
});

t.test('succeeded() starts the growth over at the next failure; with resetAfterMs only after a good long run', async (t) => {
  let now = 0;
  const quick = new Backoff({ initialMs: 200, maxMs: 5_000 }, { now: () => now });
  t.same(take(quick, 3), [200, 400, 800]);
  quick.succeeded();
  t.same(take(quick, 2), [200, 400]);

  const b = new Backoff({ initialMs: 200, maxMs: 5_000, resetAfterMs: 10_000 }, { now: () => now });
  t.same(take(b, 3), [200, 400, 800]);
  b.succeeded(); // started, crashed after 9.999 s: still backing off
  now += 9_999;
  t.equal(b.next(), 1_600);
  b.succeeded(); // started, ran 10 s: healthy, start over
  now += 10_000;
  t.equal(b.next(), 200);
  // A success counts once: the failure after the reset grows again.
  t.equal(b.next(), 400);
});

t.test('backoffDelay is the pure schedule: attempt 0 is initialMs, huge attempts stay at the cap', async (t) => {
  const o = { initialMs: 50, maxMs: 1_000 };
  t.same([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(o, n)), [50, 100, 200, 400, 800, 1_000, 1_000]);
  t.equal(backoffDelay(o, 1e9), 1_000);
  t.equal(backoffDelay({ initialMs: 0, maxMs: 0 }, 5_000), 0, 'no NaN from 0 × Infinity');
  t.equal(backoffDelay(o, -3), 50);
});

t.test('bad options are refused when the backoff is made, naming the option', async (t) => {
  t.throws(() => new Backoff({ initialMs: 500, maxMs: 100 }), /initialMs \(500\) <= maxMs \(100\)/);
  t.throws(() => new Backoff({ initialMs: -1, maxMs: 100 }), /initialMs/);
  t.throws(() => new Backoff({ initialMs: 1, maxMs: 100, jitter: 1.5 }), /jitter 1.5/);
  t.throws(() => new Backoff({ initialMs: 1, maxMs: 100, factor: 0.5 }), /factor 0.5/);
});

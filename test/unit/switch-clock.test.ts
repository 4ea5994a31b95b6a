import t from 'tap';
import { LeaseClock } from '../../src/processes/switch/lease-clock.js';
import { Lease } from '../../src/processes/switch/lease.js';

t.test('gaps up to one step count in full; a longer gap counts one step and reads late', async (t) => {
  const c = new LeaseClock(80, 1_000);
  t.equal(c.read(1_040), 40);
  t.equal(c.late, false);
  t.equal(c.read(1_120), 120, 'a gap of exactly one step counts in full');
  t.equal(c.late, false);
  t.equal(c.read(2_320), 200, 'a 1200 ms stall counts 80');
  t.equal(c.late, true);
  t.equal(c.read(2_330), 210, 'then real time again');
  t.equal(c.late, false);
  t.equal(c.read(2_300), 210, 'real time going backwards counts 0');
  t.equal(c.read(2_310), 220, 'and the next gap is measured from the last observation');
  t.equal(c.now, 220);
});

t.test('a busy loop (every gap just over a step) runs the clock slower, never faster', async (t) => {
  const c = new LeaseClock(80, 0);
  let real = 0;
  for (let i = 0; i < 10; i++) { real += 100; c.read(real); }
  t.equal(c.now, 800, '10 turns of 100 ms count 800 ms');
  t.ok(c.now <= real);
});

t.test('constructor refuses a non-positive step', async (t) => {
  t.throws(() => new LeaseClock(0, 0), /maxStepMs must be positive/);
});

// The switch's rule, replayed with exact numbers: lease 400 ms, lapse check every 40 ms (max step
// 80 ms), the holder renews every 50 ms. The switch's loop is blocked for 1200 ms (3 × the lease);
// the renewals sent meanwhile wait in its socket. Real clock: the late check would lapse the lease.
// Lease clock: the late check counts 80 ms and decides nothing; the renewals read next keep it.
t.test('a switch stall of 3 x the lease does not lapse a holder whose renewals waited', async (t) => {
  const lease = new Lease(400);
  const clock = new LeaseClock(80, 0);
  const A = { linkId: 1, serverName: 'A' };
  lease.claim(A, 1, false, clock.read(0));
  for (let real = 50; real <= 300; real += 50) t.same(lease.heartbeat(1, 1, clock.read(real)), { holder: true, remainingMs: 400 });
  t.equal(clock.now, 300);
  // Blocked from 300 to 1500. The timer fires first (late): no decision.
  const late = clock.read(1_500);
  t.equal(late, 380);
  t.equal(clock.late, true);
  // The poll phase then reads the renewals that waited (heartbeat before tick).
  for (let k = 0; k < 24; k++) lease.heartbeat(1, 1, clock.read(1_500));
  t.same(lease.tick(clock.read(1_500)), [], 'no lapse');
  t.equal(lease.remainingMs(clock.now), 400);
  // The same stall on the real clock: the lease is gone at the first look.
  const real = new Lease(400);
  real.claim(A, 1, false, 0);
  real.heartbeat(1, 1, 300);
  t.equal(real.tick(1_500).length, 1, 'real time would have deposed the live holder (LeaseLapsed)');
});

t.test('a holder that really went silent still lapses on time while the switch runs', async (t) => {
  const lease = new Lease(400);
  const clock = new LeaseClock(80, 0);
  lease.claim({ linkId: 1, serverName: 'A' }, 1, false, clock.read(0));
  let lapsedAt = -1;
  for (let real = 40; real <= 1_000 && lapsedAt < 0; real += 40) {
    const now = clock.read(real);
    if (!clock.late && lease.tick(now).length > 0) lapsedAt = real;
  }
  t.equal(lapsedAt, 400, 'checks on time: the clock is real time');
});

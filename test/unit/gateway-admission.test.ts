// Admission control (src/adapters/gateway/admission.ts), pure: per-turn budget and the three overload signals
// with exact numbers; time passed in.
import t from 'tap';
import { AdmissionControl, DEFAULT_ADMISSION_LIMITS, type AdmissionLimits } from '../../src/adapters/gateway/admission.js';

const limits = (o: Partial<AdmissionLimits> = {}): AdmissionLimits => ({
  maxRequestsPerTurn: 3, maxQueuedRequests: 5, maxEventLoopDelayMs: 100, maxReleaseDelayMs: 1000, overloadRetryAfterMs: 750, ...o,
});

t.test('at most maxRequestsPerTurn slots per turn; a new turn gives them back', async (t) => {
  const a = new AdmissionControl(limits());
  t.same([a.takeTurnSlot(), a.takeTurnSlot(), a.takeTurnSlot(), a.takeTurnSlot()], [true, true, true, false]);
  a.newTurn();
  t.equal(a.takeTurnSlot(), true);
  const unbounded = new AdmissionControl(limits({ maxRequestsPerTurn: 0 }));
  for (let i = 0; i < 10_000; i++) if (!unbounded.takeTurnSlot()) return t.fail('0 means no bound');
});

t.test('queue: the 6th waiting request is refused, one done admits again', async (t) => {
  const a = new AdmissionControl(limits());
  for (let i = 0; i < 5; i++) t.same(a.offer(0), { admitted: true });
  t.equal(a.queued, 5);
  const r = a.offer(0);
  t.match(r, { admitted: false, reason: 'queue', retryAfterMs: 750, message: /5 requests are waiting to run \(tserver\.maxQueuedRequests 5\).*same referenceId/ });
  t.equal(a.queued, 5, 'a refused request is not queued');
  a.done();
  t.same(a.offer(0), { admitted: true });
  t.equal(a.refused.queue, 1);
});

t.test('admitAlways counts as queued without a check', async (t) => {
  const a = new AdmissionControl(limits({ maxQueuedRequests: 1 }));
  a.admitAlways();
  a.admitAlways();
  t.equal(a.queued, 2);
  t.match(a.offer(0), { admitted: false, reason: 'queue' });
  a.done(2);
  a.done();
  t.equal(a.queued, 0, 'never below zero');
});

t.test('event-loop delay: over at the bound, back only under half of it (hysteresis)', async (t) => {
  const a = new AdmissionControl(limits());
  a.loopDelay(99);
  t.same(a.offer(0), { admitted: true });
  a.loopDelay(100);
  t.match(a.offer(0), { admitted: false, reason: 'eventLoopDelay', message: /event loop is 100 ms behind \(tserver\.maxEventLoopDelayMs 100\)/ });
  a.loopDelay(60);
  t.match(a.offer(0), { admitted: false, reason: 'eventLoopDelay' }, '60 ms: still over half the bound');
  a.loopDelay(50);
  t.match(a.offer(0), { admitted: false, reason: 'eventLoopDelay' }, '50 ms = half: still over');
  a.loopDelay(49);
  t.same(a.offer(0), { admitted: true });
  a.loopDelay(80);
  t.same(a.offer(0), { admitted: true }, 'rising under the bound does not shed');
  const off = new AdmissionControl(limits({ maxEventLoopDelayMs: 0 }));
  off.loopDelay(10_000);
  t.same(off.offer(0), { admitted: true }, '0 = off');
});

t.test('unreleased: refused once the oldest held batch is maxReleaseDelayMs old', async (t) => {
  const a = new AdmissionControl(limits());
  a.unreleasedSince(10_000);
  t.same(a.offer(10_999), { admitted: true });
  t.match(a.offer(11_000), { admitted: false, reason: 'unreleased', message: /answers wait 1000 ms to be released \(tserver\.maxReleaseDelayMs 1000\)/ });
  a.unreleasedSince(undefined);
  t.same(a.offer(50_000), { admitted: true });
  t.same(a.refused, { queue: 0, eventLoopDelay: 0, unreleased: 1 });
});

t.test('the first signal over its bound is the reason: queue, then delay, then unreleased', async (t) => {
  const a = new AdmissionControl(limits({ maxQueuedRequests: 1 }));
  a.admitAlways();
  a.loopDelay(500);
  a.unreleasedSince(0);
  t.equal(a.overloadReason(5_000), 'queue');
  a.done();
  t.equal(a.overloadReason(5_000), 'eventLoopDelay');
  a.loopDelay(0);
  t.equal(a.overloadReason(5_000), 'unreleased');
});

t.test('defaults are documented numbers', async (t) => {
  t.same(DEFAULT_ADMISSION_LIMITS, { maxRequestsPerTurn: 256, maxQueuedRequests: 5_000, maxEventLoopDelayMs: 100, maxReleaseDelayMs: 2_000, overloadRetryAfterMs: 1_000 });
});

// LeaseHold (src/adapters/gateway/lease-hold.ts): requests that arrive while a primary's lease is uncertain
// wait in arrival order, bounded by count and by time, and leave all at once when it is settled.
import t from 'tap';
import { LeaseHold } from '../../src/adapters/gateway/lease-hold.js';

t.test('held in order, drained at once, bounded by count', async (t) => {
  const h = new LeaseHold<string>({ maxLeaseHoldMs: 1000, maxLeaseHeldRequests: 3 });
  t.equal(h.hold('a', 0), 'held');
  t.equal(h.hold('b', 5), 'held');
  t.equal(h.hold('c', 9), 'held');
  t.equal(h.hold('d', 9), 'full', 'the fourth is refused (the caller answers Overloaded)');
  t.equal(h.size, 3);
  t.same(h.drain(), ['a', 'b', 'c']);
  t.equal(h.size, 0);
  t.same(h.drain(), []);
});

t.test('expired: exactly the requests that waited maxLeaseHoldMs or more, oldest first', async (t) => {
  const h = new LeaseHold<string>({ maxLeaseHoldMs: 100, maxLeaseHeldRequests: 10 });
  h.hold('a', 0);
  h.hold('b', 50);
  h.hold('c', 120);
  t.same(h.expired(99), []);
  t.same(h.expired(100), ['a']);
  t.same(h.expired(149), []);
  t.same(h.expired(150), ['b']);
  t.same(h.drain(), ['c']);
  h.stop();
});

t.test('maxLeaseHoldMs 0 turns holding off', async (t) => {
  const h = new LeaseHold<string>({ maxLeaseHoldMs: 0, maxLeaseHeldRequests: 10 });
  t.equal(h.hold('a', 0), 'off');
  t.equal(h.size, 0);
});

t.test('the timer hands expired requests to the callback and stops when empty', async (t) => {
  const expired: string[][] = [];
  let done!: () => void;
  const gotThem = new Promise<void>((r) => { done = r; });
  const h = new LeaseHold<string>({ maxLeaseHoldMs: 30, maxLeaseHeldRequests: 10 }, (items) => { expired.push(items); done(); });
  const keepAlive = setTimeout(() => {}, 10_000); // the hold's own timer is unref'd
  h.hold('a', Date.now());
  await gotThem;
  clearTimeout(keepAlive);
  t.same(expired, [['a']]);
  t.equal(h.size, 0);
  h.stop();
});

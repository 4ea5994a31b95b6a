// The holder's own lease clock (src/adapters/switch-client/holder-lease.ts): counted from SEND times, minus a margin
// (leaseMargin: max(20, leaseMs/10) = 40 ms for 400 ms), so the holder always stops before the switch.
import t from 'tap';
import { HolderLease } from '../../src/adapters/switch-client/holder-lease.js';
import type { LeaseRenewer } from '../../src/adapters/switch-client/switch-link-types.js';

function renewer(deadline = 0) {
  const r = { deadlineMs: deadline, trippedEpoch: 0, epochs: [] as number[], detached: 0 };
  const api: LeaseRenewer = {
    attach: () => {}, detach: () => { r.detached++; }, setEpoch: (e) => { r.epochs.push(e); },
    deadline: () => r.deadlineMs, tripped: (e) => e !== 0 && e === r.trippedEpoch, onRenewal: () => {},
  };
  return { r, api };
}

t.test('a grant counts from the claim\'s send time; an ack extends from its heartbeat\'s send time', async (t) => {
  const l = new HolderLease(undefined);
  l.claimSent(1000);
  l.granted(3, 400);
  t.equal(l.deadline(), 1000 + 400 - 40);
  l.heartbeatSent(1100);
  l.heartbeatSent(1200);
  t.ok(l.heartbeatAcked(true, 400), 'renewed');
  t.equal(l.deadline(), 1100 + 360, 'from the first heartbeat (acks come back in order)');
  t.notOk(l.heartbeatAcked(false, 400), 'an ack that does not name us holder renews nothing');
  t.equal(l.deadline(), 1460);
});

t.test('heartbeats sent before the grant renew nothing', async (t) => {
  const l = new HolderLease(undefined);
  l.heartbeatSent(900);
  l.claimSent(1000);
  l.granted(1, 400);
  t.notOk(l.heartbeatAcked(true, 400), 'the pre-grant heartbeat\'s ack');
  t.equal(l.deadline(), 1360);
});

t.test('the renewer\'s deadline counts, until its watchdog trips the held epoch: then 0', async (t) => {
  const { r, api } = renewer(5000);
  const l = new HolderLease(api);
  l.claimSent(1000);
  l.granted(7, 400);
  t.same(r.epochs, [7], 'the renewer renews epoch 7');
  t.equal(l.deadline(), 5000, 'the later of the two');
  r.trippedEpoch = 7;
  t.ok(l.tripped);
  t.equal(l.deadline(), 0, 'tripped: act as holder no more');
  t.notOk(l.deadSilent(5000 + 40 + 1600, 400, 4), 'a trip is not the link\'s silence: the renewals still count');
  t.ok(l.deadSilent(5000 + 40 + 1600 + 1, 400, 4), 'silent past 4 more leases after the margin');
});

t.test('deposed keeps the stream (no detach); link gone detaches and forgets outstanding heartbeats', async (t) => {
  const { r, api } = renewer();
  const l = new HolderLease(api);
  l.claimSent(0);
  l.granted(2, 400);
  l.heartbeatSent(10);
  l.deposed();
  t.equal(l.deadline(), 0);
  t.same(r.epochs, [2, 0]);
  t.equal(r.detached, 0);
  l.linkGone();
  t.equal(r.detached, 1);
  l.claimSent(100);
  l.granted(3, 400);
  t.notOk(l.heartbeatAcked(true, 400), 'nothing outstanding from the old link');
});

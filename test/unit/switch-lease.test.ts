import t from 'tap';
import { Lease, leaseNotice, type LeaseTransition } from '../../src/processes/switch/lease.js';

const A = { linkId: 1, serverName: 'A' };
const B = { linkId: 2, serverName: 'B' };

function setup() {
  const log: string[] = [];
  const lease = new Lease(400, (x: LeaseTransition) => log.push(`${x.from} -> ${x.to} ${x.reason} epoch ${x.oldEpoch}->${x.newEpoch} holder "${x.oldHolder}"->"${x.newHolder}"`));
  return { lease, log };
}

t.test('first claim is granted; lower or equal epochs are refused StaleEpoch', async (t) => {
  const { lease, log } = setup();
  t.match(lease.claim(A, 1, false, 0), { granted: true, epoch: 1, notices: [] });
  t.match(lease.claim(B, 1, false, 10), { granted: false, code: 'StaleEpoch', currentEpoch: 1, holder: 'A' });
  t.match(lease.claim(B, 0, true, 10), { granted: false, code: 'StaleEpoch' }, 'force does not beat the epoch rule');
  t.same(log, ['free -> held Claimed epoch 0->1 holder ""->"A"']);
});

t.test('a live holder keeps the lease: LeaseHeld; force deposes it at once', async (t) => {
  const { lease, log } = setup();
  lease.claim(A, 1, false, 0);
  t.match(lease.claim(B, 2, false, 100), { granted: false, code: 'LeaseHeld', holder: 'A' });
  const r = lease.claim(B, 2, true, 100);
  t.match(r, { granted: true, epoch: 2, notices: [{ linkId: 1, deposed: { epoch: 1, newEpoch: 2, newHolder: 'B', reason: 'Forced' } }] });
  t.equal(log[1], 'held -> held Forced epoch 1->2 holder "A"->"B"');
});

t.test('heartbeats renew; a silent holder lapses and is told; then a higher epoch is granted', async (t) => {
  const { lease, log } = setup();
  lease.claim(A, 1, false, 0);
  t.same(lease.heartbeat(1, 1, 300), { holder: true, remainingMs: 400 });
  t.same(lease.tick(699), [], 'renewed until 700');
  t.same(lease.heartbeat(2, 1, 300), { holder: false, remainingMs: 0 }, 'a non-holder heartbeat is only a keepalive');
  t.same(lease.tick(700), [{ linkId: 1, deposed: { epoch: 1, newEpoch: 1, newHolder: '', reason: 'LeaseLapsed' } }]);
  t.same(lease.heartbeat(1, 1, 710), { holder: false, remainingMs: 0 }, 'too late: lapsed');
  t.match(lease.claim(B, 2, false, 720), { granted: true, notices: [] });
  t.same(log.slice(1), ['held -> free LeaseLapsed epoch 1->1 holder "A"->""', 'free -> held Claimed epoch 1->2 holder ""->"B"']);
});

t.test('holder link gone frees the lease at once', async (t) => {
  const { lease } = setup();
  lease.claim(A, 1, false, 0);
  lease.linkGone(2);
  t.equal(lease.state.kind, 'held', 'another link closing changes nothing');
  lease.linkGone(1);
  t.same(lease.state, { kind: 'free', epoch: 1 });
  t.match(lease.claim(B, 2, false, 1), { granted: true });
});

t.test('release: graceful handover', async (t) => {
  const { lease } = setup();
  lease.claim(A, 3, false, 0);
  t.match(lease.release(2, 3), { ok: false });
  t.match(lease.release(1, 2), { ok: false }, 'wrong epoch');
  t.same(lease.release(1, 3), { ok: true, notice: { linkId: 1, deposed: { epoch: 3, newEpoch: 3, newHolder: '', reason: 'Released' } } });
  t.match(lease.claim(B, 3, false, 1), { granted: false, code: 'StaleEpoch' }, 'the epoch stays burnt');
  t.match(lease.claim(B, 4, false, 1), { granted: true });
});

t.test('fencing: only the holder link under the current epoch', async (t) => {
  const { lease } = setup();
  t.match(lease.fence(1, 0), { ok: false, code: 'NotLeaseHolder' }, 'nobody holds it');
  lease.claim(A, 5, false, 0);
  t.same(lease.fence(1, 5), { ok: true });
  t.match(lease.fence(1, 4), { ok: false, code: 'StaleEpoch' });
  t.match(lease.fence(2, 5), { ok: false, code: 'NotLeaseHolder' });
  lease.claim(B, 6, true, 1);
  t.match(lease.fence(1, 5), { ok: false, code: 'NotLeaseHolder' }, 'the deposed holder');
  t.same(lease.fence(2, 6), { ok: true });
});

t.test('the holder may re-claim with a higher epoch without force', async (t) => {
  const { lease } = setup();
  lease.claim(A, 1, false, 0);
  t.match(lease.claim(A, 2, false, 1), { granted: true, notices: [] });
});

t.test('leaseNotice: every transition, as every link hears of it', async (t) => {
  const notices: unknown[] = [];
  const lease = new Lease(400, (x) => notices.push(leaseNotice(x)));
  lease.claim(A, 1, false, 0);
  lease.claim(B, 2, true, 10);
  lease.tick(500);
  lease.claim(A, 3, false, 600);
  lease.release(1, 3);
  lease.claim(B, 4, false, 700);
  lease.linkGone(2);
  t.same(notices, [
    { epoch: 1, holder: 'A', reason: 'Claimed', oldEpoch: 0, oldHolder: '' },
    { epoch: 2, holder: 'B', reason: 'Forced', oldEpoch: 1, oldHolder: 'A' },
    { epoch: 2, holder: '', reason: 'LeaseLapsed', oldEpoch: 2, oldHolder: 'B' },
    { epoch: 3, holder: 'A', reason: 'Claimed', oldEpoch: 2, oldHolder: '' },
    { epoch: 3, holder: '', reason: 'Released', oldEpoch: 3, oldHolder: 'A' },
    { epoch: 4, holder: 'B', reason: 'Claimed', oldEpoch: 3, oldHolder: '' },
    { epoch: 4, holder: '', reason: 'LinkGone', oldEpoch: 4, oldHolder: 'B' },
  ]);
});

import t from 'tap';
import { Lease } from '../../src/processes/switch/lease.js';
import { describeGateTransition, OverloadGate, type GateTransition } from '../../src/processes/switch/overload-gate.js';

const A = { linkId: 1, serverName: 'A' };
const B = { linkId: 2, serverName: 'B' };

function setup() {
  const log: string[] = [];
  const gate = new OverloadGate((x: GateTransition) => log.push(`${x.from} -> ${x.to} ${x.reason} ${x.oldPermille}->${x.newPermille} epoch ${x.epoch} "${x.holder}"${x.episode ? ` episode ${x.episode.gapped}/${x.episode.admitted} ${x.episode.ms} ms` : ''}`));
  const lease = new Lease(400);
  lease.claim(A, 1, false, 0);
  /** The pattern of the next n calls: '+' admitted, '-' Congestion. */
  const pattern = (n: number, now: number) => Array.from({ length: n }, () => (gate.admit(now).admit ? '+' : '-')).join('');
  return { gate, lease, log, pattern };
}

t.test('open admits every call; gapping admits exactly admitPermille of every 1,000 (credit, not random)', async (t) => {
  const { gate, lease, log, pattern } = setup();
  t.equal(pattern(5, 0), '+++++');
  t.same(gate.control({ epoch: 1, admitPermille: 250, validMs: 1000 }, lease.fence(1, 1), 'A', 10), { ok: true, admitPermille: 250 });
  t.equal(pattern(12, 20), '---+---+---+');
  t.equal(gate.gapped, 9);
  t.equal(gate.admittedWhileGapping, 3);
  // A new level keeps the credit: no burst and no extra refusal at the change.
  gate.admit(30); // credit 250
  gate.control({ epoch: 1, admitPermille: 500, validMs: 1000 }, lease.fence(1, 1), 'A', 40);
  t.equal(pattern(6, 50), '-+-+-+', 'credit 250 + 500 = 750: refused; 1250: admitted (250 left)…');
  t.equal(gate.admitPermille, 500);
  t.same(log, ['open -> gapping Set 1000->250 epoch 1 "A"', 'gapping -> gapping Level 250->500 epoch 1 "A"']);
});

t.test('a Congestion answer says why and what to do', async (t) => {
  const { gate, lease } = setup();
  gate.control({ epoch: 1, admitPermille: 0, validMs: 1000 }, lease.fence(1, 1), 'A', 0);
  const a = gate.admit(1);
  t.equal(a.admit, false);
  if (!a.admit) {
    t.equal(a.code, 'Congestion');
    t.match(a.message, /admits 0 of every 1,000 new inbound calls \(overload control from A, epoch 1\).*try again later/);
  }
});

t.test('the setting lapses validMs after it arrived unless renewed; renewals log nothing', async (t) => {
  const { gate, lease, log, pattern } = setup();
  gate.control({ epoch: 1, admitPermille: 0, validMs: 500 }, lease.fence(1, 1), 'A', 100);
  t.equal(pattern(2, 599), '--', 'still valid 1 ms before the end');
  gate.control({ epoch: 1, admitPermille: 0, validMs: 500 }, lease.fence(1, 1), 'A', 599); // renewal: until 1099
  t.equal(pattern(1, 1098), '-');
  gate.tick(1099);
  t.equal(gate.state.kind, 'open');
  t.equal(pattern(3, 1100), '+++');
  t.same(log, ['open -> gapping Set 1000->0 epoch 1 "A"', 'gapping -> open Expired 0->1000 epoch 1 "A" episode 3/0 999 ms']);
});

t.test('admitPermille 1000 clears gapping at once; on an open gate it is a no-op', async (t) => {
  const { gate, lease, log } = setup();
  t.same(gate.control({ epoch: 1, admitPermille: 1000, validMs: 500 }, lease.fence(1, 1), 'A', 0), { ok: true, admitPermille: 1000 });
  t.same(log, []);
  gate.control({ epoch: 1, admitPermille: 100, validMs: 500 }, lease.fence(1, 1), 'A', 0);
  gate.control({ epoch: 1, admitPermille: 1000, validMs: 500 }, lease.fence(1, 1), 'A', 10);
  t.equal(gate.state.kind, 'open');
  t.equal(log[1], 'gapping -> open Cleared 100->1000 epoch 1 "A" episode 0/0 10 ms');
});

t.test('fencing: only the lease holder under the current epoch; refused controls change nothing', async (t) => {
  const { gate, lease, log } = setup();
  t.match(gate.control({ epoch: 1, admitPermille: 0, validMs: 500 }, lease.fence(2, 1), 'B', 0), { ok: false, code: 'NotLeaseHolder', message: /OverloadControl refused: this link does not hold the lease/ });
  t.match(gate.control({ epoch: 2, admitPermille: 0, validMs: 500 }, lease.fence(1, 2), 'A', 0), { ok: false, code: 'StaleEpoch' });
  t.equal(gate.state.kind, 'open');
  // A deposed holder is refused too.
  gate.control({ epoch: 1, admitPermille: 0, validMs: 500 }, lease.fence(1, 1), 'A', 0);
  lease.claim(B, 2, true, 10);
  gate.leaseChanged(15);
  t.equal(gate.state.kind, 'open', 'a new lease holder starts at admit-all');
  t.match(gate.control({ epoch: 1, admitPermille: 0, validMs: 500 }, lease.fence(1, 1), 'A', 20), { ok: false, code: 'NotLeaseHolder' });
  t.equal(gate.state.kind, 'open');
  t.same(log, ['open -> gapping Set 1000->0 epoch 1 "A"', 'gapping -> open LeaseChanged 0->1000 epoch 1 "A" episode 0/0 15 ms']);
  gate.leaseChanged(30);
  t.equal(log.length, 2, 'a lease change on an open gate logs nothing');
});

t.test('bad values get BadOverloadControl and change nothing', async (t) => {
  const { gate, lease } = setup();
  const ok = lease.fence(1, 1);
  for (const [admitPermille, validMs] of [[1001, 500], [-1, 500], [0.5, 500], [500, 0], [500, 60_001], [500, Number.NaN]] as const) {
    const r = gate.control({ epoch: 1, admitPermille, validMs }, ok, 'A', 0);
    t.match(r, { ok: false, code: 'BadOverloadControl' }, `${admitPermille} / ${validMs}`);
  }
  t.equal(gate.state.kind, 'open');
  t.equal(gate.admitPermille, 1000);
});

t.test('one log line per transition says what changed and what the episode shed', async (t) => {
  const lines: string[] = [];
  const gate = new OverloadGate((x) => { const d = describeGateTransition(x); lines.push(`${d.level}: ${d.msg}`); });
  const lease = new Lease(400);
  lease.claim(A, 1, false, 0);
  gate.control({ epoch: 1, admitPermille: 500, validMs: 1000 }, lease.fence(1, 1), 'A', 0);
  for (let i = 0; i < 100; i++) gate.admit(1);
  gate.control({ epoch: 1, admitPermille: 800, validMs: 1000 }, lease.fence(1, 1), 'A', 2);
  gate.tick(2000);
  t.same(lines, [
    'warn: gapping on: admitting 500 of every 1,000 new inbound calls, the rest answered Congestion (overload control from A, epoch 1)',
    'info: gapping level 500 -> 800 per 1,000 new inbound calls (overload control from A, epoch 1)',
    'info: gapping off (not renewed in time): every new inbound call admitted again; this episode gapped 50 and admitted 50 calls in 2000 ms',
  ]);
});

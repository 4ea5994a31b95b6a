// Delta <-> wire, ack waiters, and pre-Hello classification (auth, garbage) without any socket.
import t from 'tap';
import type { Delta } from '../../src/core/api.js';
import { sy } from '../../src/wire/sync-proto.js';
import { sw } from '../../src/wire/switch-proto.js';
import { decodeBackupToPrimary, encodePrimary, syncServiceDefinition, EncodedFrame } from '../../src/wire/sync-service.js';
import { deltaFromWire, deltaToWire } from '../../src/adapters/sync/delta-codec.js';
import { AckWaiters } from '../../src/adapters/sync/ack-waiters.js';
import { classifyBeforeHello, secretMatches } from '../../src/adapters/sync/hello.js';

t.test('every delta op survives the wire', async (t) => {
  const deltas: Delta[] = [
    { op: 'put', coll: 'calls', key: 'c1', value: { connId: 'c1', parties: [{ dn: '5001', dnType: 'Extension', state: 'Connected' }], userData: { a: 1 } } },
    { op: 'del', coll: 'dedup', key: 'desk#7' },
    { op: 'counters', seq: 2 ** 40, connIdCounter: 12, appliedSwitchSeq: 99 },
    { op: 'journal', entry: { seq: 5, dn: '5001', event: { event: 'EventRinging' } as never } },
    { op: 'journalTrim', upToSeq: 3 },
  ];
  const bytes = encodePrimary({ deltaBatch: { firstOffset: 1, lastOffset: 5, deltas: deltas.map(deltaToWire) } });
  const back = sy.PrimaryToBackup.decode(bytes).deltaBatch!.deltas.map((w) => deltaFromWire(w as sy.Delta));
  t.same(back, deltas);
});

t.test('bad deltas are reported, never applied silently', async (t) => {
  t.throws(() => deltaFromWire(sy.Delta.decode(sy.Delta.encode({ op: sy.Op.PUT, coll: 42, key: 'k', value: Buffer.from('1') }).finish())), { code: 'BadDelta' });
  t.throws(() => deltaFromWire(sy.Delta.decode(sy.Delta.encode({ op: sy.Op.PUT, coll: sy.Collection.CALLS, key: 'k', value: Buffer.from('{nope') }).finish())), /not JSON/);
  t.throws(() => deltaFromWire(sy.Delta.decode(sy.Delta.encode({ op: 77 }).finish())), /unknown op 77/);
});

t.test('the service serializes pre-encoded frames as is and never throws on decode', async (t) => {
  const d = syncServiceDefinition.stream;
  const frame = new EncodedFrame(Buffer.from([1, 2, 3]));
  t.equal(d.responseSerialize(frame), frame.bytes, 'same buffer, not re-encoded');
  t.ok(Buffer.isBuffer(d.responseSerialize({ heartbeat: { sentMs: 1 } })));
  const bad = decodeBackupToPrimary(Buffer.from([0xff, 0xff, 0xff]));
  t.equal(bad.ok, false);
  t.equal(bad.bytes, 3);
});

t.test('AckWaiters: released in offset order, all at once when alone', async (t) => {
  const w = new AckWaiters();
  const done: number[] = [];
  for (const o of [5, 10, 7, 20]) void w.add(o, o).then(() => done.push(o));
  t.equal(w.oldestSince, 5);
  t.equal(w.releaseUpTo(9), 2);
  await Promise.resolve();
  t.same(done, [5, 7]);
  t.equal(w.releaseAll(), 2);
  await Promise.resolve();
  t.same(done, [5, 7, 10, 20]);
  t.equal(w.size, 0);
});

t.test('before Hello: heartbeat ignored, others NOT_HELLO, wrong secret UNAUTHORIZED and closed', async (t) => {
  const dec = (m: sy.BackupToPrimary.$Properties) => decodeBackupToPrimary(Buffer.from(sy.BackupToPrimary.encode(m).finish()));
  t.same(classifyBeforeHello(dec({ heartbeat: { sentMs: 1 } }), 's'), { kind: 'ignore' });
  t.match(classifyBeforeHello(dec({ ack: { offset: 1 } }), undefined), { kind: 'error', code: sy.ErrorCode.NOT_HELLO, close: false });
  t.match(classifyBeforeHello(dec({ hello: { serverName: 'B', secret: 'x' } }), 's'), { kind: 'error', code: sy.ErrorCode.UNAUTHORIZED, close: true });
  t.match(classifyBeforeHello(dec({ hello: { serverName: 'B', secret: 's' } }), 's'), { kind: 'hello', hello: { serverName: 'B' } });
  t.match(classifyBeforeHello(dec({ hello: { serverName: 'B' } }), undefined), { kind: 'hello' });
  t.match(classifyBeforeHello(decodeBackupToPrimary(Buffer.from([0xff])), undefined), { kind: 'error', code: sy.ErrorCode.BAD_MESSAGE });
  t.ok(secretMatches('', 'anything'), 'no secret configured: open');
  t.notOk(secretMatches('abc', 'abcd'));
});

t.test('sync and switch protobuf modules load side by side (separate pbjs roots)', async (t) => {
  const hb = sy.PrimaryToBackup.decode(encodePrimary({ heartbeat: { sentMs: 2 ** 41 } })).heartbeat!;
  t.equal(hb.sentMs, 2 ** 41, 'uint64 as number');
  const claim = sw.LinkUp.decode(sw.LinkUp.encode({ claim: { epoch: 3 } }).finish()).claim!;
  t.equal(claim.epoch, 3);
});

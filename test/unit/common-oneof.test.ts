// oneof(): the set member of a decoded protobuf oneof as {case, value}; nothing set (or a member a
// newer peer added) is case undefined, never a throw.
import t from 'tap';
import { oneof, unhandled } from '../../src/lib/oneof.js';
import { sw } from '../../src/wire/switch-proto.js';
import { sy } from '../../src/wire/sync-proto.js';

t.test('the set member, decoded with its defaults', async (t) => {
  const m = sw.LinkDown.decode(sw.LinkDown.encode({ welcome: { switchName: 'sw', epoch: 3 } }).finish());
  const c = oneof(m, 'msg');
  t.equal(c.case, 'welcome');
  t.match(c.value, { switchName: 'sw', epoch: 3, holder: '', leaseMs: 0 });
  const b = sy.PrimaryToBackup.decode(sy.PrimaryToBackup.encode({ deltaBatch: { firstOffset: 1, lastOffset: 1, deltas: [{ op: sy.Op.DEL, coll: 'calls', key: 'k' }] } }).finish());
  const d = oneof(b, 'msg');
  t.equal(d.case, 'deltaBatch');
  t.equal(d.case === 'deltaBatch' ? d.value.deltas[0]!.key : undefined, 'k', 'repeated submessages are decoded messages');
});

t.test('nothing set: case undefined', async (t) => {
  t.same(oneof(sw.LinkDown.decode(new Uint8Array()), 'msg'), { case: undefined });
  // Field 99 (length-delimited): what a newer switch's new message looks like to this build.
  t.same(oneof(sw.LinkDown.decode(Uint8Array.from([0x9a, 0x06, 0x00])), 'msg'), { case: undefined });
});

t.test('unhandled() throws if a case ever reaches it at run time', async (t) => {
  t.throws(() => unhandled({ case: 'fromTheFuture' } as never), /unhandled oneof case fromTheFuture/);
});

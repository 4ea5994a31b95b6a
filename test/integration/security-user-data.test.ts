// The total user data per call (tserver.maxCallUserDataBytes, default 64 KiB as JSON), with real
// processes: attaches that fit are accepted, the one that would go over is refused UserDataTooLarge
// with what to do, and nothing changes (no event, same data, same seq); deleting makes room again.
import t from 'tap';
import { openClient, startStack } from '../helpers/tserver-fixture.js';

const CHUNK = 'x'.repeat(20_000);

t.test('per-call user-data bound (default 64 KiB)', async (t) => {
  const { ts } = await startStack(t);
  const a = await openClient(t, ts.url, 'desk-a');
  await a.request('RequestRegisterAddress', { thisDN: '5001' });
  const watcher = await openClient(t, ts.url, 'desk-b');
  await watcher.request('RequestRegisterAddress', { thisDN: '5002' });
  const made = await a.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  const connId = made.connId!;
  await watcher.waitFor((e) => e.event === 'EventRinging' && e.connId === connId, 5_000, 'ringing at 5002');

  for (const k of ['a', 'b', 'c']) {
    t.match(await a.request('RequestAttachUserData', { thisDN: '5001', connId, userData: { [k]: CHUNK } }), { event: 'EventAttachedDataChanged' }, `${k}: ~${(3 * 20_000) / 1024 | 0} KiB in all fits`);
  }
  const seqBefore = (await ts.health()).seq;
  const changesAtB = () => watcher.events.filter((e) => e.event === 'EventAttachedDataChanged').length;
  await watcher.waitFor(() => changesAtB() === 3, 5_000, 'three changes at 5002');

  const over = await a.request('RequestAttachUserData', { thisDN: '5001', connId, userData: { d: CHUNK } });
  t.match(over, { event: 'EventError', errorCode: 'UserDataTooLarge', errorMessage: /would carry \d+ bytes of user data \(as JSON\), over the limit of 65536 \(tserver\.maxCallUserDataBytes\): delete keys with RequestDeleteUserData or attach less; nothing was changed/ });
  const after = await a.request('RequestQueryCall', { connId });
  t.same(Object.keys(after.userData ?? {}).sort(), ['a', 'b', 'c'], 'user data unchanged');
  t.equal((await ts.health()).seq, seqBefore, 'no state event');
  await ts.proc.waitFor((l) => l.msg === 'request rejected' && l.errorCode === 'UserDataTooLarge', 5_000, 'refusal logged');

  t.match(await a.request('RequestDeleteUserData', { thisDN: '5001', connId, keys: { a: true } }), { event: 'EventAttachedDataChanged' });
  t.match(await a.request('RequestAttachUserData', { thisDN: '5001', connId, userData: { d: CHUNK } }), { event: 'EventAttachedDataChanged' }, 'room again after a delete');
  await watcher.waitFor(() => changesAtB() >= 5, 5_000, 'the two later changes at 5002');
  t.equal(changesAtB(), 3 + 2, 'the refused attach was never fanned out');
  t.match(await ts.metrics(), /tandem_requests_total\{[^}]*outcome="UserDataTooLarge"[^}]*\} 1/);
});

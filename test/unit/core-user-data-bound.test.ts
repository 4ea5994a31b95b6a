// The per-call user-data bound (core.maxCallUserDataBytes, set from tserver.maxCallUserDataBytes): an
// attach or update that would take a call's user data over it is refused UserDataTooLarge before any
// delta, so the state is exactly as before; delete always works (it is the way out); a consultation
// call that would start over the bound is refused too.
import t from 'tap';
import { canonicalState } from '../../src/core/index.js';
import { userDataBytes } from '../../src/core/user-data.js';
import { Rig, answerOf } from '../helpers/core-rig.js';

const BOUND = 1_000;

function setup() {
  const rig = new Rig({ maxCallUserDataBytes: BOUND });
  const c = rig.answeredInbound('4155550100', '5001');
  return { rig, c };
}

t.test('attach up to the bound is accepted; one byte over is refused and changes nothing', async (t) => {
  const { rig, c } = setup();
  // {"a":"xxx…"} is 8 bytes of JSON around the value.
  const fits = rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { a: 'x'.repeat(BOUND - 8) } });
  t.equal(answerOf(fits, fits.referenceId)?.event, 'EventAttachedDataChanged');
  t.equal(userDataBytes(rig.state.calls.get(c)!.userData), BOUND, 'exactly at the bound');

  const before = canonicalState(rig.state);
  const over = rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { b: 1 } });
  const answer = over.replies.find((r) => r.event.referenceId === over.referenceId)?.event;
  t.match(answer, { event: 'EventError', errorCode: 'UserDataTooLarge', errorMessage: /over the limit of 1000 \(tserver\.maxCallUserDataBytes\): delete keys with RequestDeleteUserData/ });
  t.same(over.events, [], 'no event');
  t.same(over.deltas, [], 'no delta');
  t.equal(canonicalState(rig.state), before, 'state unchanged');
});

t.test('update measured after the merge: replacing a big key with a small one fits', async (t) => {
  const { rig, c } = setup();
  rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { a: 'x'.repeat(900) } });
  const grow = rig.req('d1', { request: 'RequestUpdateUserData', thisDN: '5001', connId: c, userData: { b: 'y'.repeat(200) } });
  t.match(grow.replies.find((r) => r.event.referenceId === grow.referenceId)?.event, { errorCode: 'UserDataTooLarge' });
  const swap = rig.req('d1', { request: 'RequestUpdateUserData', thisDN: '5001', connId: c, userData: { a: 'small', b: 'y'.repeat(200) } });
  t.equal(answerOf(swap, swap.referenceId)?.event, 'EventAttachedDataChanged', 'the total is what counts');
});

t.test('delete is never refused, even when the call is over the bound (e.g. after the bound was lowered)', async (t) => {
  const rig = new Rig({ maxCallUserDataBytes: 0 });
  const c = rig.answeredInbound('4155550100', '5001');
  rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { a: 'x'.repeat(5_000), b: 1 } });
  (rig.config as { maxCallUserDataBytes?: number }).maxCallUserDataBytes = BOUND;
  const del = rig.req('d1', { request: 'RequestDeleteUserData', thisDN: '5001', connId: c, keys: ['b'] });
  t.equal(answerOf(del, del.referenceId)?.event, 'EventAttachedDataChanged');
  const delBig = rig.req('d1', { request: 'RequestDeleteUserData', thisDN: '5001', connId: c, keys: ['a'] });
  t.equal(answerOf(delBig, delBig.referenceId)?.event, 'EventAttachedDataChanged');
  t.same(rig.state.calls.get(c)!.userData, {});
});

t.test('a consultation call that would start over the bound is refused before the switch is asked', async (t) => {
  const { rig, c } = setup();
  rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { a: 'x'.repeat(800) } });
  const init = rig.req('d1', { request: 'RequestInitiateTransfer', thisDN: '5001', connId: c, otherDN: '5002', userData: { b: 'y'.repeat(300) } });
  t.match(init.replies.find((r) => r.event.referenceId === init.referenceId)?.event, { errorCode: 'UserDataTooLarge', errorMessage: /consultation/ });
  t.same(init.commands, [], 'no switch command');
  const ok = rig.req('d1', { request: 'RequestInitiateTransfer', thisDN: '5001', connId: c, otherDN: '5002', userData: { b: 'y' } });
  t.equal(answerOf(ok, ok.referenceId)?.event, 'EventHeld');
});

t.test('no bound configured (0 or absent): any total is accepted', async (t) => {
  const rig = new Rig();
  const c = rig.answeredInbound('4155550100', '5001');
  for (let i = 0; i < 5; i++) {
    const r = rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { [`k${i}`]: 'x'.repeat(30_000) } });
    t.equal(answerOf(r, r.referenceId)?.event, 'EventAttachedDataChanged');
  }
});

// PROTOCOL.md: `time` (ISO-8601) on every event. State events get it when journalled; replies (the
// core's EventACK, EventError, EventRegistered, EventAddressInfo, EventPartyInfo, a command's late
// answer) get it in Tx.reply, the one place replies are made. A retry gets the stored answer with
// the time it was first sent with.
import t from 'tap';
import { Rig } from '../helpers/core-rig.js';

const iso = (ms: number) => new Date(ms).toISOString();

t.test('every reply and state event the core emits carries the time of its input', async (t) => {
  const rig = new Rig();
  const start = rig.now;
  rig.req('d1', { request: 'RequestRegisterAddress', thisDN: '5001' });
  rig.req('d1', { request: 'RequestQueryAddress', thisDN: '5001' });
  rig.req('d1', { request: 'RequestQueryCall', connId: '00000000000000ff' });
  rig.req('d1', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000' });
  rig.req('d1', { request: 'RequestUnregisterAddress', thisDN: '5009' });
  const c = rig.connIdOf(rig.inbound('4155550100', '5001').callId);
  rig.req('d1', { request: 'RequestAnswerCall', thisDN: '5001', connId: c });
  rig.req('d1', { request: 'RequestQueryCall', connId: c });
  rig.req('d1', { request: 'RequestAttachUserData', thisDN: '5001', connId: c, userData: { k: 'v' } });
  rig.req('d1', { request: 'RequestUnregisterAddress', thisDN: '5001' });
  const kinds = new Set(rig.all.replies.map((r) => r.event.event));
  for (const k of ['EventRegistered', 'EventAddressInfo', 'EventError', 'EventPartyInfo', 'EventUnregistered']) t.ok(kinds.has(k as never), `${k} among the replies`);
  const missing = [...rig.all.replies.map((r) => r.event), ...rig.all.events.map((e) => e.event)].filter((e) => e.time !== iso(start));
  t.same(missing.map((e) => e.event), [], 'each carries the ISO time of its input');
});

t.test('an ACK stored for a retry keeps the time it was first sent with', async (t) => {
  const rig = new Rig();
  rig.autoRun = false;
  rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 4 });
  const first = rig.feed({ kind: 'commandResult', result: { commandId: 'd#4', ok: true } }).replies[0]!.event;
  t.equal(first.time, iso(rig.now));
  rig.now += 5_000;
  const retry = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', referenceId: 4 });
  t.same(retry.replies.map((r) => r.event), [first], 'the stored answer, time included');
});

// Commands the SIP switch reports only after their SIP exchange (sip-commands.ts), message by message
// on a fake port: nothing reported while it runs, the simulator's events and the result when it
// succeeds, and on a refusal or a timeout an InvalidState result, no event, and the SIP side undone.
import t from 'tap';
import { sw } from '../../src/wire/switch-proto.js';
import { COMMAND_TIMEOUT_MS } from '../../src/processes/switch/sip/pending-commands.js';
import { header, responseTo } from '../../src/processes/switch/sip/message.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { E, line, sdp, sipModelRig, tick, types } from '../helpers/sip-model-rig.js';

function rig() {
  const clock = new ManualClock();
  const r = sipModelRig(clock);
  for (const [dn, p] of [['5001', 6001], ['5002', 6002], ['5003', 6003]] as const) r.registerPhone(dn, p);
  r.published.length = 0;
  const { sent, published, done, model } = r;
  /** The endpoint's responses to request `i`. */
  const to = (i: number) => {
    const s = sent[i]!;
    const extra = (body: string) => [{ name: 'contact', value: `<sip:phone@${s.to.address}:${s.to.port}>` }, ...(body ? [{ name: 'content-type', value: 'application/sdp' }] : [])];
    return {
      ring: () => s.cb!.provisional?.(responseTo(s.req, 180, 'Ringing', `tag${i}`, [...extra(''), { name: 'allow-events', value: 'talk' }])),
      final: (status: number, reason = 'OK', body = '', tag = `tag${i}`) => s.cb!.final(responseTo(s.req, status, reason, tag, extra(body), body)),
    };
  };
  const lines = (from: number) => sent.slice(from).map(line);
  /** 5001 calls 5002 and 5002 answers: the call id; every message of it is in `sent` (0..5). */
  const established = async () => {
    model.command({ commandId: 'mk', makeCall: { dn: '5001', to: '5002' } }, 0);
    to(0).final(200, 'OK', sdp('A'));
    to(2).final(200, 'OK', sdp('B'));
    await tick();
    to(3).final(200, 'OK', sdp('A2'), 'tag0');
    await tick();
    const o = done[0]![1];
    published.length = 0;
    done.length = 0;
    return o.ok ? o.callId : '';
  };
  return { clock, sent, published, done, model, to, lines, established };
}

t.test("make call: the agent's phone answers 486: the command fails, no event, no call", async (t) => {
  const r = rig();
  t.same(r.model.command({ commandId: 'c1', makeCall: { dn: '5001', to: '5002' } }, 0), { pending: true });
  r.to(0).final(486, 'Busy Here');
  t.match(r.done, [['c1', { ok: false, error: { code: 'InvalidState', message: "make call 5001 -> 5002 failed: 5001's phone answered 486 Busy Here: no call was made" } }]]);
  t.same(r.published, [], 'no event');
  t.same(r.lines(1), [], 'the callee is never invited');
  t.same(r.model.snapshotCalls(), []);
  t.equal(r.model.legs.size, 0);
});

t.test("make call: no answer within the command timeout: CANCEL, the command fails", async (t) => {
  const r = rig();
  r.model.command({ commandId: 'c1', makeCall: { dn: '5001', to: '5002' } }, 0);
  r.to(0).ring();
  r.clock.advance(COMMAND_TIMEOUT_MS - 1);
  t.same(r.done, []);
  r.clock.advance(1);
  t.match(r.done, [['c1', { ok: false, error: { message: /5001's phone did not answer the make-call INVITE within 8000 ms .*answer-after=0.*: no call was made/ } }]]);
  t.same(r.lines(1), ['CANCEL 6001']);
  t.same(r.published, []);
});

t.test('hold: one leg refuses 488: the other is re-offered sendrecv, the command fails, no HELD', async (t) => {
  const r = rig();
  const callId = await r.established();
  const from = r.sent.length;
  t.same(r.model.command({ commandId: 'h1', hold: { callId, dn: '5001' } }, 0), { pending: true });
  await tick();
  t.same(r.lines(from), ['INVITE 6001 sdp:sendonly', 'INVITE 6002 sdp:sendonly']);
  t.match(r.model.command({ commandId: 'x', retrieve: { callId, dn: '5001' } }, 0), { ok: false, error: { code: 'InvalidState', message: /hold of 5001 on call s1 is still waiting for SIP/ } }, 'a second command on the call waits');
  r.to(from).final(488, 'Not Acceptable Here');
  r.to(from + 1).final(200, 'OK', sdp('B', 'recvonly'), 'tag2');
  await tick();
  await tick();
  t.match(r.done, [['h1', { ok: false, error: { code: 'InvalidState', message: "hold of 5001 on call s1 failed: 5001's phone answered 488 Not Acceptable Here to the re-INVITE (sendonly): the call stays Established" } }]]);
  t.same(r.published, [], 'no HELD');
  t.same(r.lines(from + 2), ['ACK 6002', 'INVITE 6002 sdp:sendrecv'], 'the leg that accepted is re-offered sendrecv');
  t.equal(r.model.pbx.partyState(callId, '5001'), sw.ConnectionState.CONNECTED);
});

t.test('hold: no answer within the timeout fails it; a late 200 is undone', async (t) => {
  const r = rig();
  const callId = await r.established();
  const from = r.sent.length;
  r.model.command({ commandId: 'h1', hold: { callId, dn: '5001' } }, 0);
  await tick();
  r.to(from + 1).final(200, 'OK', sdp('B', 'recvonly'), 'tag2');
  r.clock.advance(COMMAND_TIMEOUT_MS);
  t.match(r.done, [['h1', { ok: false, error: { message: /no answer to the re-INVITE \(sendonly\) within 8000 ms: the call stays Established/ } }]]);
  r.to(from).final(200, 'OK', sdp('A', 'recvonly'), 'tag0');
  await tick();
  await tick();
  t.same(r.lines(from + 2).sort(), ['ACK 6001', 'ACK 6002', 'INVITE 6001 sdp:sendrecv', 'INVITE 6002 sdp:sendrecv'].sort(), 'both legs re-offered sendrecv');
  t.same(r.published, []);
  t.equal(r.done.length, 1);
});

t.test('retrieve succeeds only when both legs accepted sendrecv', async (t) => {
  const r = rig();
  const callId = await r.established();
  let from = r.sent.length;
  r.model.command({ commandId: 'h1', hold: { callId, dn: '5001' } }, 0);
  await tick();
  r.to(from).final(200, 'OK', sdp('A', 'recvonly'), 'tag0');
  r.to(from + 1).final(200, 'OK', sdp('B', 'recvonly'), 'tag2');
  await tick();
  from = r.sent.length;
  t.same(r.model.command({ commandId: 'r1', retrieve: { callId, dn: '5001' } }, 0), { pending: true });
  await tick();
  t.same(r.lines(from), ['INVITE 6001 sdp:sendrecv', 'INVITE 6002 sdp:sendrecv']);
  r.to(from).final(200, 'OK', sdp('A'), 'tag0');
  await tick();
  t.same(types(r.published), [[E.HELD, '5001']], 'not yet');
  r.to(from + 1).final(200, 'OK', sdp('B'), 'tag2');
  await tick();
  t.same(types(r.published), [[E.HELD, '5001'], [E.RETRIEVED, '5001']]);
  t.match(r.done, [['h1', { ok: true }], ['r1', { ok: true }]]);
});

t.test('single-step transfer: reported at the target\'s 180; a 486 instead fails it and the agent keeps the call', async (t) => {
  const r = rig();
  const callId = await r.established();
  let from = r.sent.length;
  t.same(r.model.command({ commandId: 's1', singleStepTransfer: { callId, dn: '5001', to: '5003' } }, 0), { pending: true });
  t.same(r.lines(from), ['INVITE 6003'], 'the target is invited first, offerless');
  r.to(from).final(486, 'Busy Here');
  t.match(r.done, [['s1', { ok: false, error: { message: "single-step transfer of call s1 from 5001 to 5003 failed: 5003's phone answered 486 Busy Here: 5001 keeps the call" } }]]);
  t.same(r.published, []);
  t.same(r.lines(from + 1), [], 'no BYE to the agent');
  t.equal(r.model.pbx.partyState(callId, '5001'), sw.ConnectionState.CONNECTED);

  from = r.sent.length;
  r.model.command({ commandId: 's2', singleStepTransfer: { callId, dn: '5001', to: '5003' } }, 0);
  r.to(from).ring();
  await tick();
  t.same(types(r.published), [[E.TRANSFERRED, '5001'], [E.DELIVERED, '5003']], 'at its 180');
  t.match(r.done[1], ['s2', { ok: true }]);
  t.same(r.lines(from + 1), ['BYE 6001'], 'then the agent leaves');
  r.to(from).final(200, 'OK', sdp('C'));
  await tick();
  t.same(r.lines(from + 2), ['INVITE 6002 sdp:sendrecv'], "the target's offer goes to the caller");
  t.equal(header(r.sent[from + 2]!.req, 'call-id'), header(r.sent[2]!.req, 'call-id'), "in the caller's dialog");
});

t.test("consultation: the agent's phone refuses the new INVITE: the hold is undone, the command fails, no event", async (t) => {
  const r = rig();
  const callId = await r.established();
  const from = r.sent.length;
  t.same(r.model.command({ commandId: 'k1', consultationCall: { callId, dn: '5001', to: '5003' } }, 0), { pending: true });
  await tick();
  t.same(r.lines(from), ['INVITE 6001 sdp:sendonly', 'INVITE 6002 sdp:sendonly'], 'the hold first');
  r.to(from).final(200, 'OK', sdp('A', 'recvonly'), 'tag0');
  r.to(from + 1).final(200, 'OK', sdp('B', 'recvonly'), 'tag2');
  await tick();
  t.same(r.lines(from + 2), ['ACK 6001', 'ACK 6002', 'INVITE 6001'], "then the agent's phone, offerless, on a new dialog");
  t.match(header(r.sent[from + 4]!.req, 'call-info'), /answer-after=0/);
  t.same(r.published, [], 'nothing reported yet');
  r.to(from + 4).final(486, 'Busy Here');
  await tick();
  t.match(r.done, [['k1', { ok: false, error: { message: "consultation from 5001 to 5003 failed: 5001's phone answered 486 Busy Here: call s1 stays Established" } }]]);
  t.same(r.lines(from + 5).sort(), ['INVITE 6001 sdp:sendrecv', 'INVITE 6002 sdp:sendrecv'], 'both legs re-offered sendrecv');
  t.same(r.published, [], 'no HELD, no ORIGINATED');
  t.equal(r.model.pbx.partyState(callId, '5001'), sw.ConnectionState.CONNECTED);
});

t.test('transfer: the target refuses the re-bridge offer: the caller keeps its held media, the command fails, no TRANSFERRED', async (t) => {
  const r = rig();
  const held = await r.established();
  let from = r.sent.length;
  r.model.command({ commandId: 'k1', consultationCall: { callId: held, dn: '5001', to: '5003' } }, 0);
  await tick();
  r.to(from).final(200, 'OK', sdp('A', 'recvonly'), 'tag0');
  r.to(from + 1).final(200, 'OK', sdp('B', 'recvonly'), 'tag2');
  await tick();
  r.to(from + 4).final(200, 'OK', sdp('A3'));
  const consult = r.done[0]![1];
  const active = consult.ok ? consult.callId : '';
  t.same(types(r.published), [[E.HELD, '5001'], [E.ORIGINATED, '5001'], [E.DELIVERED, '5003']], "reported at the agent's phone's 200");
  r.to(from + 6).final(200, 'OK', sdp('C')); // 5003 answers (offerless INVITE): its offer goes to 5001's new dialog
  await tick();
  r.to(from + 7).final(200, 'OK', sdp('A4'), `tag${from + 4}`);
  await tick();
  r.published.length = 0;
  r.done.length = 0;
  from = r.sent.length;
  t.same(r.model.command({ commandId: 't1', transfer: { heldCallId: held, activeCallId: active, dn: '5001' } }, 0), { pending: true });
  await tick();
  t.same(r.lines(from), ['INVITE 6002'], 'an offerless re-INVITE to the caller (5002 here)');
  r.to(from).final(200, 'OK', sdp('B', 'sendrecv'), 'tag2');
  await tick();
  t.same(r.lines(from + 1), ['INVITE 6003 sdp:sendrecv'], "the caller's offer to the target");
  r.to(from + 1).final(488, 'Not Acceptable Here', '', `tag${from - 2}`);
  await tick();
  t.same(r.lines(from + 2), ['ACK 6002 sdp:sendonly'], 'the caller is answered with the held media it had');
  t.match(r.done, [['t1', { ok: false, error: { message: "transfer of call s1 from 5001 to 5003 failed: 5003's phone answered 488 Not Acceptable Here to the re-INVITE that re-bridges the call: 5001 keeps both calls (s1 held, s2 established)" } }]]);
  t.same(r.published, [], 'no TRANSFERRED');
  t.equal(r.model.pbx.partyState(held, '5001'), sw.ConnectionState.HELD);
});

// The SIP call model without sockets: a fake port records every request the B2BUA sends and lets the
// test answer it; the exact message sequences of RFC 3725 make call, an inbound call passing the
// caller's offer to the phone, hold, release; the registrar and digest on their own.
import t from 'tap';
import { sw } from '../../src/wire/switch-proto.js';
import { DialPlan } from '../../src/processes/switch/dial-plan.js';
import type { PbxOutcome } from '../../src/processes/switch/pbx.js';
import { sipConfigFromJson } from '../../src/processes/switch/sip/config.js';
import { ANSWER_TIMEOUT_MS, SipCallModel } from '../../src/processes/switch/sip/sip-call-model.js';
import { header, parseMessage, responseTo, type SipRequest } from '../../src/processes/switch/sip/message.js';
import type { Flow } from '../../src/processes/switch/sip/transport.js';
import type { ServerTransaction } from '../../src/processes/switch/sip/transactions.js';
import { Leg } from '../../src/processes/switch/sip/leg.js';
import type { SipResponse } from '../../src/processes/switch/sip/message.js';
import { Registrar } from '../../src/processes/switch/sip/registrar.js';
import { authorize, DigestAuth } from '../../src/processes/switch/sip/digest.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { E, line, sdp, sipModelRig, tick, types } from '../helpers/sip-model-rig.js';

function rig(clock?: ManualClock) {
  const r = sipModelRig(clock);
  const { sent } = r;
  /** The endpoint answers the request `i` sent: a provisional then a final with `body`. */
  const answer = (i: number, status: number, body = '', tag = `tag${i}`) => {
    const s = sent[i]!;
    const extra = [{ name: 'contact', value: `<sip:phone@${s.to.address}:${s.to.port}>` }, ...(body ? [{ name: 'content-type', value: 'application/sdp' }] : [])];
    if (s.req.method === 'INVITE' && !header(s.req, 'to')!.includes('tag=')) s.cb!.provisional?.(responseTo(s.req, 180, 'Ringing', tag, [...extra, { name: 'allow-events', value: 'talk' }]));
    s.cb!.final(responseTo(s.req, status, 'OK', tag, extra, body));
  };
  return { ...r, answer, line };
}

t.test('make call 5001 -> 5002 is RFC 3725 third-party call control, message by message', async (t) => {
  const r = rig();
  t.same(r.registerPhone('5001', 6001).change, { dn: '5001', inService: true, why: 'registered from UDP 10.0.0.9:6001' });
  r.registerPhone('5002', 6002);
  t.same(r.published.map((e) => [e.type, e.dn]), [[E.DN_BACK_IN_SERVICE, '5001'], [E.DN_BACK_IN_SERVICE, '5002']]);
  r.published.length = 0;

  t.same(r.model.command({ commandId: 'c1', makeCall: { dn: '5001', to: '5002' } }, 0), { pending: true }, "pending until the agent's phone answers");
  t.same(r.sent.map(r.line), ['INVITE 6001'], "the agent's own phone first, and only it");
  t.equal(r.sent[0]!.req.body, '', 'without an offer');
  t.match(header(r.sent[0]!.req, 'call-info'), /answer-after=0/, 'with the auto-answer hint');
  t.same(r.published, [], 'nothing reported before it answers');

  r.answer(0, 200, sdp('A'));
  t.same(r.sent.map(r.line), ['INVITE 6001', 'ACK 6001 sdp:inactive', 'INVITE 6002'], 'A parked with an inactive answer, then the callee, offerless');
  t.same(types(r.published), [[E.ORIGINATED, '5001'], [E.DELIVERED, '5002']], "the simulator's events, at 5001's 200 OK");
  t.match(r.done, [['c1', { ok: true }]], 'and the result');
  const o = r.done[0]![1];
  r.published.length = 0;
  r.answer(2, 200, sdp('B'));
  await new Promise((res) => setImmediate(res)); // the re-INVITE waits its turn on A's dialog (a microtask)
  t.same(r.sent.slice(3).map(r.line), ['INVITE 6001 sdp:sendrecv'], "B's offer goes to A in a re-INVITE");
  t.match(r.sent[3]!.req.body, /c=IN IP4 10\.0\.0\.1\r\n/, 'it is B\'s media');
  t.match(r.sent[3]!.req.body, /o=tandem \d+ 2 /, "with A's leg's own o= line, version 2");
  r.answer(3, 200, sdp('A2'));
  await new Promise((res) => setImmediate(res));
  t.same(r.sent.slice(4).map(r.line), ['ACK 6001', 'ACK 6002 sdp:sendrecv'], "A's answer goes to B in B's ACK");
  t.same(r.published.map((e) => [e.type, e.dn]), [[E.ESTABLISHED, '5002']], "B's 200 is reported as ESTABLISHED");

  t.same(r.model.command({ commandId: 'c2', hold: { callId: o.ok ? o.callId : '', dn: '5001' } }, 0), { pending: true });
  await new Promise((res) => setImmediate(res));
  t.same(r.sent.slice(6).map(r.line), ['INVITE 6001 sdp:sendonly', 'INVITE 6002 sdp:sendonly'], 'hold: both legs re-offered sendonly');
  r.answer(6, 200, sdp('A', 'recvonly'), 'tag0');
  t.equal(r.done.length, 1, 'one 200 is not enough');
  r.answer(7, 200, sdp('B', 'recvonly'), 'tag2');
  await new Promise((res) => setImmediate(res));
  t.same(types(r.published.slice(1)), [[E.HELD, '5001']], 'HELD once both legs accepted');
  t.match(r.done[1], ['c2', { ok: true }]);
  const rel = run(r.model, { commandId: 'c3', clearConnection: { callId: o.ok ? o.callId : '', dn: '5001' } }, 0);
  t.same(rel.ok && rel.events.map((e) => [e.type, e.dn]), [[E.CONNECTION_CLEARED, '5001'], [E.CONNECTION_CLEARED, '5002']]);
  await new Promise((res) => setImmediate(res)); // a BYE waits behind any exchange on its dialog
  t.same(r.sent.slice(10).map(r.line), ['BYE 6001', 'BYE 6002'], 'release: BYE on both legs');
  t.equal(r.model.legs.size, 0);
});

t.test('a release during a re-INVITE: the 200 is ACKed first, then BYE', async (t) => {
  const r = rig();
  r.registerPhone('5001', 6001);
  r.registerPhone('5002', 6002);
  r.model.command({ commandId: 'c1', makeCall: { dn: '5001', to: '5002' } }, 0);
  r.answer(0, 200, sdp('A'));
  const o = r.done[0]![1];
  const callId = o.ok ? o.callId : '';
  r.answer(2, 200, sdp('B'));
  await new Promise((res) => setImmediate(res));
  r.answer(3, 200, sdp('A2'));
  await new Promise((res) => setImmediate(res));
  r.model.command({ commandId: 'c2', hold: { callId, dn: '5001' } }, 0);
  await new Promise((res) => setImmediate(res));
  t.same(r.sent.slice(6).map(r.line), ['INVITE 6001 sdp:sendonly', 'INVITE 6002 sdp:sendonly']);
  run(r.model, { commandId: 'c3', clearConnection: { callId, dn: '5001' } }, 0);
  await new Promise((res) => setImmediate(res));
  t.same(r.sent.slice(8).map(r.line), [], 'no BYE while the hold re-INVITEs are unanswered');
  r.answer(6, 200, sdp('A', 'recvonly'), 'tag0');
  r.answer(7, 200, sdp('B', 'recvonly'), 'tag2');
  await new Promise((res) => setImmediate(res));
  t.same(r.sent.slice(8).map(r.line), ['ACK 6001', 'ACK 6002', 'BYE 6001', 'BYE 6002'], 'each 200 ACKed, then BYE on that dialog');
  t.match(r.done[1], ['c2', { ok: false, error: { code: 'InvalidState', message: /hold of 5001 on call s1 failed: 5001's phone was released/ } }], 'the hold fails: released first');
  t.notOk(r.published.some((e) => e.type === E.HELD), 'never HELD');
});

t.test('commands SIP cannot carry are refused before anything changes', async (t) => {
  const r = rig();
  const refused = run(r.model, { commandId: 'c1', makeCall: { dn: '5001', to: '5002' } }, 0);
  t.match(refused, { ok: false, error: { code: 'InvalidState', message: /5001 is out of service \(no phone registered\)/ } });
  r.registerPhone('5001', 6001);
  t.match(run(r.model, { commandId: 'c2', makeCall: { dn: '5001', to: '94155550100' } }, 0), { ok: false, error: { message: /no outbound trunk is configured/ } });
  t.match(run(r.model, { commandId: 'c3', conference: { heldCallId: 's1', activeCallId: 's2', dn: '5001' } }, 0), { ok: false, error: { code: 'BadCommand', message: /media mixer/ } });
  t.match(r.model.inboundCall(), { ok: false, error: { message: /SIP trunks, not Simulate/ } });
  t.equal(r.sent.length, 0, 'nothing was sent');
  t.same(r.model.snapshotCalls(), []);
  t.same(r.model.devices().filter((d) => d.outOfService).length, 999, 'every extension but 5001 is out of service');
});

t.test('registrar: expiry, unregister, another contact, limits', async (t) => {
  const plan = new DialPlan();
  const reg = new Registrar(plan, sipConfigFromJson({ minExpires: 10, maxExpires: 100 }));
  const req = (contact: string, expires: string) => parseMessage(`REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:5001@h>;tag=1\r\nTo: <sip:5001@h>\r\nCall-ID: r\r\nCSeq: 1 REGISTER\r\nContact: ${contact}\r\nExpires: ${expires}\r\n\r\n`) as SipRequest;
  const from: Flow = { protocol: 'UDP', address: '10.0.0.9', port: 6001 };
  t.match(reg.register(req('<sip:5001@10.0.0.9:6001>', '5'), from, 0), { reply: { status: 423, headers: [{ name: 'min-expires', value: '10' }] } });
  t.match(reg.register(req('<sip:5001@10.0.0.9:6001>', '3600'), from, 0), { reply: { status: 200, headers: [{ value: '<sip:5001@10.0.0.9:6001>;expires=100' }] }, change: { inService: true } }, 'capped at maxExpires');
  t.notOk(reg.register(req('<sip:5001@10.0.0.9:6001>', '100'), from, 50_000).change, 'a refresh changes no service state');
  t.notOk(reg.register(req('<sip:5001@10.0.0.8:7000>', '0'), from, 60_000).change, "Expires 0 for another phone's contact leaves the binding");
  t.same(reg.expire(149_999), []);
  t.same(reg.expire(150_000), [{ dn: '5001', inService: false, why: 'registration expired' }]);
  reg.register(req('<sip:5001@10.0.0.9:6001>', '60'), from, 200_000);
  t.match(reg.register(req('*', '0'), from, 200_001), { reply: { status: 200 }, change: { inService: false } }, 'Contact: * with Expires 0');
  t.match(reg.register(req('<tel:5001>', '60'), from, 0), { reply: { status: 400 } });
});

t.test('digest: challenge, the right answer, a wrong password, a foreign nonce, a stale one', async (t) => {
  const auth = new DigestAuth('tandem');
  const ch = auth.challenge(1_000);
  const ok = authorize(ch, 'REGISTER', 'sip:h', '5001', 'pw');
  t.same(auth.verify(ok, 'REGISTER', '5001', 'pw', 2_000), { ok: true });
  t.match(auth.verify(authorize(ch, 'REGISTER', 'sip:h', '5001', 'wrong'), 'REGISTER', '5001', 'pw', 2_000), { ok: false, why: /wrong password/ });
  t.match(auth.verify(authorize(new DigestAuth('tandem').challenge(1_000), 'REGISTER', 'sip:h', '5001', 'pw'), 'REGISTER', '5001', 'pw', 2_000), { ok: false, why: /not issued by this switch/ });
  t.match(auth.verify(ok, 'REGISTER', '5001', 'pw', 1_000 + 300_001), { ok: false, stale: true });
  t.match(auth.verify(authorize(ch, 'REGISTER', 'sip:h', '5002', 'pw'), 'REGISTER', '5001', 'pw', 2_000), { ok: false, why: /not the registering DN/ });
});

/** A trunk caller's INVITE with its offer, as the request router takes it; `responses` collects what the caller gets. */
function inboundCall(r: ReturnType<typeof rig>, ani: string, dn: string) {
  const req = parseMessage(`INVITE sip:${dn}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5070;branch=z9hG4bKcaller\r\nFrom: <sip:${ani}@10.0.0.7>;tag=c1\r\nTo: <sip:${dn}@127.0.0.1>\r\nCall-ID: caller-1\r\nCSeq: 1 INVITE\r\nContact: <sip:${ani}@10.0.0.7:5070>\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp('C').length}\r\n\r\n${sdp('C')}`) as SipRequest;
  const responses: SipResponse[] = [];
  const tx = { req, from: { protocol: 'UDP', address: '10.0.0.7', port: 5070 }, get last() { return responses.at(-1); }, respond: (res: SipResponse) => { responses.push(res); } } as unknown as ServerTransaction;
  const o = r.model.pbx.inboundCall(ani, dn, Date.now());
  if (!o.ok) throw new Error(o.error.message);
  const leg = new Leg(o.callId, ani, 'trunk', 'uas', 'caller-1', `sip:${dn}@127.0.0.1`, `sip:${ani}@10.0.0.7`, `sip:${ani}@10.0.0.7:5070`, { protocol: 'UDP', address: '10.0.0.7', port: 5070 });
  leg.remoteTag = 'c1';
  leg.remoteSdp = req.body;
  leg.inviteTx = tx;
  r.model.legs.add(leg);
  r.model.emit(o, 'inbound call');
  return { callId: o.callId, leg, responses };
}

/** The phone's responses to request `i`: 180 (with or without Allow-Events: talk), a final. */
function phone(r: ReturnType<typeof rig>, i: number) {
  const s = r.sent[i]!;
  const extra = [{ name: 'contact', value: `<sip:phone@${s.to.address}:${s.to.port}>` }];
  return {
    ring: (talk = true) => s.cb!.provisional?.(responseTo(s.req, 180, 'Ringing', `tag${i}`, [...extra, ...(talk ? [{ name: 'allow-events', value: 'talk' }] : [])])),
    final: (status: number, reason = 'OK', body = '') => s.cb!.final(responseTo(s.req, status, reason, `tag${i}`, [...extra, ...(body ? [{ name: 'content-type', value: 'application/sdp' }] : [])], body)),
  };
}

/** A command that completes at once (every one but a remote answer). */
function run(model: SipCallModel, cmd: sw.ICommand, now: number): PbxOutcome {
  const o = model.command(cmd, now);
  if ('pending' in o) throw new Error(`command ${cmd.commandId} is pending`);
  return o;
}


t.test('remote answer (issue 13): NOTIFY talk, ESTABLISHED and the result only at the phone\'s 200 OK', async (t) => {
  const r = rig();
  r.registerPhone('5002', 6002);
  r.published.length = 0;
  const call = inboundCall(r, '4155550100', '5002');
  t.same(r.sent.map(r.line), ['INVITE 6002 sdp:sendrecv'], "the phone rings with the caller's offer");
  phone(r, 0).ring();
  t.same(call.responses.map((x) => x.status), [180], 'the caller hears ringback');
  t.same(types(r.published), [[E.DELIVERED, '5002']]);

  const o = r.model.command({ commandId: 'a1', answer: { callId: call.callId, dn: '5002' } }, Date.now());
  t.same(o, { pending: true }, 'the command is pending: no result yet');
  t.same(r.sent.slice(1).map(r.line), ['NOTIFY 6002'], 'NOTIFY talk to the ringing phone');
  t.equal(header(r.sent[1]!.req, 'event'), 'talk');
  t.match(r.model.command({ commandId: 'a2', answer: { callId: call.callId, dn: '5002' } }, Date.now()), { ok: false, error: { code: 'InvalidState', message: /already being answered/ } }, 'a second answer meanwhile is refused');
  phone(r, 1).final(200);
  await tick();
  t.same(types(r.published), [[E.DELIVERED, '5002']], 'NOTIFY accepted: still no ESTABLISHED');
  t.same(r.done, [], 'and no result');
  t.equal(r.model.pbx.partyState(call.callId, '5002'), sw.ConnectionState.ALERTING, 'the switch call still rings');

  phone(r, 0).final(200, 'OK', sdp('B'));
  t.same(r.sent.slice(2).map(r.line), ['ACK 6002'], 'the 200 is ACKed');
  t.same(call.responses.map((x) => x.status), [180, 200], 'the caller is connected');
  t.same(types(r.published), [[E.DELIVERED, '5002'], [E.ESTABLISHED, '5002']], 'ESTABLISHED now, the simulator\'s sequence');
  t.equal(r.published[1]!.commandId, 'a1', 'carried by the answer command');
  t.equal(r.done.length, 1, 'the result, exactly once');
  t.match(r.done[0], ['a1', { ok: true, callId: call.callId }]);
});

t.test('remote answer: the caller cancels before the phone\'s 200: the answer fails, RELEASED, no ESTABLISHED', async (t) => {
  const r = rig();
  r.registerPhone('5002', 6002);
  r.published.length = 0;
  const call = inboundCall(r, '4155550100', '5002');
  phone(r, 0).ring();
  t.same(r.model.command({ commandId: 'a1', answer: { callId: call.callId, dn: '5002' } }, Date.now()), { pending: true });
  phone(r, 1).final(200);
  await tick();
  // The caller's CANCEL, as the request router takes it.
  r.model.control.end(call.leg, 487, 'Request Terminated');
  r.model.partyLeft(call.leg, 'caller cancelled');
  t.same(call.responses.map((x) => x.status), [180, 487]);
  t.same(r.sent.slice(2).map(r.line), ['CANCEL 6002'], 'the ringing phone is cancelled');
  t.notOk(r.published.some((e) => e.type === E.ESTABLISHED), 'no ESTABLISHED');
  t.ok(r.published.some((e) => e.type === E.CONNECTION_CLEARED && e.dn === '5002'), '5002 released');
  t.equal(r.done.length, 1, 'the answer\'s result, once');
  t.match(r.done[0], ['a1', { ok: false, error: { code: 'InvalidState', message: /5002 left the call before its phone answered/ } }]);
  phone(r, 0).final(487, 'Request Terminated');
  t.equal(r.done.length, 1, "the phone's 487 adds nothing");
  t.notOk(r.published.some((e) => e.type === E.ESTABLISHED));
  t.equal(r.model.legs.size, 0);
});

t.test('remote answer: NOTIFY talk refused: the answer fails, the call still rings; the phone may answer itself later', async (t) => {
  const r = rig();
  r.registerPhone('5002', 6002);
  r.published.length = 0;
  const call = inboundCall(r, '4155550100', '5002');
  phone(r, 0).ring();
  r.model.command({ commandId: 'a1', answer: { callId: call.callId, dn: '5002' } }, Date.now());
  phone(r, 1).final(489, 'Bad Event');
  await tick();
  t.match(r.done, [['a1', { ok: false, error: { code: 'InvalidState', message: /refused the remote answer \(NOTIFY talk: 489 Bad Event\)/ } }]]);
  t.same(types(r.published), [[E.DELIVERED, '5002']], 'no event');
  t.same(r.sent.slice(2).map(r.line), [], 'nothing sent: the phone still rings');
  t.equal(r.model.pbx.partyState(call.callId, '5002'), sw.ConnectionState.ALERTING);
  phone(r, 0).final(200, 'OK', sdp('B'));
  t.same(types(r.published), [[E.DELIVERED, '5002'], [E.ESTABLISHED, '5002']], 'answered on the phone: a spontaneous ESTABLISHED');
  t.notOk(r.published[1]!.commandId, 'not the failed command\'s');
  t.equal(r.done.length, 1);
});

t.test('remote answer of a 3PCC callee before it rings: NOTIFY at its 180; no Allow-Events: talk there fails the answer', async (t) => {
  const r = rig();
  r.registerPhone('5001', 6001);
  r.registerPhone('5002', 6002);
  r.published.length = 0;
  r.model.command({ commandId: 'c1', makeCall: { dn: '5001', to: '5002' } }, 0);
  r.answer(0, 200, sdp('A'));
  const o = r.done[0]![1];
  const callId = o.ok ? o.callId : '';
  t.same(r.model.command({ commandId: 'a1', answer: { callId, dn: '5002' } }, Date.now()), { pending: true }, 'accepted as on the simulator, pending');
  t.same(r.sent.map(r.line), ['INVITE 6001', 'ACK 6001 sdp:inactive', 'INVITE 6002']);
  phone(r, 2).ring(false);
  t.match(r.done.slice(1), [['a1', { ok: false, error: { code: 'InvalidState', message: /does not accept remote answer/ } }]]);
  t.same(r.sent.slice(3).map(r.line), [], 'no NOTIFY, no CANCEL: it still rings');
  t.notOk(r.published.some((e) => e.type === E.ESTABLISHED));
});

t.test('remote answer: NOTIFY accepted but no 200 within the answer timeout: the answer fails, the call still rings', async (t) => {
  const clock = new ManualClock();
  const r = rig(clock);
  r.registerPhone('5002', 6002);
  r.published.length = 0;
  const call = inboundCall(r, '4155550100', '5002');
  phone(r, 0).ring();
  r.model.command({ commandId: 'a1', answer: { callId: call.callId, dn: '5002' } }, Date.now());
  t.equal(clock.timers, 1, 'the answer timer runs from the command');
  clock.advance(1_000);
  phone(r, 1).final(200);
  await tick();
  clock.advance(ANSWER_TIMEOUT_MS - 1_001);
  t.same(r.done, [], 'not yet');
  clock.advance(1);
  t.match(r.done, [['a1', { ok: false, error: { code: 'InvalidState', message: /did not answer \(no 200 OK\) within 8000 ms: the call still rings/ } }]]);
  t.same(types(r.published), [[E.DELIVERED, '5002']], 'no event');
  t.same(r.sent.slice(2).map(r.line), [], 'nothing sent: it still rings');
  t.ok(ANSWER_TIMEOUT_MS < 10_000, "below the T-Server's pending timeout");
});

t.test('remote answer: a phone that never takes the NOTIFY: the answer fails 8 s after the command, before the T-Server gives up', async (t) => {
  const clock = new ManualClock();
  const r = rig(clock);
  r.registerPhone('5002', 6002);
  r.published.length = 0;
  const call = inboundCall(r, '4155550100', '5002');
  phone(r, 0).ring();
  r.model.command({ commandId: 'a1', answer: { callId: call.callId, dn: '5002' } }, Date.now());
  t.same(r.sent.slice(1).map(r.line), ['NOTIFY 6002']);
  clock.advance(ANSWER_TIMEOUT_MS);
  t.match(r.done, [['a1', { ok: false, error: { code: 'InvalidState', message: "5002's phone did not take NOTIFY talk within 8000 ms: the call still rings" } }]]);
  phone(r, 1).final(200);
  await tick();
  t.equal(r.done.length, 1, "the NOTIFY's late 200 adds nothing");
  phone(r, 0).final(200, 'OK', sdp('B'));
  t.same(types(r.published), [[E.DELIVERED, '5002'], [E.ESTABLISHED, '5002']], 'answered later on the phone: a spontaneous ESTABLISHED');
});

import t from 'tap';
import { sw } from '../../src/wire/switch-proto.js';
import { DialPlan } from '../../src/processes/switch/dial-plan.js';
import { Pbx, type PbxOutcome } from '../../src/processes/switch/pbx.js';
import { describeEvent } from '../../src/processes/switch/describe.js';

const X = '4155550100';
const A = '5001', B = '5002', C = '5003', RP = '8000', Q = '7000';

function setup() {
  const pbx = new Pbx(new DialPlan());
  let n = 0;
  const cmd = (op: Omit<sw.ICommand, 'commandId' | 'epoch'>) => pbx.command({ commandId: `c${++n}`, ...op }, 1000);
  return { pbx, cmd };
}
const lines = (o: PbxOutcome) => (o.ok ? o.events.map(describeEvent) : [`ERROR ${o.error.code}`]);
function ok(t: Tap.Test, o: PbxOutcome): Extract<PbxOutcome, { ok: true }> {
  if (!o.ok) t.fail(`unexpected ${o.error.code}: ${o.error.message}`);
  return o as Extract<PbxOutcome, { ok: true }>;
}
declare namespace Tap { type Test = typeof t }

t.test('internal call, answer, release by the caller', async (t) => {
  const { cmd } = setup();
  const mk = ok(t, cmd({ makeCall: { dn: A, to: B } }));
  t.equal(mk.callId, 's1');
  t.same(lines(mk), [
    `ORIGINATED s1 dn=${A} other=${B} callType=INTERNAL — ${A}:INITIATED`,
    `DELIVERED s1 dn=${B} other=${A} — ${A}:INITIATED ${B}:ALERTING`,
  ]);
  t.equal(mk.events[0]!.commandId, 'c1');
  t.same(lines(cmd({ answer: { callId: 's1', dn: B } })), [`ESTABLISHED s1 dn=${B} other=${A} — ${A}:CONNECTED ${B}:CONNECTED`]);
  t.same(lines(cmd({ clearConnection: { callId: 's1', dn: A } })), [
    `CONNECTION_CLEARED s1 dn=${A} other=${B} cause=Normal — ${B}:CONNECTED`,
    `CONNECTION_CLEARED s1 dn=${B} cause=Normal — (none)`,
  ]);
  t.same(lines(cmd({ answer: { callId: 's1', dn: B } })), ['ERROR UnknownCall'], 'the call is gone');
});

t.test('reject a ringing call at the called party', async (t) => {
  const { cmd } = setup();
  cmd({ makeCall: { dn: A, to: B } });
  t.same(lines(cmd({ clearConnection: { callId: 's1', dn: B } })), [
    `CONNECTION_CLEARED s1 dn=${B} other=${A} cause=Normal — ${A}:INITIATED`,
    `CONNECTION_CLEARED s1 dn=${A} cause=Normal — (none)`,
  ]);
});

t.test('outbound call through the trunk, answered by the far end', async (t) => {
  const { pbx, cmd } = setup();
  const ext = '94155550199';
  t.same(lines(cmd({ makeCall: { dn: A, to: ext } })), [
    `ORIGINATED s1 dn=${A} other=${ext} callType=OUTBOUND — ${A}:INITIATED`,
    `NETWORK_REACHED s1 dn=${ext} other=${A} — ${A}:INITIATED ${ext}:NETWORK`,
  ]);
  t.same(lines(cmd({ answer: { callId: 's1', dn: ext } })), ['ERROR InvalidState'], 'a command cannot answer for the far end');
  t.same(lines(pbx.autoAnswer('s1', ext, 2000)), [`ESTABLISHED s1 dn=${ext} other=${A} — ${A}:CONNECTED ${ext}:CONNECTED`]);
  t.same(lines(cmd({ makeCall: { dn: A, to: '4155550123' } })).slice(1), [`NETWORK_REACHED s2 dn=4155550123 other=${A} — ${A}:INITIATED 4155550123:NETWORK`], '7+ digits not in the plan are external');
});

t.test('inbound call to an extension, to a route point and to a queue; caller hang-up', async (t) => {
  const { pbx } = setup();
  const o = ok(t, pbx.inboundCall(X, A, 1000));
  t.same(lines(o), [`DELIVERED s1 dn=${A} other=${X} — ${X}:CONNECTED ${A}:ALERTING`]);
  t.match(o.events[0], { callType: sw.CallType.INBOUND, ani: X, dnis: A, commandId: '' });
  t.same(lines(pbx.inboundCall(X, RP, 1000)), [`DELIVERED s2 dn=${RP} other=${X} — ${X}:CONNECTED ${RP}:QUEUED`]);
  t.same(lines(pbx.inboundCall('4155550111', Q, 1000)), [`DELIVERED s3 dn=${Q} other=4155550111 — 4155550111:CONNECTED ${Q}:QUEUED`]);
  t.same(lines(pbx.callerHangup('s1', '', 1000)), [
    `CONNECTION_CLEARED s1 dn=${X} other=${A} cause=CallerHangup — ${A}:ALERTING`,
    `CONNECTION_CLEARED s1 dn=${A} cause=Normal — (none)`,
  ]);
  t.same(lines(pbx.callerHangup('', '4155550111', 1000)).map((l) => l.split(' ')[0]), ['CONNECTION_CLEARED', 'CONNECTION_CLEARED'], 'by ani');
  t.same(lines(pbx.inboundCall(X, '94155550100', 1000)), ['ERROR UnknownDN'], 'dnis must be a DN of the switch');
  t.same(lines(pbx.inboundCall(X, '1234', 1000)), ['ERROR UnknownDN']);
});

t.test('route from a route point, deflect a ringing extension', async (t) => {
  const { pbx, cmd } = setup();
  pbx.inboundCall(X, RP, 1000);
  t.same(lines(cmd({ answer: { callId: 's1', dn: RP } })), ['ERROR InvalidState'], 'a route point does not answer');
  t.same(lines(cmd({ deflect: { callId: 's1', dn: RP, to: A } })), [
    `DIVERTED s1 dn=${RP} other=${A} — ${X}:CONNECTED`,
    `DELIVERED s1 dn=${A} other=${X} — ${X}:CONNECTED ${A}:ALERTING`,
  ]);
  t.same(lines(cmd({ deflect: { callId: 's1', dn: A, to: Q } })), [
    `DIVERTED s1 dn=${A} other=${Q} — ${X}:CONNECTED`,
    `DELIVERED s1 dn=${Q} other=${X} — ${X}:CONNECTED ${Q}:QUEUED`,
  ]);
});

t.test('hold and retrieve', async (t) => {
  const { pbx, cmd } = setup();
  pbx.inboundCall(X, A, 1000);
  t.same(lines(cmd({ hold: { callId: 's1', dn: A } })), ['ERROR InvalidState'], 'a ringing call cannot be held');
  cmd({ answer: { callId: 's1', dn: A } });
  t.same(lines(cmd({ hold: { callId: 's1', dn: A } })), [`HELD s1 dn=${A} other=${X} — ${X}:CONNECTED ${A}:HELD`]);
  t.same(lines(cmd({ retrieve: { callId: 's1', dn: A } })), [`RETRIEVED s1 dn=${A} other=${X} — ${X}:CONNECTED ${A}:CONNECTED`]);
});

function consulted(answerTarget: boolean) {
  const s = setup();
  s.pbx.inboundCall(X, A, 1000);
  s.cmd({ answer: { callId: 's1', dn: A } });
  const c = s.cmd({ consultationCall: { callId: 's1', dn: A, to: C } });
  if (answerTarget) s.cmd({ answer: { callId: 's2', dn: C } });
  return { ...s, consult: c };
}

t.test('consultation call', async (t) => {
  const { consult, cmd } = consulted(false);
  t.equal((consult as { callId: string }).callId, 's2');
  t.same(lines(consult), [
    `HELD s1 dn=${A} other=${X} — ${X}:CONNECTED ${A}:HELD`,
    `ORIGINATED s2 dn=${A} other=${C} callType=CONSULT secondary=s1 — ${A}:INITIATED`,
    `DELIVERED s2 dn=${C} other=${A} — ${A}:INITIATED ${C}:ALERTING`,
  ]);
  t.same(lines(cmd({ answer: { callId: 's2', dn: C } })), [`ESTABLISHED s2 dn=${C} other=${A} — ${A}:CONNECTED ${C}:CONNECTED`]);
});

t.test('transfer after the target answered', async (t) => {
  const { pbx, cmd } = consulted(true);
  t.same(lines(cmd({ transfer: { heldCallId: 's1', activeCallId: 's2', dn: A } })), [
    `TRANSFERRED s1 dn=${A} other=${C} secondary=s2 — ${X}:CONNECTED ${C}:CONNECTED`,
  ]);
  t.same(pbx.snapshotCalls().map((c) => c.callId), ['s1'], 's2 is gone');
});

t.test('transfer before the target answered; the target answers on the original call', async (t) => {
  const { cmd } = consulted(false);
  t.same(lines(cmd({ transfer: { heldCallId: 's1', activeCallId: 's2', dn: A } })), [
    `TRANSFERRED s1 dn=${A} other=${C} secondary=s2 — ${X}:CONNECTED ${C}:ALERTING`,
  ]);
  t.same(lines(cmd({ answer: { callId: 's1', dn: C } })), [`ESTABLISHED s1 dn=${C} other=${X} — ${X}:CONNECTED ${C}:CONNECTED`]);
});

t.test('conference, then delete from conference', async (t) => {
  const pre = consulted(false);
  t.same(lines(pre.cmd({ conference: { heldCallId: 's1', activeCallId: 's2', dn: A } })), ['ERROR InvalidState'], 'not before the target answers');
  const { cmd } = consulted(true);
  t.same(lines(cmd({ conference: { heldCallId: 's1', activeCallId: 's2', dn: A } })), [
    `CONFERENCED s1 dn=${A} other=${C} secondary=s2 — ${X}:CONNECTED ${A}:CONNECTED ${C}:CONNECTED`,
  ]);
  t.same(lines(cmd({ deleteFromConference: { callId: 's1', dn: A, target: C } })), [
    `CONNECTION_CLEARED s1 dn=${C} other=${A} cause=DeletedFromConference — ${X}:CONNECTED ${A}:CONNECTED`,
  ]);
  t.same(lines(cmd({ deleteFromConference: { callId: 's1', dn: A, target: X } })), ['ERROR InvalidState'], 'two parties are not a conference');
});

t.test('delete from a three-party conference leaving one party clears it', async (t) => {
  const { pbx, cmd } = consulted(true);
  cmd({ conference: { heldCallId: 's1', activeCallId: 's2', dn: A } });
  pbx.callerHangup('s1', X, 1000);
  t.same(pbx.snapshotCalls()[0]!.parties!.map((p) => p.dn), [A, C], 'A and C stay together after the caller left');
});

t.test('single-step transfer', async (t) => {
  const { pbx, cmd } = setup();
  pbx.inboundCall(X, A, 1000);
  cmd({ answer: { callId: 's1', dn: A } });
  t.same(lines(cmd({ singleStepTransfer: { callId: 's1', dn: A, to: C } })), [
    `TRANSFERRED s1 dn=${A} other=${C} — ${X}:CONNECTED`,
    `DELIVERED s1 dn=${C} other=${X} — ${X}:CONNECTED ${C}:ALERTING`,
  ]);
});

t.test('errors change nothing and say what to do', async (t) => {
  const { pbx, cmd } = setup();
  pbx.inboundCall(X, A, 1000);
  const before = JSON.stringify(pbx.snapshotCalls());
  const cases: Array<[Omit<sw.ICommand, 'commandId' | 'epoch'>, string]> = [
    [{ makeCall: { dn: A, to: '12' } }, 'UnknownDN'],
    [{ makeCall: { dn: '12', to: B } }, 'UnknownDN'],
    [{ makeCall: { dn: RP, to: B } }, 'InvalidState'],
    [{ makeCall: { dn: A } }, 'BadCommand'],
    [{ answer: { callId: 's99', dn: A } }, 'UnknownCall'],
    [{ answer: { callId: 's1', dn: B } }, 'InvalidState'],
    [{ consultationCall: { callId: 's1', dn: A, to: C } }, 'InvalidState'],
    [{ consultationCall: { callId: 's1', dn: X, to: '12' } }, 'UnknownDN'],
    [{ transfer: { heldCallId: 's1', activeCallId: 's1', dn: A } }, 'BadCommand'],
    [{ deflect: { callId: 's1', dn: A, to: '12' } }, 'UnknownDN'],
    [{}, 'BadCommand'],
  ];
  for (const [op, code] of cases) {
    const o = cmd(op);
    t.equal(o.ok ? 'ok' : o.error.code, code, JSON.stringify(op));
    if (!o.ok) t.ok(o.error.message.length > 20, `message: ${o.error.message}`);
  }
  t.equal(JSON.stringify(pbx.snapshotCalls()), before, 'nothing changed');
});

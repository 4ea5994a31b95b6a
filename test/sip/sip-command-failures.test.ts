// Commands the SIP switch reports only after SIP carried them out (issue 13): when the endpoint
// refuses, the desktop gets EventError InvalidState that names the SIP status, no event of the
// command, and the call stays as it was (the SIPp phones and callers must finish their scenarios:
// the undo re-INVITE and the BYEs at the end are their assertion). A real `tandem switch --sip`, a
// real T-Server, WebSocket desktops, SIPp endpoints (scenarios in this folder).
import t from 'tap';
import type { TEvent } from '../../src/protocol/messages.js';
import { openClient, startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { isStateEvent, type TestClient } from '../helpers/ws-client.js';
import { register, runSipp, startPhone } from '../helpers/sipp.js';
import { freePorts } from '../helpers/free-port.js';

/** Route point 8000 sends every caller straight to 5001. */
async function stack(t: Tap.Test) {
  const sw = await startSwitch(t, ['--sip', '--sip-port', '0']);
  const line = await sw.proc.waitFor((l) => l.msg === 'ready');
  const sip = `127.0.0.1:${((line.ports ?? {}) as { sip: number }).sip}`;
  const ts = await startTServer(t, { switchAddress: sw.address, config: { core: { routePoints: { 8000: { defaultTarget: '5001', timeoutMs: 100 } } } } });
  return { ts, sip };
}

async function desk(t: Tap.Test, url: string, dn: string): Promise<TestClient> {
  const c = await openClient(t, url, `desk-${dn}`);
  await c.request('RequestRegisterAddress', { thisDN: dn });
  return c;
}

const brief = (e: TEvent) => [e.event, e.thisDN ?? '-', e.otherDN ?? '-'].join(' ');
const calls = (c: TestClient) => c.events.filter((e) => isStateEvent(e) && !e.event.startsWith('EventAgent') && !e.event.startsWith('EventDN')).map(brief);

/** A trunk call to 8000, answered by 5001's phone; its connId. */
async function inboundTo5001(t: Tap.Test, sip: string, a: TestClient, ani: string) {
  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani } });
  const est = await a.waitFor((e) => e.event === 'EventEstablished', 10_000, '5001 answered');
  return { caller, C1: est.connId! };
}

t.test("make call: 5001's phone answers the 3PCC INVITE 486: EventError, no call", async (t) => {
  const { ts, sip } = await stack(t);
  const a = await desk(t, ts.url, '5001');
  const b = await desk(t, ts.url, '5002');
  const pa = await startPhone(t, sip, '5001', 'phone-refuses-auto.xml');
  await register(t, sip, '5002', (await freePorts(1))[0]!); // in service; never reached
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service');
  const err = await a.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  t.match(err, { event: 'EventError', errorCode: 'InvalidState' });
  t.match(err.errorMessage, /make call 5001 -> 5002 failed: 5001's phone answered 486 Busy Here: no call was made/);
  await pa.done();
  t.same(calls(a), [], 'no EventDialing');
  t.same(calls(b), [], 'no EventRinging');
});

t.test("hold: 5001's phone answers the re-INVITE 488: EventError, the call stays Established, the caller's hold is undone", async (t) => {
  const { ts, sip } = await stack(t);
  const a = await desk(t, ts.url, '5001');
  const pa = await startPhone(t, sip, '5001', 'phone-refuses-reinvite.xml');
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service');
  const { caller, C1 } = await inboundTo5001(t, sip, a, '4155550110');
  const err = await a.request('RequestHoldCall', { thisDN: '5001', connId: C1 });
  t.match(err, { event: 'EventError', errorCode: 'InvalidState' });
  t.match(err.errorMessage, /hold of 5001 on call s\d+ failed: 5001's phone answered 488 Not Acceptable Here to the re-INVITE \(sendonly\): the call stays Established/);
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: C1 }), { event: 'EventReleased' }, 'still Established: released');
  await Promise.all([pa.done(), caller.done()]);
  t.same(calls(a), ['EventRinging 5001 4155550110', 'EventEstablished 5001 4155550110', 'EventReleased 5001 4155550110'], 'never Held');
});

t.test("consultation: 5001's phone refuses the consultation INVITE 486: EventError, the call is retrieved and stays Established", async (t) => {
  const { ts, sip } = await stack(t);
  const a = await desk(t, ts.url, '5001');
  const b = await desk(t, ts.url, '5002');
  const pa = await startPhone(t, sip, '5001', 'phone-refuses-auto.xml', { calls: 2 });
  await register(t, sip, '5002', (await freePorts(1))[0]!);
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service');
  const { caller, C1 } = await inboundTo5001(t, sip, a, '4155550111');
  const err = await a.request('RequestInitiateTransfer', { thisDN: '5001', connId: C1, otherDN: '5002' });
  t.match(err, { event: 'EventError', errorCode: 'InvalidState' });
  t.match(err.errorMessage, /consultation from 5001 to 5002 failed: 5001's phone answered 486 Busy Here: call s\d+ stays Established/);
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: C1 }), { event: 'EventReleased' });
  await Promise.all([pa.done(), caller.done()]);
  t.same(calls(a), ['EventRinging 5001 4155550111', 'EventEstablished 5001 4155550111', 'EventReleased 5001 4155550111'], 'never Held, no consultation call');
  t.same(calls(b), []);
});

t.test('single-step transfer: the target answers 486: EventError, 5001 keeps the call', async (t) => {
  const { ts, sip } = await stack(t);
  const a = await desk(t, ts.url, '5001');
  const c = await desk(t, ts.url, '5003');
  const pa = await startPhone(t, sip, '5001');
  const pc = await startPhone(t, sip, '5003', 'phone-busy.xml');
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service');
  const { caller, C1 } = await inboundTo5001(t, sip, a, '4155550112');
  const err = await a.request('RequestSingleStepTransfer', { thisDN: '5001', connId: C1, otherDN: '5003' });
  t.match(err, { event: 'EventError', errorCode: 'InvalidState' });
  t.match(err.errorMessage, /single-step transfer of call s\d+ from 5001 to 5003 failed: 5003's phone answered 486 Busy Here: 5001 keeps the call/);
  await pc.done();
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: C1 }), { event: 'EventReleased' });
  await Promise.all([pa.done(), caller.done()]);
  t.same(calls(a), ['EventRinging 5001 4155550112', 'EventEstablished 5001 4155550112', 'EventReleased 5001 4155550112']);
  t.same(calls(c), [], '5003 never rang on the desktop');
});

t.test('transfer: the consulted phone refuses the re-bridge offer 488: EventError, 5001 keeps both calls', async (t) => {
  const { ts, sip } = await stack(t);
  const a = await desk(t, ts.url, '5001');
  const b = await desk(t, ts.url, '5002');
  const pa = await startPhone(t, sip, '5001', 'phone-answer.xml', { calls: 2 });
  const pb = await startPhone(t, sip, '5002', 'phone-refuses-reinvite.xml');
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service');
  const { caller, C1 } = await inboundTo5001(t, sip, a, '4155550113');
  t.match(await a.request('RequestInitiateTransfer', { thisDN: '5001', connId: C1, otherDN: '5002' }), { event: 'EventHeld' });
  const C2 = (await a.waitFor((e) => e.event === 'EventDialing', 5_000, 'consult EventDialing')).connId!;
  await b.waitFor((e) => e.event === 'EventEstablished' && e.connId === C2, 10_000, '5002 answered the consultation');
  const err = await a.request('RequestCompleteTransfer', { thisDN: '5001', connId: C1, transferConnId: C2 });
  t.match(err, { event: 'EventError', errorCode: 'InvalidState' });
  t.match(err.errorMessage, /transfer of call s\d+ from 5001 to 5002 failed: 5002's phone answered 488 Not Acceptable Here to the re-INVITE that re-bridges the call: 5001 keeps both calls/);
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: C2 }), { event: 'EventReleased' }, 'the consultation is still there');
  t.match(await a.request('RequestRetrieveCall', { thisDN: '5001', connId: C1 }), { event: 'EventRetrieved' }, 'the original call is still held');
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: C1 }), { event: 'EventReleased' });
  await Promise.all([pa.done(), pb.done(), caller.done()]);
  t.notOk(calls(b).some((e) => e.startsWith('EventPartyChanged')), '5002 never got the caller');
});

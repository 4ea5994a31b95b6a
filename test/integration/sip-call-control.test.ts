// Every switch command over SIP with SIPp endpoints (issue 13 item 4): a real `tandem switch --sip`,
// a real T-Server, WebSocket desktops. Make call (RFC 3725 3PCC: the agent's phone first, with
// answer-after=0, then the callee), hold / retrieve (re-INVITEs), release (BYE to both), consultation
// + transfer (re-bridging the caller to the consulted phone), single-step transfer, route from a route
// point straight to an extension, a phone that hangs up itself, and conference refused with the reason.
// Each SIPp process must finish its scenario: that is the SIP side's assertion.
import t from 'tap';
import type { TEvent } from '../../src/protocol/messages.js';
import { openClient, startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { isStateEvent, type TestClient } from '../helpers/ws-client.js';
import { runSipp, startPhone } from '../helpers/sipp.js';

async function stack(t: Tap.Test, routePoints: Record<string, unknown> = {}) {
  const sw = await startSwitch(t, ['--sip', '--sip-port', '0']);
  const line = await sw.proc.waitFor((l) => l.msg === 'ready');
  const sip = `127.0.0.1:${((line.ports ?? {}) as { sip: number }).sip}`;
  const ts = await startTServer(t, { switchAddress: sw.address, config: { core: { routePoints } } });
  return { sw, ts, sip };
}

const brief = (e: TEvent) => [e.event, e.thisDN ?? '-', e.otherDN ?? '-', e.callState ?? '-'].join(' ');

/** A desktop on `dn`, registered, its phone in service. */
async function desk(t: Tap.Test, url: string, dn: string): Promise<TestClient> {
  const c = await openClient(t, url, `desk-${dn}`);
  await c.request('RequestRegisterAddress', { thisDN: dn });
  return c;
}

async function inService(c: TestClient, dn: string): Promise<void> {
  await c.waitFor((e) => e.event === 'EventDNBackInService' && e.thisDN === dn, 5_000, `${dn} in service`);
}

/** The call events (state events, agent events left out) from `from` on, once `n` arrived. */
async function callEvents(c: TestClient, from: number, n: number, what: string): Promise<string[]> {
  const pick = () => c.events.slice(from).filter((e) => isStateEvent(e) && !e.event.startsWith('EventAgent') && !e.event.startsWith('EventDN'));
  await c.waitFor(() => pick().length >= n, 10_000, what);
  return pick().map(brief);
}

t.test('make call 5001 -> 5002 (3PCC), hold, retrieve, release', async (t) => {
  const { ts, sip } = await stack(t);
  const a = await desk(t, ts.url, '5001');
  const b = await desk(t, ts.url, '5002');
  const pa = await startPhone(t, sip, '5001');
  const pb = await startPhone(t, sip, '5002');
  await inService(a, '5001');
  await inService(b, '5002');
  const ma = a.events.length;
  const mb = b.events.length;

  const dialing = await a.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  t.match(dialing, { event: 'EventDialing', thisDN: '5001', otherDN: '5002', callType: 'Internal' });
  const connId = dialing.connId!;
  await b.waitFor((e) => e.event === 'EventEstablished', 10_000, '5002 answered (its phone, after the 3PCC leg to 5001)');
  t.match(await a.request('RequestHoldCall', { thisDN: '5001', connId }), { event: 'EventHeld' });
  t.match(await a.request('RequestRetrieveCall', { thisDN: '5001', connId }), { event: 'EventRetrieved' });
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId }), { event: 'EventReleased' });
  await Promise.all([pa.done(), pb.done()]);
  t.pass('both phones: INVITE answered, re-INVITEs answered, BYE');

  t.same(await callEvents(a, ma, 5, '5001 events'), [
    'EventDialing 5001 5002 Dialing', 'EventEstablished 5001 5002 Established', 'EventHeld 5001 5002 Held',
    'EventRetrieved 5001 5002 Established', 'EventReleased 5001 5002 Released',
  ]);
  t.same(await callEvents(b, mb, 3, '5002 events'), ['EventRinging 5002 5001 Ringing', 'EventEstablished 5002 5001 Established', 'EventReleased 5002 5001 Released']);
});

t.test('trunk call routed to 5001, consultation to 5002, transfer: the caller talks to 5002', async (t) => {
  const { ts, sip } = await stack(t);
  const a = await desk(t, ts.url, '5001');
  const b = await desk(t, ts.url, '5002');
  const router = await desk(t, ts.url, '8000');
  const pa = await startPhone(t, sip, '5001', 'phone-answer.xml', { calls: 2 });
  const pb = await startPhone(t, sip, '5002');
  await inService(a, '5001');
  await inService(b, '5002');

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const req = await router.waitFor((e) => e.event === 'EventRouteRequest', 10_000, 'EventRouteRequest');
  t.match(await router.request('RequestRouteCall', { thisDN: '8000', connId: req.connId, otherDN: '5001' }), { event: 'EventRouteUsed', otherDN: '5001' }, 'routed from the route point straight to 5001');
  const est = await a.waitFor((e) => e.event === 'EventEstablished', 10_000, '5001 answered');
  const C1 = est.connId!;
  const held = await a.request('RequestInitiateTransfer', { thisDN: '5001', connId: C1, otherDN: '5002' });
  t.match(held, { event: 'EventHeld', connId: C1 });
  const dialing = await a.waitFor((e) => e.event === 'EventDialing', 5_000, 'consult EventDialing');
  const C2 = dialing.connId!;
  await b.waitFor((e) => e.event === 'EventEstablished' && e.connId === C2, 10_000, '5002 answered the consultation');
  const done = await a.request('RequestCompleteTransfer', { thisDN: '5001', connId: C1, transferConnId: C2 });
  t.equal(done.event, 'EventReleased');
  const changed = await b.waitFor((e) => e.event === 'EventPartyChanged', 5_000, 'EventPartyChanged at 5002');
  t.match(changed, { connId: C1, previousConnId: C2 });
  await pa.done();
  t.pass("5001's phone got BYE on both of its calls");
  t.match(await b.request('RequestReleaseCall', { thisDN: '5002', connId: C1 }), { event: 'EventReleased' });
  await Promise.all([caller.done(), pb.done()]);
  t.pass('the caller was re-bridged to 5002 (re-INVITEs answered) and got BYE when 5002 released');
});

t.test('conference refused at completion (no media mixer); retrieve; single-step transfer to a phone that hangs up itself', async (t) => {
  const { ts, sip } = await stack(t, { 8000: { defaultTarget: '5001', timeoutMs: 100 } });
  const a = await desk(t, ts.url, '5001');
  const b = await desk(t, ts.url, '5002');
  const c = await desk(t, ts.url, '5003');
  const pa = await startPhone(t, sip, '5001', 'phone-answer.xml', { calls: 2 });
  const pb = await startPhone(t, sip, '5002');
  const pc = await startPhone(t, sip, '5003', 'phone-hangs-up.xml');
  for (const [d, dn] of [[a, '5001'], [b, '5002'], [c, '5003']] as const) await inService(d, dn);

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550101' } });
  const est = await a.waitFor((e) => e.event === 'EventEstablished', 10_000, '5001 answered (route point default target)');
  const C1 = est.connId!;
  t.match(await a.request('RequestInitiateConference', { thisDN: '5001', connId: C1, otherDN: '5002' }), { event: 'EventHeld' }, 'the conference starts as a consultation');
  const C2 = (await b.waitFor((e) => e.event === 'EventEstablished', 10_000, '5002 answered the consultation')).connId!;
  const conf = await a.request('RequestCompleteConference', { thisDN: '5001', connId: C1, transferConnId: C2 });
  t.match(conf, { event: 'EventError' }, 'completing the conference is refused');
  t.match(conf.errorMessage, /media mixer/, 'and says why: no media mixer configured');
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: C2 }), { event: 'EventReleased' }, 'the consultation is released instead');
  await pb.done();
  t.match(await a.request('RequestRetrieveCall', { thisDN: '5001', connId: C1 }), { event: 'EventRetrieved' });
  t.match(await a.request('RequestSingleStepTransfer', { thisDN: '5001', connId: C1, otherDN: '5003' }), { event: 'EventReleased' });
  await pa.done();
  const rel = await c.waitFor((e) => e.event === 'EventReleased', 10_000, '5003 hung up on its phone');
  t.equal(rel.connId, C1, "the caller's call moved to 5003");
  await Promise.all([caller.done(), pc.done()]);
  t.pass('5003 hung up with BYE; the caller got BYE');
});

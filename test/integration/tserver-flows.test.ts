// The typical call flows end to end — a real switch, a real `tandem tserver`, real WebSocket clients —
// asserted event by event on every desktop: inbound through a route point and a queue to an agent with
// wrap-up, user data, consult transfer, hold/retrieve, release, internal call, conference and delete
// from conference, caller hang-up. Every request's direct answer carries its referenceId; every
// desktop sees seq strictly increasing.
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import type { TEvent } from '../../src/protocol/messages.js';
import { openClient, startStack } from '../helpers/tserver-fixture.js';
import { isStateEvent, type TestClient } from '../helpers/ws-client.js';

t.test('typical flows, event by event', async (t) => {
  const { sw, ts } = await startStack(t, { config: { core: { queues: { 7000: { wrapUpMs: 200, treatment: 'music' } } } } });
  const caller = await connectLink({ address: sw.address, serverName: 'caller' });
  t.teardown(() => caller.close());
  const a = await openClient(t, ts.url, 'agent-5001');
  const b = await openClient(t, ts.url, 'agent-5002');
  const d = await openClient(t, ts.url, 'phone-5003');
  const r = await openClient(t, ts.url, 'router');
  const clients = [a, b, d, r];

  // ConnIDs get names in order of first appearance: C1, C2…
  const names = new Map<string, string>();
  const conn = (id: string | undefined) => (id ? (names.get(id) ?? (names.set(id, `C${names.size + 1}`), names.get(id)!)) : '-');
  const brief = (e: TEvent) => [e.event, e.thisDN ?? '-', e.otherDN ?? '-', conn(e.connId), e.callState ?? e.agentState ?? '-', e.referenceId ? 'ref' : ''].join(' ').trim();
  const marks = new Map<TestClient, number>(clients.map((c) => [c, c.events.length]));
  /** The client's next events (exactly these, in order), state events only. */
  const expect = async (c: TestClient, want: string[], what: string) => {
    const from = marks.get(c)!;
    await c.waitFor(() => c.events.slice(from).filter(isStateEvent).length >= want.length, 5_000, `${what}: ${want.length} events`);
    const got = c.events.slice(from).filter(isStateEvent).slice(0, want.length);
    t.same(got.map(brief), want, `${c.name}: ${what}`);
    marks.set(c, c.events.indexOf(got[got.length - 1]!) + 1);
    return got;
  };
  const nothingMore = (what: string) => {
    for (const c of clients) t.same(c.events.slice(marks.get(c)!).filter(isStateEvent).map(brief), [], `${c.name}: nothing else after ${what}`);
  };

  for (const [c, dn] of [[a, '5001'], [b, '5002'], [d, '5003'], [r, '8000'], [r, '7000']] as const) {
    const reg = await c.request('RequestRegisterAddress', { thisDN: dn });
    t.match(reg, { event: 'EventRegistered', thisDN: dn, seq: undefined });
  }
  await a.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'ManualIn' });
  await a.request('RequestAgentReady', { thisDN: '5001' });
  await expect(a, ['EventAgentLogin 5001 - - Ready ref', 'EventAgentReady 5001 - - Ready ref'], 'login');

  // Inbound: caller -> route point 8000 -> router sends it to queue 7000 -> Ready agent 5001.
  await caller.inboundCall('4155550100', '8000');
  const [rr] = await expect(r, ['EventRouteRequest 8000 4155550100 C1 Queued'], 'route request');
  t.match(rr, { callType: 'Inbound', ani: '4155550100', dnis: '8000' });
  const C1 = rr!.connId!;
  const used = await r.request('RequestRouteCall', { thisDN: '8000', connId: C1, otherDN: '7000' });
  t.equal(used.event, 'EventRouteUsed');
  await expect(r, ['EventRouteUsed 8000 7000 C1 Queued ref', 'EventQueued 7000 4155550100 C1 Queued', 'EventDiverted 7000 5001 C1 Queued'], 'routed to the queue, distributed');
  const [ring] = await expect(a, ['EventRinging 5001 4155550100 C1 Ringing'], 'ringing');
  t.match(ring, { callType: 'Inbound', ani: '4155550100', dnis: '8000' });

  t.equal((await a.request('RequestAnswerCall', { thisDN: '5001', connId: C1 })).event, 'EventEstablished');
  const ud = await a.request('RequestAttachUserData', { thisDN: '5001', connId: C1, userData: { account: '42' } });
  t.match(ud, { event: 'EventAttachedDataChanged', userData: { account: '42' } });
  await expect(a, ['EventEstablished 5001 4155550100 C1 Established ref', 'EventAttachedDataChanged 5001 - C1 Established ref'], 'answer, user data');
  nothingMore('answer');

  // Consult transfer 5001 -> 5002.
  await b.request('RequestAgentLogin', { thisDN: '5002', agentId: 'bob', thisQueue: '7000', workMode: 'ManualIn' });
  await expect(b, ['EventAgentLogin 5002 - - Ready ref'], 'second agent');
  t.equal((await a.request('RequestInitiateTransfer', { thisDN: '5001', connId: C1, otherDN: '5002' })).event, 'EventHeld');
  await expect(a, ['EventHeld 5001 4155550100 C1 Held ref', 'EventDialing 5001 5002 C2 Dialing'], 'consult started');
  const [consultRing] = await expect(b, ['EventRinging 5002 5001 C2 Ringing'], 'consult rings');
  t.match(consultRing, { callType: 'Consult' });
  const C2 = consultRing!.connId!;
  await b.request('RequestAnswerCall', { thisDN: '5002', connId: C2 });
  await expect(b, ['EventEstablished 5002 5001 C2 Established ref'], 'consult answered');
  await expect(a, ['EventEstablished 5001 5002 C2 Established'], 'consult answered (originator)');
  t.equal((await a.request('RequestCompleteTransfer', { thisDN: '5001', connId: C1, transferConnId: C2 })).event, 'EventReleased');
  await expect(a, ['EventReleased 5001 5002 C2 Transferred ref', 'EventReleased 5001 4155550100 C1 Transferred', 'EventAgentNotReady 5001 - - AfterCallWork'], 'transfer completed');
  const [changed] = await expect(b, ['EventPartyChanged 5002 4155550100 C1 Established'], 'now on the customer call');
  t.equal(changed!.previousConnId, C2);
  await expect(a, ['EventAgentReady 5001 - - Ready'], 'wrap-up over');

  // Hold, retrieve, release by 5002; its wrap-up.
  t.equal((await b.request('RequestHoldCall', { thisDN: '5002', connId: C1 })).event, 'EventHeld');
  t.equal((await b.request('RequestRetrieveCall', { thisDN: '5002', connId: C1 })).event, 'EventRetrieved');
  t.equal((await b.request('RequestReleaseCall', { thisDN: '5002', connId: C1 })).event, 'EventReleased');
  await expect(b, ['EventHeld 5002 4155550100 C1 Held ref', 'EventRetrieved 5002 4155550100 C1 Established ref',
    'EventReleased 5002 4155550100 C1 Released ref', 'EventAgentNotReady 5002 - - AfterCallWork', 'EventAgentReady 5002 - - Ready'], 'hold, retrieve, release, wrap-up');
  nothingMore('first call');

  // Internal call 5001 -> 5002, then a conference with 5003, then 5003 deleted.
  t.equal((await a.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' })).event, 'EventDialing');
  const [dial] = await expect(a, ['EventDialing 5001 5002 C3 Dialing ref'], 'internal call');
  t.match(dial, { callType: 'Internal' });
  const C3 = dial!.connId!;
  await expect(b, ['EventRinging 5002 5001 C3 Ringing'], 'internal call rings');
  await b.request('RequestAnswerCall', { thisDN: '5002', connId: C3 });
  await expect(b, ['EventEstablished 5002 5001 C3 Established ref'], 'internal answered');
  await expect(a, ['EventEstablished 5001 5002 C3 Established'], 'internal answered (originator)');
  t.equal((await a.request('RequestInitiateConference', { thisDN: '5001', connId: C3, otherDN: '5003' })).event, 'EventHeld');
  const [, confDial] = await expect(a, ['EventHeld 5001 5002 C3 Held ref', 'EventDialing 5001 5003 C4 Dialing'], 'conference consult');
  const C4 = confDial!.connId!;
  await expect(d, ['EventRinging 5003 5001 C4 Ringing'], 'conference consult rings');
  await d.request('RequestAnswerCall', { thisDN: '5003', connId: C4 });
  await expect(d, ['EventEstablished 5003 5001 C4 Established ref'], 'conference consult answered');
  await expect(a, ['EventEstablished 5001 5003 C4 Established'], 'conference consult answered (originator)');
  t.equal((await a.request('RequestCompleteConference', { thisDN: '5001', connId: C3, transferConnId: C4 })).event, 'EventPartyAdded');
  await expect(a, ['EventPartyAdded 5001 5003 C3 Established ref', 'EventReleased 5001 5003 C4 Conferenced'], 'conference completed');
  await expect(b, ['EventPartyAdded 5002 5003 C3 Established'], 'conference completed (other party)');
  await expect(d, ['EventPartyChanged 5003 5001 C3 Established'], 'conference completed (added party)');
  t.equal((await a.request('RequestDeleteFromConference', { thisDN: '5001', connId: C3, otherDN: '5003' })).event, 'EventPartyDeleted');
  await expect(a, ['EventPartyDeleted 5001 5003 C3 Established ref'], 'deleted from conference');
  await expect(b, ['EventPartyDeleted 5002 5003 C3 Established'], 'deleted from conference (other party)');
  await expect(d, ['EventReleased 5003 5001 C3 Released'], 'deleted from conference (deleted party)');
  t.equal((await a.request('RequestReleaseCall', { thisDN: '5001', connId: C3 })).event, 'EventReleased');
  // Both are agents of queue 7000, which has wrap-up: after-call work follows any call.
  await expect(a, ['EventReleased 5001 5002 C3 Released ref', 'EventAgentNotReady 5001 - - AfterCallWork', 'EventAgentReady 5001 - - Ready'], 'internal call released, wrap-up');
  await expect(b, ['EventReleased 5002 5001 C3 Released', 'EventAgentNotReady 5002 - - AfterCallWork', 'EventAgentReady 5002 - - Ready'], 'internal call released, wrap-up (other party)');

  // An inbound call straight to 5003 that the caller hangs up.
  await caller.inboundCall('4155550111', '5003');
  const [direct] = await expect(d, ['EventRinging 5003 4155550111 C5 Ringing'], 'direct inbound');
  await d.request('RequestAnswerCall', { thisDN: '5003', connId: direct!.connId });
  await caller.simulate({ callerHangup: { ani: '4155550111' } });
  await expect(d, ['EventEstablished 5003 4155550111 C5 Established ref', 'EventReleased 5003 4155550111 C5 Released'], 'caller hung up');
  nothingMore('all flows');

  for (const c of clients) {
    const seqs = c.events.filter(isStateEvent).map((e) => e.seq!);
    t.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), `${c.name}: seq strictly increasing`);
  }
  t.match(await ts.health(), { calls: 0 });
});

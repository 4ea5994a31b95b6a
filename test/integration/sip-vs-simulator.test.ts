// One expectation table, two switches (issue 13 item 8): the same desktop script runs against the
// simulated switch and against `tandem switch --sip` with SIPp phones (answered by RequestAnswerCall,
// i.e. NOTIFY talk) and a SIPp trunk caller, and every desktop sees exactly the same T-Library events
// in the same order. Only how the caller arrives differs (Simulate.InboundCall vs a trunk INVITE).
import t from 'tap';
import type { TEvent } from '../../src/protocol/messages.js';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { openClient, startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { isStateEvent, type TestClient } from '../helpers/ws-client.js';
import { runSipp, startPhone, type SippRun } from '../helpers/sipp.js';

const CORE = { routePoints: { 8000: { defaultTarget: '7000', timeoutMs: 200 } } };

/** The shared table: what each desk sees, flow by flow (state events, agent and service events left out). */
const EXPECTED: Record<'inbound' | 'makeCall', Record<string, string[]>> = {
  inbound: {
    5001: ['EventRinging 5001 4155550100 Ringing Inbound', 'EventEstablished 5001 4155550100 Established Inbound', 'EventHeld 5001 4155550100 Held Inbound',
      'EventRetrieved 5001 4155550100 Established Inbound', 'EventReleased 5001 4155550100 Released Inbound'],
    8000: ['EventRouteRequest 8000 4155550100 Queued Inbound', 'EventRouteUsed 8000 7000 Queued Inbound', 'EventQueued 7000 4155550100 Queued Inbound', 'EventDiverted 7000 5001 Queued Inbound'],
  },
  makeCall: {
    5001: ['EventDialing 5001 5002 Dialing Internal', 'EventEstablished 5001 5002 Established Internal', 'EventReleased 5001 5002 Released Internal'],
    5002: ['EventRinging 5002 5001 Ringing Internal', 'EventEstablished 5002 5001 Established Internal', 'EventReleased 5002 5001 Released Internal'],
  },
};

const brief = (e: TEvent) => [e.event, e.thisDN, e.otherDN, e.callState, e.callType].join(' ');
const calls = (c: TestClient) => c.events.filter((e) => isStateEvent(e) && !e.event.startsWith('EventAgent') && !e.event.startsWith('EventDN')).map(brief);

async function run(t: Tap.Test, kind: 'simulator' | 'sip') {
  const sw = await startSwitch(t, kind === 'sip' ? ['--sip', '--sip-port', '0'] : []);
  const line = await sw.proc.waitFor((l) => l.msg === 'ready');
  const sip = `127.0.0.1:${((line.ports ?? {}) as { sip?: number }).sip}`;
  const ts = await startTServer(t, { switchAddress: sw.address, config: { core: CORE } });
  const a = await openClient(t, ts.url, 'desk-5001');
  const b = await openClient(t, ts.url, 'desk-5002');
  const r = await openClient(t, ts.url, 'desk-8000');
  await a.request('RequestRegisterAddress', { thisDN: '5001' });
  await b.request('RequestRegisterAddress', { thisDN: '5002' });
  await r.request('RequestRegisterAddress', { thisDN: '8000' });
  await r.request('RequestRegisterAddress', { thisDN: '7000' });
  const phones: SippRun[] = [];
  if (kind === 'sip') {
    phones.push(await startPhone(t, sip, '5001', 'phone-talk.xml', { calls: 2 }), await startPhone(t, sip, '5002', 'phone-talk.xml'));
    for (const [c, dn] of [[a, '5001'], [b, '5002']] as const) await c.waitFor((e) => e.event === 'EventDNBackInService', 5_000, `${dn} in service`);
  }
  await a.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'ManualIn' });
  await a.request('RequestAgentReady', { thisDN: '5001' });

  // Inbound through route point 8000 and queue 7000; answered, held, retrieved, released by the agent.
  let caller: SippRun | undefined;
  if (kind === 'sip') caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  else {
    const link = await connectLink({ address: sw.address, serverName: 'caller' });
    t.teardown(() => link.close());
    await link.inboundCall('4155550100', '8000');
  }
  const ring = await a.waitFor((e) => e.event === 'EventRinging', 10_000, 'EventRinging');
  const C1 = ring.connId!;
  t.equal((await a.request('RequestAnswerCall', { thisDN: '5001', connId: C1 })).event, 'EventEstablished');
  t.equal((await a.request('RequestHoldCall', { thisDN: '5001', connId: C1 })).event, 'EventHeld');
  t.equal((await a.request('RequestRetrieveCall', { thisDN: '5001', connId: C1 })).event, 'EventRetrieved');
  t.equal((await a.request('RequestReleaseCall', { thisDN: '5001', connId: C1 })).event, 'EventReleased');
  await caller?.done();
  await r.waitFor((e) => e.event === 'EventDiverted', 5_000, 'the queue saw the call leave');
  const inbound = { 5001: calls(a), 8000: calls(r) };
  for (const c of [a, b, r]) c.events.length = 0;

  // Make call 5001 -> 5002, answered by 5002's desktop, released by 5001.
  const dialing = await a.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  const rb = await b.waitFor((e) => e.event === 'EventRinging', 10_000, '5002 rings');
  const answered = await b.request('RequestAnswerCall', { thisDN: '5002', connId: rb.connId }, 10_000);
  t.equal(answered.event, 'EventEstablished', `5002 answered (${answered.errorMessage ?? ''})`);
  t.equal((await a.request('RequestReleaseCall', { thisDN: '5001', connId: dialing.connId })).event, 'EventReleased');
  await b.waitFor((e) => e.event === 'EventReleased', 5_000, '5002 released');
  await Promise.all(phones.map((p) => p.done()));
  return { inbound, makeCall: { 5001: calls(a), 5002: calls(b) } };
}

for (const kind of ['simulator', 'sip'] as const) {
  t.test(`the shared expectation table on the ${kind}`, async (t) => {
    const got = await run(t, kind);
    t.same(got.inbound, EXPECTED.inbound, 'inbound: route point -> queue -> agent, answer, hold, retrieve, release');
    t.same(got.makeCall, EXPECTED.makeCall, 'make call, answered by the callee\'s desktop, released');
  });
}

// A mixed workload for HA tests, driven on the primary: agents in every state and calls in every
// state (ringing, established with user data, held, consultation, conference, queued with
// treatment, parked at a route point), with registrations. Everything it creates stays up, so a
// test can compare the backup's state with the primary's and fail over in the middle of it.
import type { LinkClient } from '../../src/adapters/switch-client/link-client.js';
import type { TEvent } from '../../src/protocol/messages.js';
import type { TestClient } from './ws-client.js';

/** Config for the pair: a queue with a long wrap-up, one nobody serves, a patient route point. */
export const WORKLOAD_CONFIG = {
  core: {
    queues: { 7001: { wrapUpMs: 0, treatment: 'music-on-hold' }, 7003: { wrapUpMs: 600_000, treatment: 'music' } },
    routePoints: { 8001: { defaultTarget: '5099', timeoutMs: 600_000 } },
  },
};

export const WORKLOAD_DNS = ['5011', '5012', '5013', '5014', '5021', '5031', '5032', '5041', '5042', '5051', '5052', '5053',
  '5061', '5062', '5063', '7001', '8001'];

export interface Workload { connIds: Record<string, string> }

function must(ev: TEvent, event: string, what: string): TEvent {
  if (ev.event !== event) throw new Error(`${what}: expected ${event}, got ${JSON.stringify(ev)}`);
  return ev;
}

/** Runs the workload through `c` (a client open on the primary) and the switch's caller link. */
export async function runWorkload(c: TestClient, caller: LinkClient, tag = ''): Promise<Workload> {
  const seen = (event: string, dn: string, from: number) => c.waitFor((e) => e.event === event && e.thisDN === dn && c.events.indexOf(e) >= from, 5_000, `${event} on ${dn}`);
  const req = async (name: Parameters<TestClient['request']>[0], attrs: Record<string, unknown>, want: string) => must(await c.request(name, attrs), want, `${name} ${JSON.stringify(attrs)}`);
  for (const dn of WORKLOAD_DNS) await req('RequestRegisterAddress', { thisDN: dn }, 'EventRegistered');
  const connIds: Record<string, string> = {};
  const call = async (from: string, to: string, userData?: Record<string, unknown>) => {
    const mark = c.events.length;
    const d = await req('RequestMakeCall', { thisDN: from, otherDN: to, ...(userData ? { userData } : {}) }, 'EventDialing');
    await seen('EventRinging', to, mark);
    await req('RequestAnswerCall', { thisDN: to, connId: d.connId }, 'EventEstablished');
    return d.connId!;
  };

  // Agents: Ready, NotReady (AuxWork with reasons), AfterCallWork (long wrap-up), logged out again.
  await req('RequestAgentLogin', { thisDN: '5011', agentId: `ready${tag}`, thisQueue: '7002', workMode: 'ManualIn' }, 'EventAgentLogin');
  await req('RequestAgentReady', { thisDN: '5011' }, 'EventAgentReady');
  await req('RequestAgentLogin', { thisDN: '5012', agentId: `aux${tag}`, thisQueue: '7002' }, 'EventAgentLogin');
  await req('RequestAgentNotReady', { thisDN: '5012', workMode: 'AuxWork', reasons: { why: 'lunch' } }, 'EventAgentNotReady');
  await req('RequestAgentLogin', { thisDN: '5013', agentId: `acw${tag}`, thisQueue: '7003', workMode: 'ManualIn' }, 'EventAgentLogin');
  const acw = await call('5013', '5014');
  await req('RequestReleaseCall', { thisDN: '5013', connId: acw }, 'EventReleased');

  // Calls in every state.
  let mark = c.events.length;
  await caller.inboundCall('4155550021', '5021');
  connIds.ringing = (await seen('EventRinging', '5021', mark)).connId!;
  connIds.established = await call('5031', '5032', { account: `42${tag}`, tier: 'gold' });
  await req('RequestAttachUserData', { thisDN: '5031', connId: connIds.established, userData: { note: 'vip' } }, 'EventAttachedDataChanged');
  connIds.held = await call('5041', '5042');
  await req('RequestHoldCall', { thisDN: '5041', connId: connIds.held }, 'EventHeld');
  connIds.consulted = await call('5051', '5052');
  mark = c.events.length;
  await req('RequestInitiateTransfer', { thisDN: '5051', connId: connIds.consulted, otherDN: '5053' }, 'EventHeld');
  connIds.consult = (await seen('EventRinging', '5053', mark)).connId!;
  connIds.conference = await call('5061', '5062');
  mark = c.events.length;
  await req('RequestInitiateConference', { thisDN: '5061', connId: connIds.conference, otherDN: '5063' }, 'EventHeld');
  const confConsult = (await seen('EventRinging', '5063', mark)).connId!;
  await req('RequestAnswerCall', { thisDN: '5063', connId: confConsult }, 'EventEstablished');
  await req('RequestCompleteConference', { thisDN: '5061', connId: connIds.conference, transferConnId: confConsult }, 'EventPartyAdded');
  mark = c.events.length;
  await caller.inboundCall('4155550071', '7001');
  connIds.queued = (await seen('EventQueued', '7001', mark)).connId!;
  mark = c.events.length;
  await caller.inboundCall('4155550081', '8001');
  connIds.routing = (await seen('EventRouteRequest', '8001', mark)).connId!;
  return { connIds };
}

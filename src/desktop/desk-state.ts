// What the agent's page shows about its DN, computed from T-Library events only (pure, no DOM):
// the agent state and the calls with their state, ConnID, ANI/DNIS and attached data. The page
// re-renders from this after every event.
import type { AgentState, CallEventName, CallInfo, CallState, CallType, EventOf, TEvent, UserData } from '../protocol/messages.js';

export interface DeskCall {
  connId: string;
  state: CallState;
  callType?: CallType;
  ani?: string;
  dnis?: string;
  otherDN?: string;
  userData: UserData;
}

/** A consultation in progress: `main` is held, `consult` is the call to the third party. */
export interface Consult { kind: 'transfer' | 'conference'; main: string; consult?: string }

export interface DeskState {
  dn: string;
  agentState: AgentState;
  workMode?: string;
  calls: Map<string, DeskCall>;
  consult?: Consult;
}

export function emptyDesk(dn: string): DeskState {
  return { dn, agentState: 'LoggedOut', calls: new Map() };
}

const CALL_STATE: Partial<Record<CallEventName, CallState>> = {
  EventRinging: 'Ringing',
  EventDialing: 'Dialing',
  EventNetworkReached: 'NetworkReached',
  EventEstablished: 'Established',
  EventHeld: 'Held',
  EventRetrieved: 'Established',
  EventPartyChanged: 'Established',
  EventPartyAdded: 'Conferenced',
};

/** Applies one event about this desk's DN (others are ignored). Mutates and returns the state. */
export function applyEvent(s: DeskState, ev: TEvent): DeskState {
  if (!('thisDN' in ev) || ev.thisDN !== s.dn) return s;
  switch (ev.event) {
    case 'EventRegistered':
      return fromSnapshot(s, ev);
    case 'EventAgentLogin':
      s.agentState = ev.agentState ?? 'NotReady';
      s.workMode = ev.workMode;
      return s;
    case 'EventAgentReady':
      s.agentState = 'Ready';
      s.workMode = ev.workMode;
      return s;
    case 'EventAgentNotReady':
      s.agentState = ev.workMode === 'AfterCallWork' ? 'AfterCallWork' : 'NotReady';
      s.workMode = ev.workMode;
      return s;
    case 'EventAgentLogout':
      s.agentState = 'LoggedOut';
      s.workMode = undefined;
      return s;
    case 'EventReleased':
    case 'EventAbandoned':
      if (ev.connId) s.calls.delete(ev.connId);
      if (s.consult && (ev.connId === s.consult.main || ev.connId === s.consult.consult)) s.consult = undefined;
      // The core's rule, which sends no event for it: a Busy agent's last call ended -> Ready
      // (a queue's wrap-up comes as EventAgentNotReady AfterCallWork right after).
      if (s.agentState === 'Busy' && s.calls.size === 0) s.agentState = 'Ready';
      return s;
    case 'EventAttachedDataChanged': {
      const c = ev.connId ? s.calls.get(ev.connId) : undefined;
      if (c && ev.userData) c.userData = { ...ev.userData };
      return s;
    }
    default:
      break;
  }
  if (!('connId' in ev)) return s; // not a call event
  const state = CALL_STATE[ev.event];
  if (!state || !ev.connId) return s;
  if (ev.event === 'EventPartyChanged' && ev.previousConnId && s.calls.has(ev.previousConnId)) {
    const prev = s.calls.get(ev.previousConnId)!;
    s.calls.delete(ev.previousConnId);
    s.calls.set(ev.connId, { ...prev, connId: ev.connId });
  }
  const call = s.calls.get(ev.connId) ?? { connId: ev.connId, state, userData: {} };
  call.state = state;
  if (ev.callType) call.callType = ev.callType;
  if (ev.ani) call.ani = ev.ani;
  if (ev.dnis) call.dnis = ev.dnis;
  if (ev.otherDN) call.otherDN = ev.otherDN;
  if (ev.userData) call.userData = { ...ev.userData };
  s.calls.set(ev.connId, call);
  // The core's rule, which sends no event for it: a Ready agent on a call is Busy.
  if (s.agentState === 'Ready') s.agentState = 'Busy';
  if (ev.event === 'EventDialing' && ev.callType === 'Consult' && s.consult && !s.consult.consult) s.consult.consult = ev.connId;
  return s;
}

/** The DN's calls and agent state as EventRegistered describes them now (after a (re)connect). */
function fromSnapshot(s: DeskState, ev: EventOf<'EventRegistered'>): DeskState {
  if (ev.agentState) s.agentState = ev.agentState;
  if (ev.workMode) s.workMode = ev.workMode;
  if (!ev.calls) return s;
  s.calls = new Map();
  for (const c of ev.calls) s.calls.set(c.connId, callFromInfo(s.dn, c));
  return s;
}

function callFromInfo(dn: string, c: CallInfo): DeskCall {
  const mine = c.parties.find((p) => p.dn === dn);
  const other = c.parties.find((p) => p.dn !== dn);
  return { connId: c.connId, state: mine?.state ?? c.state ?? 'Established', callType: c.callType, ani: c.ani, dnis: c.dnis, otherDN: other?.dn, userData: { ...c.userData } };
}

// The T-Library attributes every call event carries, taken from the call as the T-Server knows it.
import type { Call } from './api.js';
import type { CallEvent, CallEventName, CallInfo } from '../protocol/messages.js';

export function callEvent(call: Call, event: CallEventName, thisDN: string, otherDN?: string): CallEvent {
  const ev: CallEvent = { event, thisDN, connId: call.connId, callType: call.callType, userData: call.userData };
  if (otherDN) ev.otherDN = otherDN;
  const party = call.parties.find((p) => p.dn === thisDN);
  if (party) ev.callState = party.state;
  if (call.ani) ev.ani = call.ani;
  if (call.dnis) ev.dnis = call.dnis;
  if (call.consultOf) ev.transferConnId = call.consultOf;
  return ev;
}

/** The other end of the call as seen from `dn`: the first other party, else the caller. */
export function otherParty(call: Call, dn: string): string {
  return call.parties.find((p) => p.dn !== dn)?.dn ?? (call.ani && call.ani !== dn ? call.ani : '');
}

export function callInfo(call: Call, dn?: string): CallInfo {
  const info: CallInfo = { connId: call.connId, callType: call.callType, parties: call.parties.map((p) => ({ ...p })), userData: call.userData };
  if (call.ani) info.ani = call.ani;
  if (call.dnis) info.dnis = call.dnis;
  const state = dn ? call.parties.find((p) => p.dn === dn)?.state : undefined;
  if (state) info.state = state;
  return info;
}

// Call lookups and the bookkeeping when a call or a party goes away, shared by the switch event mappers.
import type { sw } from '../wire/switch-proto.js';
import type { Call } from './api.js';
import { distribute, releaseReservation, removeFromQueue } from './acd.js';
import { agentCallEnded } from './agents.js';
import { callTypeOf, partiesOf } from './switch-map.js';
import type { Tx } from './tx.js';

export function isInternal(tx: Tx, dn: string): boolean {
  const d = tx.state.devices.get(dn);
  return d !== undefined && d.type !== 'External';
}

export function callOf(tx: Tx, switchCallId: string | null | undefined): Call | undefined {
  const connId = switchCallId ? tx.state.bySwitchCall.get(switchCallId) : undefined;
  return connId ? tx.state.calls.get(connId) : undefined;
}

/** The call with its parties as the switch reports them after this event (put as a new value). */
export function withParties(tx: Tx, ev: sw.ISwitchEvent, patch: Partial<Call> = {}): Call | undefined {
  const call = callOf(tx, ev.callId);
  if (!call) return undefined;
  const next: Call = { ...call, ...patch, parties: ev.parties ? partiesOf(ev.parties) : call.parties };
  tx.put('calls', next.connId, next);
  return next;
}

/** The call is no longer parked where it was: drop its route request or queue entry. */
/** A call the T-Server sees for the first time: the next ConnID, switch data, no user data yet. */
export function newCall(tx: Tx, switchCallId: string, callType: sw.CallType | null | undefined, ani: string, dnis: string, conns: sw.IConnection[] | null | undefined): Call {
  return { connId: tx.newConnId(), switchCallId, callType: callTypeOf(callType), ani, dnis, parties: partiesOf(conns), userData: {}, autoCommands: 0 };
}

export function leaveParking(tx: Tx, call: Call): void {
  if (!call.parkedAt) return;
  if (call.parkedAt.kind === 'routePoint') {
    if (tx.state.routeRequests.has(call.connId)) tx.del('routeRequests', call.connId);
  } else {
    const entry = removeFromQueue(tx, call.parkedAt.dn, call.connId);
    if (entry?.offer) {
      releaseReservation(tx, entry.offer.agentDn);
      // The agent is Ready again: offer it the next waiting caller now, not at some later tick.
      const q = tx.state.agents.get(entry.offer.agentDn)?.queue;
      if (q) distribute(tx, q);
    }
  }
}

export function dropCall(tx: Tx, call: Call): void {
  leaveParking(tx, call);
  tx.del('calls', call.connId);
}

/** `dn` left a call: its agent may go to wrap-up or back to Ready (and then take a waiting caller). */
export function callEndedAt(tx: Tx, dn: string): void {
  if (agentCallEnded(tx, dn)) {
    const q = tx.state.agents.get(dn)?.queue;
    if (q) distribute(tx, q);
  }
}

// Transfer and conference: the switch merges the consultation call into the original one (or moves a
// single call on). The original call keeps its ConnID; parties that came over from the consultation
// call learn its old ConnID as previousConnId.
import type { sw } from '../wire/switch-proto.js';
import type { Call } from './api.js';
import { callEvent, otherParty } from './call-events.js';
import { callEndedAt, callOf, isInternal, withParties } from './calls.js';
import { takeQueuePlace } from './acd.js';
import type { Tx } from './tx.js';

type Ev = sw.ISwitchEvent;

/**
 * Two-step (secondary = consultation call): A: EventReleased C2, A: EventReleased C (both
 * callState Transferred); target: EventPartyChanged (connId C, previousConnId C2); every other
 * internal party of C: EventPartyChanged (otherDN = target). Single-step: A: EventReleased C
 * (Transferred); the others: EventPartyChanged; the target's DELIVERED follows from the switch.
 */
export function onTransferred(tx: Tx, ev: Ev, a: string, target: string): void {
  const c1 = callOf(tx, ev.callId);
  if (!c1) return;
  const c2 = ev.secondaryCallId ? callOf(tx, ev.secondaryCallId) : undefined;
  if (c2 && isInternal(tx, a)) tx.emit(a, { ...callEvent(c2, 'EventReleased', a, target), callState: 'Transferred' });
  if (isInternal(tx, a)) tx.emit(a, { ...callEvent(c1, 'EventReleased', a, c2 ? otherParty(c1, a) : target), callState: 'Transferred' });
  const merged = merge(tx, ev, c1, c2);
  for (const p of merged.parties) {
    if (p.dn === a || !isInternal(tx, p.dn)) continue;
    if (c2 && p.dn === target) {
      tx.emit(p.dn, { ...callEvent(merged, 'EventPartyChanged', p.dn, otherParty(merged, p.dn)), previousConnId: c2.connId, thirdDN: a });
    } else if (p.dn !== target) {
      tx.emit(p.dn, { ...callEvent(merged, 'EventPartyChanged', p.dn, target), thirdDN: a });
    }
  }
  callEndedAt(tx, a);
}

/**
 * A: EventPartyAdded C (the request's direct answer), A: EventReleased C2 (callState Conferenced);
 * the added party: EventPartyChanged (connId C, previousConnId C2); every other internal party of C:
 * EventPartyAdded (otherDN = the added party).
 */
export function onConferenced(tx: Tx, ev: Ev, a: string, added: string): void {
  const c1 = callOf(tx, ev.callId);
  const c2 = ev.secondaryCallId ? callOf(tx, ev.secondaryCallId) : undefined;
  if (!c1) return;
  const merged = merge(tx, ev, c1, c2);
  if (isInternal(tx, a)) {
    const ev1 = { ...callEvent(merged, 'EventPartyAdded', a, added), thirdDN: added, parties: merged.parties };
    tx.emit(a, c2 ? { ...ev1, transferConnId: c2.connId } : ev1);
    if (c2) tx.emit(a, { ...callEvent(c2, 'EventReleased', a, added), callState: 'Conferenced' });
  }
  for (const p of merged.parties) {
    if (p.dn === a || !isInternal(tx, p.dn)) continue;
    if (p.dn === added && c2) tx.emit(p.dn, { ...callEvent(merged, 'EventPartyChanged', p.dn, a), previousConnId: c2.connId, parties: merged.parties });
    else if (p.dn !== added) tx.emit(p.dn, { ...callEvent(merged, 'EventPartyAdded', p.dn, added), thirdDN: added, parties: merged.parties });
  }
}

/** C2 is gone; C has the parties the switch reports. A consultation call parked somewhere moves its parking onto C. */
function merge(tx: Tx, ev: Ev, c1: Call, c2: Call | undefined): Call {
  let parkedAt = c1.parkedAt;
  if (c2?.parkedAt) {
    parkedAt = c2.parkedAt;
    const rr = tx.state.routeRequests.get(c2.connId);
    if (rr) {
      tx.del('routeRequests', c2.connId);
      tx.put('routeRequests', c1.connId, { ...rr, connId: c1.connId });
    }
    // The old offer named the consultation call, which no longer exists: C waits in its place, offered afresh.
    if (c2.parkedAt.kind === 'queue' && tx.state.queueEntries.get(c2.connId)?.queue === c2.parkedAt.dn) takeQueuePlace(tx, c2.connId, c1.connId);
  }
  if (c2) tx.del('calls', c2.connId);
  return withParties(tx, ev, parkedAt ? { parkedAt } : {})!;
}

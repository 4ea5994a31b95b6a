// Switch events (docs/switch.md) -> T-Library events on every internal DN involved, in switch-seq order.
// Each event's command_id ties it to the client request that caused it: the first T-Library event on
// the requester's DN is that request's direct answer.
import { sw } from '../wire/switch-proto.js';
import type { TEvent } from '../protocol/messages.js';
import { distribute, enqueue, releaseReservation, removeFromQueue } from './acd.js';
import { agentCallStarted } from './agents.js';
import { callEvent, otherParty } from './call-events.js';
import { onConferenced, onTransferred } from './call-merge.js';
import { callEndedAt, callOf, dropCall, isInternal, leaveParking, newCall, withParties } from './calls.js';
import { parkAtRoutePoint } from './routing.js';
import type { Tx } from './tx.js';

type Ev = sw.ISwitchEvent;

export function onSwitchEvents(tx: Tx, events: Ev[]): void {
  for (const ev of events) {
    const seq = ev.seq ?? 0;
    if (seq <= tx.lastSwitchSeq) continue; // redelivery overlap: already applied
    tx.switchSeqApplied(seq);
    const commandId = ev.commandId || undefined;
    const p = commandId && !tx.state.dedup.has(commandId) ? tx.state.pending.get(commandId) : undefined; // answered already: dedup
    tx.cause = commandId;
    tx.awaiting = p ? { clientName: p.clientName, referenceId: p.referenceId, thisDN: p.thisDN, commandId: p.commandId, ...(p.fp ? { fp: p.fp } : {}) } : undefined;
    try {
      onSwitchEvent(tx, ev);
    } finally {
      tx.cause = undefined;
      tx.awaiting = undefined;
    }
  }
}

function onSwitchEvent(tx: Tx, ev: Ev): void {
  const dn = ev.dn ?? '';
  const other = ev.otherDn ?? '';
  switch (ev.type) {
    case sw.EventType.ORIGINATED:
      return onOriginated(tx, ev, dn, other);
    case sw.EventType.DELIVERED:
      return onDelivered(tx, ev, dn, other);
    case sw.EventType.NETWORK_REACHED: {
      const call = withParties(tx, ev);
      if (call && isInternal(tx, other)) tx.emit(other, callEvent(call, 'EventNetworkReached', other, dn));
      return;
    }
    case sw.EventType.ESTABLISHED: {
      const call = withParties(tx, ev);
      if (!call) return;
      if (isInternal(tx, dn)) tx.emit(dn, callEvent(call, 'EventEstablished', dn, other));
      if (isInternal(tx, other) && call.parties.some((x) => x.dn === other)) tx.emit(other, callEvent(call, 'EventEstablished', other, dn));
      return;
    }
    case sw.EventType.HELD:
    case sw.EventType.RETRIEVED: {
      const call = withParties(tx, ev);
      if (call && isInternal(tx, dn)) tx.emit(dn, callEvent(call, ev.type === sw.EventType.HELD ? 'EventHeld' : 'EventRetrieved', dn, otherParty(call, dn)));
      return;
    }
    case sw.EventType.CONNECTION_CLEARED:
      return onCleared(tx, ev, dn);
    case sw.EventType.TRANSFERRED:
      return onTransferred(tx, ev, dn, other);
    case sw.EventType.CONFERENCED:
      return onConferenced(tx, ev, dn, other);
    case sw.EventType.DIVERTED:
      return onDiverted(tx, ev, dn, other);
    case sw.EventType.DN_OUT_OF_SERVICE:
    case sw.EventType.DN_BACK_IN_SERVICE:
      return onServiceChanged(tx, dn, ev.type === sw.EventType.DN_OUT_OF_SERVICE);
    default:
      return; // unknown event types from a newer switch: nothing to map
  }
}

function onOriginated(tx: Tx, ev: Ev, dn: string, other: string): void {
  let call = callOf(tx, ev.callId);
  if (call) call = withParties(tx, ev)!;
  else {
    const consultOf = ev.secondaryCallId ? tx.state.bySwitchCall.get(ev.secondaryCallId) : undefined;
    const orig = consultOf ? tx.state.calls.get(consultOf) : undefined;
    const p = ev.commandId ? tx.state.pending.get(ev.commandId) : undefined;
    call = newCall(tx, ev.callId ?? '', ev.callType, ev.ani || dn, ev.dnis || other, ev.parties);
    call.userData = { ...(orig?.userData ?? {}), ...(p?.userData ?? {}) };
    if (consultOf) call.consultOf = consultOf;
    tx.put('calls', call.connId, call);
  }
  if (isInternal(tx, dn)) tx.emit(dn, { ...callEvent(call, 'EventDialing', dn, other), thisDNRole: 'Origination', otherDNRole: 'Destination' });
  agentCallStarted(tx, dn);
}

function onDelivered(tx: Tx, ev: Ev, dn: string, other: string): void {
  const type = tx.state.devices.get(dn)?.type;
  const parkedAt = type === 'RoutePoint' ? ({ dn, since: tx.now, kind: 'routePoint' } as const) : type === 'ACDQueue' ? ({ dn, since: tx.now, kind: 'queue' } as const) : undefined;
  let call = callOf(tx, ev.callId);
  if (call) call = withParties(tx, ev, parkedAt ? { parkedAt } : {})!;
  else {
    call = newCall(tx, ev.callId ?? '', ev.callType, ev.ani || other, ev.dnis || dn, ev.parties);
    if (parkedAt) call.parkedAt = parkedAt;
    tx.put('calls', call.connId, call);
  }
  switch (type) {
    case 'Extension':
      tx.emit(dn, { ...callEvent(call, 'EventRinging', dn, other), thisDNRole: 'Destination', otherDNRole: 'Origination' });
      agentCallStarted(tx, dn);
      return;
    case 'RoutePoint':
      return parkAtRoutePoint(tx, call, dn, other);
    case 'ACDQueue':
      return enqueue(tx, call, dn, other);
    default:
      return;
  }
}

function onCleared(tx: Tx, ev: Ev, dn: string): void {
  const before = callOf(tx, ev.callId);
  if (!before) return;
  const parked = before.parkedAt?.dn === dn;
  const after = withParties(tx, ev, parked ? { parkedAt: undefined } : {})!;
  if (isInternal(tx, dn)) {
    const otherDN = otherParty(before, dn);
    if (parked) {
      leaveParking(tx, before);
      tx.emit(dn, { ...callEvent(before, 'EventAbandoned', dn, otherDN), callState: 'Abandoned' });
    } else {
      tx.emit(dn, { ...callEvent(before, 'EventReleased', dn, otherDN), callState: ev.cause === 'Transferred' ? 'Transferred' : 'Released' });
    }
  }
  if (ev.cause === 'DeletedFromConference') {
    for (const p of after.parties) if (isInternal(tx, p.dn)) tx.emit(p.dn, { ...callEvent(after, 'EventPartyDeleted', p.dn, dn), thirdDN: dn });
  }
  if (after.parties.length === 0) dropCall(tx, after);
  callEndedAt(tx, dn);
}

/** A phone (un)registered at the SIP switch: the device's service state, told to the DN's desktops. */
function onServiceChanged(tx: Tx, dn: string, out: boolean): void {
  const device = tx.state.devices.get(dn);
  if (!device || !!device.outOfService === out) return;
  const { outOfService: _was, ...rest } = device;
  tx.put('devices', dn, out ? { ...rest, outOfService: true } : rest);
  tx.emit(dn, { event: out ? 'EventDNOutOfService' : 'EventDNBackInService', thisDN: dn, thisDNType: device.type });
  // A Ready agent whose phone just came back can take the caller waiting longest now.
  const queue = tx.state.agents.get(dn)?.queue;
  if (!out && queue) distribute(tx, queue);
}

function onDiverted(tx: Tx, ev: Ev, dn: string, other: string): void {
  const before = callOf(tx, ev.callId);
  if (!before) return;
  const parked = before.parkedAt?.dn === dn ? before.parkedAt : undefined;
  withParties(tx, ev, parked ? { parkedAt: undefined } : {});
  let event: TEvent;
  if (parked?.kind === 'routePoint') {
    tx.del('routeRequests', before.connId);
    event = callEvent(before, 'EventRouteUsed', dn, other);
  } else if (parked?.kind === 'queue') {
    const entry = removeFromQueue(tx, dn, before.connId);
    if (entry?.offer && entry.offer.agentDn !== other) releaseReservation(tx, entry.offer.agentDn);
    event = { ...callEvent(before, 'EventDiverted', dn, other), thisQueue: dn };
  } else {
    event = callEvent(before, 'EventDiverted', dn, other);
  }
  if (isInternal(tx, dn)) tx.emit(dn, event);
  callEndedAt(tx, dn);
}

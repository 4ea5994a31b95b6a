// The switch's Snapshot (after a redelivery gap, or at first start): rebuild devices and the calls the
// switch knows, quietly (no events: nothing happened, the T-Server only catches up). Calls the switch
// no longer has are dropped; calls it has that the core did not know get new ConnIDs.
import type { sw } from '../wire/switch-proto.js';
import type { Call, Device } from './api.js';
import { distribute, joinQueue, releaseReservation, removeFromQueue } from './acd.js';
import { callEndedAt, dropCall, newCall } from './calls.js';
import { queueConfig, routePointConfig } from './config.js';
import { dnTypeOf, partiesOf } from './switch-map.js';
import type { Tx } from './tx.js';

export function onSwitchSnapshot(tx: Tx, snap: sw.ISnapshot): void {
  const devices = new Map<string, Device>();
  for (const d of snap.devices ?? []) if (d.dn) devices.set(d.dn, { dn: d.dn, type: dnTypeOf(d.type), ...(d.outOfService ? { outOfService: true as const } : {}) });
  for (const dn of [...tx.state.devices.keys()]) if (!devices.has(dn)) tx.del('devices', dn);
  for (const [dn, d] of devices) {
    const old = tx.state.devices.get(dn);
    if (!old || old.type !== d.type || !!old.outOfService !== !!d.outOfService) tx.put('devices', dn, d);
  }

  const seen = new Set<string>();
  const touched = new Set<string>();
  for (const sc of snap.calls ?? []) {
    const switchCallId = sc.callId ?? '';
    const connId = tx.state.bySwitchCall.get(switchCallId);
    const old = connId ? tx.state.calls.get(connId) : undefined;
    const parties = partiesOf(sc.parties);
    const consultOf = sc.consultOf ? tx.state.bySwitchCall.get(sc.consultOf) : undefined;
    const call: Call = old
      ? { ...old, parties }
      : newCall(tx, switchCallId, sc.callType, sc.ani ?? '', sc.dnis ?? '', sc.parties);
    if (consultOf) call.consultOf = consultOf;
    const park = parties.find((p) => p.state === 'Queued' && (p.dnType === 'RoutePoint' || p.dnType === 'ACDQueue'));
    if (!park) delete call.parkedAt;
    else if (call.parkedAt?.dn !== park.dn) call.parkedAt = { dn: park.dn, since: tx.now, kind: park.dnType === 'RoutePoint' ? 'routePoint' : 'queue' };
    tx.put('calls', call.connId, call);
    seen.add(call.connId);
    for (const p of [...(old?.parties ?? []), ...parties]) touched.add(p.dn);
    if (call.parkedAt?.kind === 'routePoint' && !tx.state.routeRequests.has(call.connId)) {
      const cfg = routePointConfig(tx.ctx.config, call.parkedAt.dn);
      tx.put('routeRequests', call.connId, { connId: call.connId, routePoint: call.parkedAt.dn, deadline: tx.now + cfg.timeoutMs, defaultTarget: cfg.defaultTarget });
    }
    if (call.parkedAt?.kind === 'queue' && tx.state.queueEntries.get(call.connId)?.queue !== call.parkedAt.dn) {
      joinQueue(tx, call.connId, call.parkedAt.dn, tx.now, queueConfig(tx.ctx.config, call.parkedAt.dn).treatment);
    }
  }
  for (const call of [...tx.state.calls.values()]) {
    if (seen.has(call.connId)) continue;
    for (const p of call.parties) touched.add(p.dn);
    dropCall(tx, call);
  }
  for (const rr of [...tx.state.routeRequests.values()]) if (tx.state.calls.get(rr.connId)?.parkedAt?.dn !== rr.routePoint) tx.del('routeRequests', rr.connId);
  for (const w of [...tx.state.queueEntries.values()]) {
    if (tx.state.calls.get(w.connId)?.parkedAt?.dn === w.queue) continue;
    removeFromQueue(tx, w.queue, w.connId);
    if (w.offer) releaseReservation(tx, w.offer.agentDn);
  }
  for (const dn of touched) callEndedAt(tx, dn);
  tx.switchSeqApplied(snap.lastSeq ?? 0);
  for (const q of [...tx.state.queueIndex.lines.keys()]) distribute(tx, q);
}

// Route points: a call parked at a route point asks its routing clients (those registered on the
// route point) where to go. RequestRouteCall answers; without an answer within the route point's
// timeout the core routes the call to the route point's default target itself.
import type { Call, RouteRequest } from './api.js';
import { autoCommandId } from './acd.js';
import { callEvent } from './call-events.js';
import { routePointConfig } from './config.js';
import type { Tx } from './tx.js';

/** No default target: the call waits for a router for as long as it takes. */
const NEVER = Number.MAX_SAFE_INTEGER;

export function parkAtRoutePoint(tx: Tx, call: Call, rp: string, otherDN: string): void {
  const cfg = routePointConfig(tx.ctx.config, rp);
  const rr: RouteRequest = { connId: call.connId, routePoint: rp, deadline: cfg.defaultTarget ? tx.now + cfg.timeoutMs : NEVER, defaultTarget: cfg.defaultTarget };
  tx.put('routeRequests', call.connId, rr);
  tx.emit(rp, callEvent(call, 'EventRouteRequest', rp, otherDN));
}

/** A router's RequestRouteCall is on its way to the switch: hold the default routing back meanwhile. */
export function routeIssued(tx: Tx, rr: RouteRequest): void {
  const cfg = routePointConfig(tx.ctx.config, rr.routePoint);
  tx.put('routeRequests', rr.connId, { ...rr, deadline: rr.defaultTarget ? tx.now + cfg.timeoutMs : NEVER });
}

/** Route requests whose time is up go to the default target (retried every timeout until the call moves). */
export function routeTick(tx: Tx): void {
  const live = tx.state.routeRequests;
  for (const [connId, rr] of tx.state.timers.routes.due(live, tx.now)) {
    if (live.get(connId) !== rr || rr.deadline > tx.now) continue;
    const call = tx.state.calls.get(rr.connId);
    if (!call) {
      tx.del('routeRequests', rr.connId);
      continue;
    }
    routeIssued(tx, rr);
    if (!tx.ctx.switchUp || !rr.defaultTarget) continue;
    const commandId = autoCommandId(call);
    tx.put('calls', call.connId, { ...call, autoCommands: call.autoCommands + 1 });
    tx.command({ commandId, deflect: { callId: call.switchCallId, dn: rr.routePoint, to: rr.defaultTarget } });
  }
}

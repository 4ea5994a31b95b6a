// ACD queues: callers wait in FIFO order with a treatment; each goes to the longest-idle Ready agent
// logged in to the queue. The agent is reserved (Busy) from the moment the Deflect is issued, so it
// is never offered two calls; the offer is re-issued with the same command id if the switch never
// answers (the switch runs a command id at most once), and undone if the switch refuses it.
//
// Each waiting caller is its own entity (`queueEntries`, key ConnID) numbered by its queue's counter
// (`queues`); the derived index (queue-index.ts) holds each queue's line. Every step here is one or
// two small deltas and O(log n) work, whatever the number of callers waiting.
import type { Agent, Call, QueueEntry } from './api.js';
import { hasCalls, stepAgent } from './agents.js';
import { pendingTimeout, queueConfig } from './config.js';
import { callEvent } from './call-events.js';
import type { Tx } from './tx.js';

export function enqueue(tx: Tx, call: Call, queueDn: string, otherDN: string): void {
  const treatment = queueConfig(tx.ctx.config, queueDn).treatment;
  if (tx.state.queueEntries.get(call.connId)?.queue !== queueDn) joinQueue(tx, call.connId, queueDn, tx.now, treatment);
  tx.emit(queueDn, { ...callEvent(call, 'EventQueued', queueDn, otherDN), thisQueue: queueDn, treatment });
  distribute(tx, queueDn);
}

/** `connId` joins the back of the queue (leaving any other queue it was still listed in). */
export function joinQueue(tx: Tx, connId: string, queueDn: string, since: number, treatment: string): void {
  const old = tx.state.queueEntries.get(connId);
  if (old?.offer) releaseReservation(tx, old.offer.agentDn); // its offer named the other queue
  const order = (tx.state.queues.get(queueDn)?.lastOrder ?? 0) + 1;
  tx.put('queues', queueDn, { dn: queueDn, lastOrder: order });
  tx.put('queueEntries', connId, { connId, queue: queueDn, order, since, treatment });
}

/** The call left the queue (diverted, abandoned, transferred away): drop its entry. The caller frees a reserved agent. */
export function removeFromQueue(tx: Tx, queueDn: string, connId: string): QueueEntry | undefined {
  const entry = tx.state.queueEntries.get(connId);
  if (entry?.queue !== queueDn) return undefined;
  tx.del('queueEntries', connId);
  return entry;
}

/**
 * The waiting consultation call `from` was merged into `to` (transfer, conference): `to` waits in its
 * place, offered afresh (the old offer named a call that no longer exists).
 */
export function takeQueuePlace(tx: Tx, from: string, to: string): void {
  const entry = tx.state.queueEntries.get(from);
  if (!entry) return;
  if (entry.offer) releaseReservation(tx, entry.offer.agentDn);
  const old = tx.state.queueEntries.get(to);
  if (old?.offer) releaseReservation(tx, old.offer.agentDn);
  tx.del('queueEntries', from);
  tx.put('queueEntries', to, { connId: to, queue: entry.queue, order: entry.order, since: entry.since, treatment: entry.treatment });
}

/** After an offer that did not reach its agent: the agent becomes Ready again unless it has calls. */
export function releaseReservation(tx: Tx, agentDn: string): void {
  if (!hasCalls(tx, agentDn)) stepAgent(tx, agentDn, { kind: 'offerFailed' });
}

/** The command id of the ACD's or the router's next Deflect of `call`: names the call, so a result finds its entry. */
export function autoCommandId(call: Call): string {
  return `auto:${call.connId}:${call.autoCommands}`;
}

/** The ConnID an autoCommandId names, or undefined for any other command id. */
function connIdOfAuto(commandId: string): string | undefined {
  if (!commandId.startsWith('auto:')) return undefined;
  const end = commandId.lastIndexOf(':');
  return end > 5 ? commandId.slice(5, end) : undefined;
}

/** Offer waiting callers (oldest first) to Ready agents (longest idle first) while both exist. */
export function distribute(tx: Tx, queueDn: string): void {
  if (!tx.ctx.switchUp) return; // callers keep waiting; the next tick distributes once the link is back
  for (;;) {
    const next = tx.state.queueIndex.lines.get(queueDn)?.firstFree();
    if (!next) return;
    const [connId, entry] = next;
    const agent = longestIdle(tx, queueDn);
    if (!agent) return;
    const call = tx.state.calls.get(connId);
    if (!call) {
      tx.del('queueEntries', connId);
      continue;
    }
    const commandId = autoCommandId(call);
    tx.put('calls', call.connId, { ...call, autoCommands: call.autoCommands + 1 });
    stepAgent(tx, agent.dn, { kind: 'callStarted' });
    tx.put('queueEntries', connId, { ...entry, offer: { agentDn: agent.dn, commandId, at: tx.now } });
    tx.command({ commandId, deflect: { callId: call.switchCallId, dn: queueDn, to: agent.dn } });
  }
}

/** The Ready agent of the queue idle the longest (smallest idleSince, then DN) that has no call. */
function longestIdle(tx: Tx, queueDn: string): Agent | undefined {
  const ready = tx.state.readyByQueue.get(queueDn); // in that order already (derived.ts)
  // An agent whose phone is out of service (SIP: not registered) cannot take a call: skipped, not logged out.
  if (ready) for (const a of ready) if (!hasCalls(tx, a.dn) && !tx.state.devices.get(a.dn)?.outOfService) return a;
  return undefined;
}

/** The switch refused an ACD Deflect: the caller waits again, the agent goes to the back of the idle line. */
export function offerRefused(tx: Tx, commandId: string): boolean {
  const connId = connIdOfAuto(commandId);
  const entry = connId !== undefined ? tx.state.queueEntries.get(connId) : undefined;
  if (!entry?.offer || entry.offer.commandId !== commandId) return false;
  const { offer, ...rest } = entry;
  tx.put('queueEntries', entry.connId, rest);
  releaseReservation(tx, offer.agentDn);
  const a = tx.state.agents.get(offer.agentDn);
  if (a?.state === 'Ready') tx.put('agents', a.dn, { ...a, idleSince: tx.now });
  return true;
}

/** Tick: re-issue offers the switch never answered (same command id), then distribute everywhere. */
export function acdTick(tx: Tx): void {
  if (!tx.ctx.switchUp) return;
  const timeout = pendingTimeout(tx.ctx.config);
  const { queueEntries } = tx.state;
  for (const [connId, w] of tx.state.timers.offers.due(queueEntries, tx.now - timeout)) {
    if (queueEntries.get(connId) !== w || !w.offer) continue;
    const call = tx.state.calls.get(w.connId);
    if (call) tx.command({ commandId: w.offer.commandId, deflect: { callId: call.switchCallId, dn: w.queue, to: w.offer.agentDn } });
    tx.put('queueEntries', connId, { ...w, offer: { ...w.offer, at: tx.now } });
  }
  for (const dn of [...tx.state.queueIndex.lines.keys()]) distribute(tx, dn);
}

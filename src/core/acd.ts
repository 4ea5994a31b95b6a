// ACD queues: callers wait in FIFO order with a treatment; each goes to the longest-idle Ready agent
// logged in to the queue. The agent is reserved (Busy) from the moment the Deflect is issued, so it
// is never offered two calls; the offer is re-issued with the same command id if the switch never
// answers (the switch runs a command id at most once), and undone if the switch refuses it.
import type { Agent, Call, QueueEntry, QueueState } from './api.js';
import { hasCalls, stepAgent } from './agents.js';
import { pendingTimeout, queueConfig } from './config.js';
import { callEvent } from './call-events.js';
import type { Tx } from './tx.js';

export function enqueue(tx: Tx, call: Call, queueDn: string, otherDN: string): void {
  const q = tx.state.queues.get(queueDn) ?? { dn: queueDn, waiting: [] };
  const treatment = queueConfig(tx.ctx.config, queueDn).treatment;
  if (!q.waiting.some((w) => w.connId === call.connId)) {
    tx.put('queues', queueDn, { dn: queueDn, waiting: [...q.waiting, { connId: call.connId, since: tx.now, treatment }] });
  }
  tx.emit(queueDn, { ...callEvent(call, 'EventQueued', queueDn, otherDN), thisQueue: queueDn, treatment });
  distribute(tx, queueDn);
}

/** The call left the queue (diverted, abandoned, transferred away): drop its entry, free a reserved agent. */
export function removeFromQueue(tx: Tx, queueDn: string, connId: string): QueueEntry | undefined {
  const q = tx.state.queues.get(queueDn);
  const entry = q?.waiting.find((w) => w.connId === connId);
  if (!q || !entry) return undefined;
  putQueue(tx, { dn: queueDn, waiting: q.waiting.filter((w) => w !== entry) });
  return entry;
}

/** After an offer that did not reach its agent: the agent becomes Ready again unless it has calls. */
export function releaseReservation(tx: Tx, agentDn: string): void {
  if (!hasCalls(tx, agentDn)) stepAgent(tx, agentDn, { kind: 'offerFailed' });
}

function putQueue(tx: Tx, q: QueueState): void {
  if (q.waiting.length === 0) tx.del('queues', q.dn);
  else tx.put('queues', q.dn, q);
}

/** Offer waiting callers (oldest first) to Ready agents (longest idle first) while both exist. */
export function distribute(tx: Tx, queueDn: string): void {
  if (!tx.ctx.switchUp) return; // callers keep waiting; the next tick distributes once the link is back
  for (;;) {
    const q = tx.state.queues.get(queueDn);
    const entry = q?.waiting.find((w) => !w.offer);
    if (!q || !entry) return;
    const agent = longestIdle(tx, queueDn);
    if (!agent) return;
    const call = tx.state.calls.get(entry.connId);
    if (!call) {
      putQueue(tx, { dn: queueDn, waiting: q.waiting.filter((w) => w !== entry) });
      continue;
    }
    const commandId = `auto:${call.connId}:${call.autoCommands}`;
    tx.put('calls', call.connId, { ...call, autoCommands: call.autoCommands + 1 });
    stepAgent(tx, agent.dn, { kind: 'callStarted' });
    const offered: QueueEntry = { ...entry, offer: { agentDn: agent.dn, commandId, at: tx.now } };
    putQueue(tx, { dn: queueDn, waiting: q.waiting.map((w) => (w === entry ? offered : w)) });
    tx.command({ commandId, deflect: { callId: call.switchCallId, dn: queueDn, to: agent.dn } });
  }
}

/** The Ready agent of the queue idle the longest (smallest idleSince, then DN) that has no call. */
function longestIdle(tx: Tx, queueDn: string): Agent | undefined {
  const ready = tx.state.readyByQueue.get(queueDn); // in that order already (derived.ts)
  if (ready) for (const a of ready) if (!hasCalls(tx, a.dn)) return a;
  return undefined;
}

/** The switch refused an ACD Deflect: the caller waits again, the agent goes to the back of the idle line. */
export function offerRefused(tx: Tx, commandId: string): boolean {
  for (const q of tx.state.queues.values()) {
    const entry = q.waiting.find((w) => w.offer?.commandId === commandId);
    if (!entry?.offer) continue;
    const { offer, ...rest } = entry;
    putQueue(tx, { dn: q.dn, waiting: q.waiting.map((w) => (w === entry ? rest : w)) });
    releaseReservation(tx, offer.agentDn);
    const a = tx.state.agents.get(offer.agentDn);
    if (a?.state === 'Ready') tx.put('agents', a.dn, { ...a, idleSince: tx.now });
    return true;
  }
  return false;
}

/** Tick: re-issue offers the switch never answered (same command id), then distribute everywhere. */
export function acdTick(tx: Tx): void {
  if (!tx.ctx.switchUp) return;
  const timeout = pendingTimeout(tx.ctx.config);
  for (const q of [...tx.state.queues.values()]) {
    let changed = false;
    const waiting = q.waiting.map((w) => {
      if (!w.offer || w.offer.at + timeout > tx.now) return w;
      const call = tx.state.calls.get(w.connId);
      if (call) tx.command({ commandId: w.offer.commandId, deflect: { callId: call.switchCallId, dn: q.dn, to: w.offer.agentDn } });
      changed = true;
      return { ...w, offer: { ...w.offer, at: tx.now } };
    });
    if (changed) putQueue(tx, { dn: q.dn, waiting });
    distribute(tx, q.dn);
  }
}

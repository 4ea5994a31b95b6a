// Applying agent transitions to the state: write the new agent, emit its event on the agent's DN.
import type { Agent } from './api.js';
import type { AgentEvent, AgentEventName } from '../protocol/messages.js';
import { agentTransition, type AgentInput, type AgentStep } from './agent-state.js';
import { queueConfig } from './config.js';
import type { Tx } from './tx.js';

export function agentEvent(a: Agent, event: AgentEventName, state = a.state): AgentEvent {
  const ev: AgentEvent = { event, thisDN: a.dn, agentId: a.agentId, agentState: state, workMode: a.workMode };
  if (a.queue) ev.thisQueue = a.queue;
  if (a.reasons) ev.reasons = a.reasons;
  return ev;
}

/** Run one transition for the agent on `dn` (if any) and record it. */
export function stepAgent(tx: Tx, dn: string, input: AgentInput): AgentStep | undefined {
  const a = tx.state.agents.get(dn);
  if (!a) return undefined;
  const step = agentTransition(a, input, tx.now);
  if (!step.ok || step.agent === a) return step;
  if (step.agent) tx.put('agents', dn, step.agent);
  else tx.del('agents', dn);
  if (step.event) tx.emit(dn, agentEvent(step.agent ?? a, step.event, step.to));
  return step;
}

export function hasCalls(tx: Tx, dn: string): boolean {
  return (tx.state.callsByDN.get(dn)?.size ?? 0) > 0;
}

/** A DN joined a call: a Ready agent there is now Busy. */
export function agentCallStarted(tx: Tx, dn: string): void {
  stepAgent(tx, dn, { kind: 'callStarted' });
}

/** A DN left a call: when it was the last one, a Busy agent goes to wrap-up or back to Ready. */
export function agentCallEnded(tx: Tx, dn: string): boolean {
  const a = tx.state.agents.get(dn);
  if (!a || a.state !== 'Busy' || hasCalls(tx, dn) || offeredTo(tx, dn)) return false;
  const step = stepAgent(tx, dn, { kind: 'callsEnded', wrapUpMs: queueConfig(tx.ctx.config, a.queue).wrapUpMs });
  return step?.ok === true && step.to === 'Ready';
}

/** True while an ACD offer to this agent is in flight (the agent is reserved for it). */
export function offeredTo(tx: Tx, dn: string): boolean {
  return tx.state.queueIndex.offersTo.has(dn);
}

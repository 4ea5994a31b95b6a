// Agent requests: login, ready, not ready, logout. They need no switch; they answer with the agent
// event on the agent's DN.
import type { RequestOf } from '../protocol/messages.js';
import type { Agent } from './api.js';
import { distribute } from './acd.js';
import { agentEvent, hasCalls, stepAgent } from './agents.js';
import type { AgentInput } from './agent-state.js';
import { extensionDN, refuse } from './errors.js';
import type { Tx } from './tx.js';

export type AgentRequest = RequestOf<'RequestAgentLogin' | 'RequestAgentReady' | 'RequestAgentNotReady' | 'RequestAgentLogout'>;

export function isAgentRequest(r: { request: string }): r is AgentRequest {
  return r.request === 'RequestAgentLogin' || r.request === 'RequestAgentReady' || r.request === 'RequestAgentNotReady' || r.request === 'RequestAgentLogout';
}

export function onAgentRequest(tx: Tx, r: AgentRequest): void {
  extensionDN(tx, r.thisDN);
  if (r.request === 'RequestAgentLogin') return login(tx, r);
  const agent = tx.state.agents.get(r.thisDN);
  if (!agent) refuse('InvalidState', `no agent is logged in on ${r.thisDN}: send RequestAgentLogin first`);
  const input: AgentInput =
    r.request === 'RequestAgentReady'
      ? { kind: 'ready', workMode: r.workMode, reasons: r.reasons }
      : r.request === 'RequestAgentNotReady'
        ? { kind: 'notReady', workMode: r.workMode, reasons: r.reasons }
        : { kind: 'logout', reasons: r.reasons };
  const step = stepAgent(tx, r.thisDN, input)!;
  if (!step.ok) refuse('InvalidState', step.message);
  if (step.to === 'Ready') distribute(tx, agent.queue);
}

function login(tx: Tx, r: RequestOf<'RequestAgentLogin'>): void {
  const here = tx.state.agents.get(r.thisDN);
  if (here) refuse('AgentAlreadyLoggedIn', `agent ${here.agentId} is logged in on ${r.thisDN}: log it out first`);
  for (const a of tx.state.agents.values()) {
    if (a.agentId === r.agentId) refuse('AgentAlreadyLoggedIn', `agent ${r.agentId} is logged in on ${a.dn}: log out there first`);
  }
  const queue = r.thisQueue ?? '';
  if (queue && tx.state.devices.get(queue)?.type !== 'ACDQueue') refuse('InvalidDN', `thisQueue ${queue} is not an ACD queue DN: name a queue of the dial plan, or leave it out`);
  const ready = r.workMode === 'AutoIn' || r.workMode === 'ManualIn';
  const agent: Agent = {
    dn: r.thisDN,
    agentId: r.agentId,
    queue,
    state: ready ? (hasCalls(tx, r.thisDN) ? 'Busy' : 'Ready') : 'NotReady',
    workMode: r.workMode ?? 'AuxWork',
    idleSince: tx.now,
  };
  if (r.reasons) agent.reasons = r.reasons;
  tx.put('agents', r.thisDN, agent);
  tx.emit(r.thisDN, agentEvent(agent, 'EventAgentLogin'));
  if (agent.state === 'Ready' && queue) distribute(tx, queue);
}

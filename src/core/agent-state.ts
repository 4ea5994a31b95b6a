// The agent state machine: every agent state change in the core goes through agentTransition(), and
// the table below is the only place that says which change is allowed from which state.
//
//   LoggedOut --login--> NotReady (or Ready with workMode AutoIn/ManualIn)
//   Ready --call starts / ACD reserves--> Busy --calls end--> AfterCallWork (queue wrap-up) | Ready
//   AfterCallWork --wrap-up time over--> Ready
//   Ready | NotReady | AfterCallWork --RequestAgentReady--> Ready
//   Ready | NotReady | AfterCallWork | Busy --RequestAgentNotReady--> NotReady | AfterCallWork (by workMode)
//   Ready | NotReady | AfterCallWork --RequestAgentLogout--> LoggedOut   (a Busy agent releases first)
// An agent not Ready when a call starts keeps its state (it was not available anyway).
import type { Agent, AgentState, WorkMode } from './api.js';
import type { AgentEventName, UserData } from '../protocol/messages.js';

export type AgentInput =
  | { kind: 'ready'; workMode?: WorkMode; reasons?: UserData }
  | { kind: 'notReady'; workMode?: WorkMode; reasons?: UserData }
  | { kind: 'logout'; reasons?: UserData }
  | { kind: 'callStarted' }
  | { kind: 'callsEnded'; wrapUpMs: number }
  | { kind: 'wrapUpEnded' }
  | { kind: 'offerFailed' };

type Target = AgentState | ((a: Agent, input: AgentInput) => AgentState);

const notReadyTarget = (_a: Agent, i: AgentInput): AgentState =>
  i.kind === 'notReady' && i.workMode === 'AfterCallWork' ? 'AfterCallWork' : 'NotReady';
const afterCall = (_a: Agent, i: AgentInput): AgentState => (i.kind === 'callsEnded' && i.wrapUpMs > 0 ? 'AfterCallWork' : 'Ready');

/** from-state -> to-state, per input. A state missing from a row means the input is refused there. */
const TABLE: { [K in AgentInput['kind']]: Partial<Record<AgentState, Target>> } = {
  ready: { NotReady: 'Ready', Ready: 'Ready', AfterCallWork: 'Ready' },
  notReady: { Ready: notReadyTarget, NotReady: notReadyTarget, AfterCallWork: notReadyTarget, Busy: notReadyTarget },
  logout: { Ready: 'LoggedOut', NotReady: 'LoggedOut', AfterCallWork: 'LoggedOut' },
  callStarted: { Ready: 'Busy' },
  callsEnded: { Busy: afterCall },
  wrapUpEnded: { AfterCallWork: 'Ready' },
  offerFailed: { Busy: 'Ready' },
};

/** Inputs from desktops: refused with InvalidState when not in the table. The others are silent no-ops. */
const REQUESTED: ReadonlySet<AgentInput['kind']> = new Set(['ready', 'notReady', 'logout']);

export type AgentStep =
  | { ok: true; from: AgentState; to: AgentState; agent: Agent | undefined; event?: AgentEventName }
  | { ok: false; from: AgentState; message: string };

/** The one guarded transition. `agent` undefined in the result means logged out. */
export function agentTransition(a: Agent, input: AgentInput, now: number): AgentStep {
  const target = TABLE[input.kind][a.state];
  if (target === undefined) {
    if (REQUESTED.has(input.kind)) return { ok: false, from: a.state, message: refusal(a.state, input.kind) };
    return { ok: true, from: a.state, to: a.state, agent: a };
  }
  const to = typeof target === 'function' ? target(a, input) : target;
  const next: Agent = { ...a, state: to };
  delete next.wrapUpUntil;
  switch (to) {
    case 'LoggedOut':
      return { ok: true, from: a.state, to, agent: undefined, event: 'EventAgentLogout' };
    case 'Ready':
      next.workMode = input.kind === 'ready' && input.workMode ? input.workMode : a.state === 'Ready' ? a.workMode : 'ManualIn';
      if (a.state !== 'Ready') next.idleSince = now;
      delete next.reasons;
      if (input.kind === 'ready' && input.reasons) next.reasons = input.reasons;
      return { ok: true, from: a.state, to, agent: next, event: input.kind === 'ready' || input.kind === 'wrapUpEnded' ? 'EventAgentReady' : undefined };
    case 'NotReady':
    case 'AfterCallWork':
      if (input.kind === 'notReady') {
        next.workMode = input.workMode ?? (to === 'AfterCallWork' ? 'AfterCallWork' : 'AuxWork');
        delete next.reasons;
        if (input.reasons) next.reasons = input.reasons;
      } else if (input.kind === 'callsEnded') {
        next.workMode = 'AfterCallWork';
        next.wrapUpUntil = now + input.wrapUpMs;
      }
      return { ok: true, from: a.state, to, agent: next, event: 'EventAgentNotReady' };
    case 'Busy':
      return { ok: true, from: a.state, to, agent: next };
    default: {
      const never: never = to;
      throw new Error(`unknown agent state ${String(never)}`);
    }
  }
}

function refusal(from: AgentState, kind: AgentInput['kind']): string {
  if (from === 'Busy' && kind === 'logout') return 'the agent is on a call: release the call first, then log out';
  if (from === 'Busy' && kind === 'ready') return 'the agent is on a call: it becomes Ready by itself when the call ends (or send RequestAgentNotReady to stay away after it)';
  return `agent state ${from} does not allow this request`;
}

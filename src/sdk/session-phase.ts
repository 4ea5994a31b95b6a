// The SDK client's phase with the pair (FailoverClient), on the shared guarded machine
// (src/lib/fsm.ts): one phase instead of three nullable fields that implied it.
//
//   searching ─┬─> replaying ──> live ──> failover ─┬─> replaying ...
//              └─> live (no history)                └─> live (no history yet)
//   live, replaying ──> replaying (a better primary came: switched without a failover gap)
//   any ──> closed (final)
import { StateMachine, type FsmLogger } from '../lib/fsm.js';

/**
 * Where the client stands with the pair. searching: no primary yet (never had one). failover: the
 * primary was lost and no link qualifies. replaying: a primary is chosen and its journal replay
 * runs (its events are held back). live: events flow from the primary. closed: final.
 */
export type Phase = 'searching' | 'failover' | 'replaying' | 'live' | 'closed';

/** For each phase, the phases it may be entered from (replaying -> replaying: a better primary came). */
export const PHASE_ALLOWED_FROM: Record<Phase, readonly Phase[]> = {
  searching: [],
  failover: ['replaying', 'live'],
  replaying: ['searching', 'failover', 'live', 'replaying'],
  live: ['searching', 'failover', 'replaying'],
  closed: ['searching', 'failover', 'replaying', 'live'],
};

export type PhaseMachine = StateMachine<Phase>;

/** A new client's phase machine (searching); its lines go to the SDK's log sink. */
export function createPhaseMachine(log: FsmLogger): PhaseMachine {
  return new StateMachine<Phase>({ name: 'session', initial: 'searching', allowedFrom: PHASE_ALLOWED_FROM, log });
}

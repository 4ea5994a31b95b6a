// The switch link's state machine (src/lib/fsm.ts): a stale caller (e.g. a close event from a
// stream that was already replaced) is refused, every change is a log line `switch link from -> to`.
//
//   down ──> connecting ──> claiming ──> resyncing ──> up
//     ^          │  │           │  │          │        │
//     └──────────┴──┼───────────┴──┼──────────┴────────┘   (stream closed / lease expired locally)
//                   └─> following  └─> deposed              (backup keepalive / lease refused or lost)
//   any ──> stopped (process stopping; final)
import { StateMachine, type FsmLogger, type Transition } from '../../lib/fsm.js';

export type LinkState =
  /** No stream; a reconnect timer is pending (or not started yet). */
  | 'down'
  /** Stream opened, Hello sent, waiting for Welcome. */
  | 'connecting'
  /** Claim sent, waiting for Granted or Refused. Live events are ignored: redelivery covers them. */
  | 'claiming'
  /** Lease granted, SnapshotQuery sent, waiting for the Snapshot. Live events are buffered. */
  | 'resyncing'
  /** Lease held, events flowing into the core, commands accepted. */
  | 'up'
  /** Connected without the lease, by role (a backup keeps the link warm; events are not applied). */
  | 'following'
  /** Connected, but the switch refused our claim or deposed us. The process decides what next. */
  | 'deposed'
  /** Final. */
  | 'stopped';

/** The states with a stream: what a closed or dropped stream leaves. */
export const CONNECTED: readonly LinkState[] = ['connecting', 'claiming', 'resyncing', 'up', 'following', 'deposed'];
/** Every state but stopped: stop() is valid from any of them. */
export const LIVE: readonly LinkState[] = ['down', ...CONNECTED];

/** For each state, the states it may be entered from. */
const ALLOWED_FROM: Record<LinkState, readonly LinkState[]> = {
  down: ['connecting', 'claiming', 'resyncing', 'up', 'following', 'deposed'],
  connecting: ['down'],
  claiming: ['connecting', 'following', 'deposed'],
  resyncing: ['claiming'],
  up: ['claiming', 'resyncing'],
  following: ['connecting', 'deposed'],
  deposed: ['claiming', 'resyncing', 'up'],
  stopped: LIVE,
};

export type LinkStateMachine = StateMachine<LinkState>;

/**
 * A new link machine in state down, `onEnter` its entry actions; losing the link or the lease is
 * logged as a warning.
 */
export function createLinkMachine(log: FsmLogger, onEnter: (t: Transition<LinkState>) => void): LinkStateMachine {
  const m = new StateMachine<LinkState>({
    name: 'switch link',
    initial: 'down',
    allowedFrom: ALLOWED_FROM,
    log,
    level: ({ to }) => (to === 'down' || to === 'deposed' ? 'warn' : 'info'),
  });
  m.onChange(onEnter);
  return m;
}

// The switch link's state machine. One guarded transition function: a stale caller (e.g. a close
// event from a stream that was already replaced) is refused, every change is a log line `from -> to`.
//
//   down ──> connecting ──> claiming ──> resyncing ──> up
//     ^          │  │           │  │          │        │
//     └──────────┴──┼───────────┴──┼──────────┴────────┘   (stream closed / lease expired locally)
//                   └─> following  └─> deposed              (backup keepalive / lease refused or lost)
//   any ──> stopped (process stopping; final)
import type { Logger } from '../common/log.js';

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

const ALLOWED: Record<LinkState, readonly LinkState[]> = {
  down: ['connecting', 'stopped'],
  connecting: ['claiming', 'following', 'down', 'stopped'],
  claiming: ['resyncing', 'up', 'deposed', 'down', 'stopped'],
  resyncing: ['up', 'deposed', 'down', 'stopped'],
  up: ['deposed', 'down', 'stopped'],
  following: ['claiming', 'down', 'stopped'],
  deposed: ['claiming', 'following', 'down', 'stopped'],
  stopped: [],
};

export class LinkStateMachine {
  private current: LinkState = 'down';
  constructor(private readonly log: Logger, private readonly onEnter: (to: LinkState, from: LinkState, why: string) => void) {}

  get state(): LinkState { return this.current; }

  /**
   * Moves to `to` if the machine is in one of `from` and the move is allowed; returns false (and
   * changes nothing) otherwise, so late callbacks from an old stream cannot undo newer decisions.
   */
  transition(from: readonly LinkState[], to: LinkState, why: string): boolean {
    const was = this.current;
    if (!from.includes(was) || !ALLOWED[was].includes(to)) return false;
    this.current = to;
    const level = to === 'down' || to === 'deposed' ? 'warn' : 'info';
    this.log[level]({ from: was, to, why }, `switch link ${was} -> ${to}`);
    this.onEnter(to, was, why);
    return true;
  }
}

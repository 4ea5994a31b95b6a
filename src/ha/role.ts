// The T-Server's HA role. Every change goes through one guarded transition(from[], to, reason):
// a caller that expected another state (a stale timer, a late callback) is refused and nothing
// changes; an edge that is not in the table is a programming error and throws. Each change is logged
// {from, to, epoch, reason} and reported to listeners (the process pushes EventServerInfo).
import type { Logger } from '../common/log.js';

export type Role =
  | 'starting'        // process up, role not decided yet
  | 'backup-syncing'  // following a primary (or looking for one), not yet caught up
  | 'backup-in-sync'  // caught up: may be promoted without losing anything acknowledged
  | 'promoting'       // claiming the switch with epoch+1
  | 'primary'         // holds the switch lease under `epoch`, serves clients
  | 'demoting'        // handing over: draining, releasing the lease
  | 'stopping';       // graceful stop; terminal

/** Legal edges. Why each exists is in docs/ha.md (role state machine). */
const EDGES: Record<Role, readonly Role[]> = {
  starting: ['backup-syncing', 'promoting', 'stopping'],
  'backup-syncing': ['backup-in-sync', 'promoting', 'stopping'],
  'backup-in-sync': ['backup-syncing', 'promoting', 'stopping'],
  promoting: ['primary', 'backup-syncing', 'stopping'],
  primary: ['demoting', 'backup-syncing', 'stopping'],
  demoting: ['backup-syncing', 'primary', 'stopping'],
  stopping: [],
};

export interface RoleChange {
  from: Role;
  to: Role;
  /** Epoch after the change (the switch epoch this server holds or last saw). */
  epoch: number;
  previousEpoch: number;
  reason: string;
}

export type RoleListener = (change: RoleChange) => void;

export class IllegalRoleTransitionError extends Error {
  readonly code = 'IllegalRoleTransition';
}

export class RoleMachine {
  private current: Role = 'starting';
  private currentEpoch: number;
  private readonly listeners = new Set<RoleListener>();

  constructor(private readonly log: Logger, initialEpoch = 0) {
    this.currentEpoch = initialEpoch;
  }

  get role(): Role { return this.current; }
  get epoch(): number { return this.currentEpoch; }
  get isPrimary(): boolean { return this.current === 'primary'; }

  /**
   * Moves to `to` if the role is one of `from`; returns false (and changes nothing) otherwise.
   * `epoch`, when given, becomes the current epoch; it may never go down (a lower one is refused).
   */
  transition(from: readonly Role[], to: Role, reason: string, epoch?: number): boolean {
    const was = this.current;
    if (!from.includes(was)) {
      this.log.debug({ from: was, to, expected: from, reason }, 'role transition refused: stale caller');
      return false;
    }
    if (!EDGES[was].includes(to)) throw new IllegalRoleTransitionError(`role ${was} -> ${to} is not a legal transition (${reason})`);
    if (epoch !== undefined && epoch < this.currentEpoch) {
      this.log.warn({ from: was, to, epoch: this.currentEpoch, staleEpoch: epoch, reason }, 'role transition refused: epoch would go down');
      return false;
    }
    if (to === 'primary' && (epoch === undefined || epoch <= 0)) {
      throw new IllegalRoleTransitionError(`becoming primary needs the epoch the switch granted (${reason})`);
    }
    const previousEpoch = this.currentEpoch;
    this.current = to;
    if (epoch !== undefined) this.currentEpoch = epoch;
    const change: RoleChange = { from: was, to, epoch: this.currentEpoch, previousEpoch, reason };
    this.log.info(change, `role ${was} -> ${to}`);
    for (const l of this.listeners) l(change);
    return true;
  }

  /** A backup learns the primary's epoch (Welcome, switch): never lowers it, no role change. */
  observeEpoch(epoch: number): void {
    if (epoch > this.currentEpoch) this.currentEpoch = epoch;
  }

  /** Returns an unsubscribe function. */
  onChange(listener: RoleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

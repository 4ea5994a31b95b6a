// The server's role in the pair, read by everything that answers desktops or commands the switch.
// Single-server mode sets role 'primary' at start; the HA layer changes it through setRole/setEpoch.
//
// Invariants: `epoch` is the lease epoch this server last claimed or learnt from its peer (0 = none
// yet). `serving` is true only while role is 'primary' and the switch has not deposed or refused
// it: a primary that lost the lease keeps its role name until the HA layer decides, but answers
// NotPrimary (DESIGN.md guarantee 4).
import type { Role } from '../protocol/messages.js';

export interface RoleView {
  readonly role: Role;
  readonly epoch: number;
  readonly serving: boolean;
  /**
   * A primary whose own lease check failed and that nobody has deposed yet: the lease is renewed
   * or lost within moments. Requests then wait instead of being refused (gateway/lease-hold.ts).
   */
  readonly leaseUncertain?: boolean;
}

export type RoleListener = (now: RoleView, before: RoleView) => void;

export class ServerRole implements RoleView {
  private _role: Role;
  private _epoch: number;
  private _serving: boolean;
  /** Invariant: true only while role is primary, not serving, and the last change was the fence's. */
  private _fenced = false;
  private readonly listeners: RoleListener[] = [];
  /** HA: false when the lease can no longer be trusted (checked on every read of `serving`). */
  private fence: (() => boolean) | undefined;
  private fenceLost: (() => void) | undefined;

  constructor(role: Role, epoch = 0) {
    this._role = role;
    this._epoch = epoch;
    this._serving = role === 'primary';
  }

  get role(): Role { return this._role; }
  get epoch(): number { return this._epoch; }
  /**
   * Serving right now. With a fence installed (HA), a lease that ran out turns serving off on the
   * spot, synchronously, whoever asks first (gateway, core timer, command path); listeners hear of it
   * on the next tick.
   */
  get serving(): boolean {
    if (this._serving && this.fence && !this.fence()) {
      this._serving = false;
      this._fenced = true;
      const lost = this.fenceLost;
      process.nextTick(() => {
        for (const fn of this.listeners) fn(this, { role: this._role, epoch: this._epoch, serving: true });
        lost?.();
      });
    }
    return this._serving;
  }

  get leaseUncertain(): boolean {
    return this._fenced && this._role === 'primary' && !this._serving;
  }

  /** HA: `valid()` is consulted on every read of `serving`; `lost()` runs once after it failed. */
  setFence(valid: () => boolean, lost: () => void): void {
    this.fence = valid;
    this.fenceLost = lost;
  }

  /** Called on every change of role, epoch or serving (the gateway pushes EventServerInfo). */
  onChange(fn: RoleListener): void { this.listeners.push(fn); }

  set(change: Partial<{ role: Role; epoch: number; serving: boolean }>): void {
    const before: RoleView = { role: this._role, epoch: this._epoch, serving: this._serving };
    const wasFenced = this._fenced;
    // Whatever the HA layer decides (renewed, deposed, demoted, stopping) ends the uncertainty.
    if (change.role !== undefined || change.serving !== undefined) this._fenced = false;
    if (change.role !== undefined) this._role = change.role;
    if (change.epoch !== undefined) this._epoch = change.epoch;
    if (change.serving !== undefined) this._serving = change.serving && this._role === 'primary';
    if (change.role === 'backup') this._serving = false;
    const now: RoleView = { role: this._role, epoch: this._epoch, serving: this._serving };
    if (now.role === before.role && now.epoch === before.epoch && now.serving === before.serving && wasFenced === this._fenced) return;
    for (const fn of this.listeners) fn(now, before);
  }
}

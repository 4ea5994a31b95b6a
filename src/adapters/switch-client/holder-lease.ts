// The lease as its holder counts it (docs/ha.md "Fencing"): until when this T-Server may act as the
// primary. Pure: times come in. The SEND time of the newest claim or heartbeat the switch
// acknowledged as holder, plus leaseMs, minus a margin: the switch received that message after we
// sent it, so its own expiry is later and we stop first. The liveness worker's renewals
// (LeaseRenewer) count too, until its watchdog gives the epoch up.
import type { LeaseRenewer } from './switch-link-types.js';
import { leaseMargin } from './liveness-shared.js';

export class HolderLease {
  private until = 0;
  /** Send times of heartbeats not yet acknowledged (acks come back in order on the one stream); 0 = renews nothing. */
  private heartbeatsSentAt: number[] = [];
  private claimSentAt = 0;
  /** The epoch the switch granted this stream and has not taken back (0 = none): what the renewer renews. */
  private held = 0;

  constructor(private readonly renewer: LeaseRenewer | undefined) {}


  /** Until when we may act as holder (0 once the liveness watchdog gave the epoch up). */
  deadline(): number {
    const r = this.renewer;
    if (!r) return this.until;
    if (r.tripped(this.held)) return 0;
    return Math.max(this.until, r.deadline(this.held));
  }

  /** The watchdog gave this epoch up: a resumed main thread must not renew it (keepalive only). */
  get tripped(): boolean { return this.renewer?.tripped(this.held) ?? false; }

  claimSent(now: number): void { this.claimSentAt = now; }

  /** Granted `epoch` for `leaseMs` in answer to the claim. */
  granted(epoch: number, leaseMs: number): void {
    this.until = this.claimSentAt + leaseMs - leaseMargin(leaseMs);
    this.held = epoch;
    this.renewer?.setEpoch(epoch);
    // Heartbeats sent before the grant renew nothing: their acks must not extend the lease.
    this.heartbeatsSentAt = this.heartbeatsSentAt.map(() => 0);
  }

  heartbeatSent(now: number): void {
    this.heartbeatsSentAt.push(now);
    if (this.heartbeatsSentAt.length > 1000) this.heartbeatsSentAt.shift();
  }

  /** The switch acknowledged the oldest outstanding heartbeat; true when it renewed the lease. */
  heartbeatAcked(holder: boolean, leaseMs: number): boolean {
    const sentAt = this.heartbeatsSentAt.shift() ?? 0;
    if (!holder || sentAt === 0) return false;
    const until = sentAt + leaseMs - leaseMargin(leaseMs);
    if (until > this.until) this.until = until;
    return true;
  }

  /** Deposed by the switch: nothing held (the stream stays; its heartbeats are keepalives). */
  deposed(): void {
    this.until = 0;
    this.held = 0;
    this.renewer?.setEpoch(0);
  }

  /** The link is gone: nothing held, nothing outstanding, the renewer detached. */
  linkGone(): void {
    this.until = 0;
    this.held = 0;
    this.heartbeatsSentAt = [];
    this.renewer?.detach();
  }

  /**
   * The link has been silent so long past the deadline that it is dead (half-open): `silentLeases`
   * more leases after the margin. Only then is it dropped — a closed link frees the lease at the
   * switch, while a stalled switch keeps it and our queued renewals renew it.
   */
  deadSilent(now: number, leaseMs: number, silentLeases: number): boolean {
    // The renewals themselves, tripped or not: a watchdog's trip is not the link's silence.
    const renewed = this.renewer ? Math.max(this.until, this.renewer.deadline(this.held)) : this.until;
    return now > renewed + leaseMargin(leaseMs) + silentLeases * leaseMs;
  }
}

// The primary-role witness: one lease, held by at most one link under an epoch. Two T-Servers cannot
// tell a dead peer from a cut sync link; the switch can, because both talk to it. Pure: time comes
// in as `now`; the adapter calls tick() from a timer and before every lease decision.
import type { sw } from '../../wire/switch-proto.js';

export interface Holder { linkId: number; serverName: string }

/**
 * `epoch` is the highest epoch ever granted (0 = never), in both states: a claim must beat it even
 * after the lease was released or lapsed, so an old primary can never come back under its epoch.
 * `holder`/`expiresAt` exist iff kind is 'held'.
 */
export type LeaseState =
  | { kind: 'free'; epoch: number }
  | { kind: 'held'; epoch: number; holder: Holder; expiresAt: number };

export type LeaseReason = 'Claimed' | 'Forced' | 'LeaseLapsed' | 'Released' | 'LinkGone';

export interface LeaseTransition {
  from: LeaseState['kind']; to: LeaseState['kind'];
  oldEpoch: number; newEpoch: number; oldHolder: string; newHolder: string; reason: LeaseReason;
}

/**
 * The LeaseNotice every welcomed link gets for a transition (the old holder gets Deposed as well).
 * Every transition is a change worth telling: the lease became free, or its holder or epoch changed.
 */
export function leaseNotice(t: LeaseTransition): sw.ILeaseNotice {
  return { epoch: t.newEpoch, holder: t.newHolder, reason: t.reason, oldEpoch: t.oldEpoch, oldHolder: t.oldHolder };
}

/** A Deposed message the adapter must send at once to a link. */
export interface DeposedNotice { linkId: number; deposed: sw.IDeposed }

export type ClaimOutcome =
  | { granted: true; epoch: number; notices: DeposedNotice[] }
  | { granted: false; code: 'StaleEpoch' | 'LeaseHeld'; currentEpoch: number; holder: string; message: string };

export type Fence = { ok: true } | { ok: false; code: 'NotLeaseHolder' | 'StaleEpoch'; message: string };

export class Lease {
  private s: LeaseState = { kind: 'free', epoch: 0 };

  constructor(readonly leaseMs: number, private readonly onTransition: (t: LeaseTransition) => void = () => {}) {}

  get state(): Readonly<LeaseState> { return this.s; }
  get epoch(): number { return this.s.epoch; }
  get holderName(): string { return this.s.kind === 'held' ? this.s.holder.serverName : ''; }
  holds(linkId: number): boolean { return this.s.kind === 'held' && this.s.holder.linkId === linkId; }

  /** Drops a lease that was not renewed in time; the holder is told (LeaseLapsed). */
  tick(now: number): DeposedNotice[] {
    if (this.s.kind !== 'held' || now < this.s.expiresAt) return [];
    const { holder, epoch } = this.s;
    this.transition(['held'], { kind: 'free', epoch }, 'LeaseLapsed');
    return [{ linkId: holder.linkId, deposed: { epoch, newEpoch: epoch, newHolder: '', reason: 'LeaseLapsed' } }];
  }

  claim(claimer: Holder, epoch: number, force: boolean, now: number): ClaimOutcome {
    const s = this.s;
    if (epoch <= s.epoch) {
      return { granted: false, code: 'StaleEpoch', currentEpoch: s.epoch, holder: this.holderName,
        message: `epoch ${epoch} is not above the current epoch ${s.epoch}: claim with epoch ${s.epoch + 1} or higher` };
    }
    if (s.kind === 'held' && s.holder.linkId !== claimer.linkId && !force) {
      return { granted: false, code: 'LeaseHeld', currentEpoch: s.epoch, holder: s.holder.serverName,
        message: `${s.holder.serverName} holds the lease (epoch ${s.epoch}) and is heartbeating: wait until its link closes or its lease lapses, or claim with force for an operator switchover` };
    }
    const notices: DeposedNotice[] = [];
    if (s.kind === 'held' && s.holder.linkId !== claimer.linkId) {
      notices.push({ linkId: s.holder.linkId, deposed: { epoch: s.epoch, newEpoch: epoch, newHolder: claimer.serverName, reason: 'Forced' } });
    }
    this.transition(['free', 'held'], { kind: 'held', epoch, holder: claimer, expiresAt: now + this.leaseMs }, force && notices.length ? 'Forced' : 'Claimed');
    return { granted: true, epoch, notices };
  }

  /**
   * Renews the lease when `linkId` holds it under `epoch`; every link may heartbeat. The adapter
   * calls this BEFORE tick() when a heartbeat arrives: a renewal that waited in the switch's socket
   * while the switch was blocked still counts, as long as nobody was granted the lease meanwhile
   * (a grant always ticks first). `linkId` is the renewed link: the sender's own, or for a renewer
   * link (Hello.renews) the link it renews for.
   */
  heartbeat(linkId: number, epoch: number, now: number): { holder: boolean; remainingMs: number } {
    if (this.s.kind !== 'held' || this.s.holder.linkId !== linkId || this.s.epoch !== epoch) return { holder: false, remainingMs: 0 };
    this.s.expiresAt = now + this.leaseMs; // renewal is not a transition: same holder, same epoch
    return { holder: true, remainingMs: this.leaseMs };
  }

  /** Graceful handover: the lease is free at once. */
  release(linkId: number, epoch: number): { ok: true; notice: DeposedNotice } | { ok: false; message: string } {
    if (this.s.kind !== 'held' || this.s.holder.linkId !== linkId || this.s.epoch !== epoch) {
      return { ok: false, message: `this link does not hold the lease under epoch ${epoch} (current epoch ${this.s.epoch}, holder "${this.holderName}"): nothing to release` };
    }
    this.transition(['held'], { kind: 'free', epoch }, 'Released');
    return { ok: true, notice: { linkId, deposed: { epoch, newEpoch: epoch, newHolder: '', reason: 'Released' } } };
  }

  /** The holder's link closed: the lease is free for the next claim (nobody left to tell). */
  linkGone(linkId: number): void {
    if (this.s.kind === 'held' && this.s.holder.linkId === linkId) this.transition(['held'], { kind: 'free', epoch: this.s.epoch }, 'LinkGone');
  }

  /** Command fencing: only the holder's link, under the current epoch. */
  fence(linkId: number, epoch: number): Fence {
    if (!this.holds(linkId)) {
      return { ok: false, code: 'NotLeaseHolder', message: `this link does not hold the lease (holder "${this.holderName}", epoch ${this.s.epoch}): only the primary may command; claim first` };
    }
    if (epoch !== this.s.epoch) {
      return { ok: false, code: 'StaleEpoch', message: `command epoch ${epoch} is not the current epoch ${this.s.epoch}: stamp commands with the granted epoch` };
    }
    return { ok: true };
  }

  remainingMs(now: number): number {
    return this.s.kind === 'held' ? Math.max(0, this.s.expiresAt - now) : 0;
  }

  /** The one place the state changes (renewal aside); refuses a caller that expected another state. */
  private transition(allowedFrom: LeaseState['kind'][], to: LeaseState, reason: LeaseReason): void {
    const from = this.s;
    if (!allowedFrom.includes(from.kind)) throw new Error(`lease: ${from.kind} -> ${to.kind} (${reason}) is not allowed`);
    this.s = to;
    this.onTransition({
      from: from.kind, to: to.kind, oldEpoch: from.epoch, newEpoch: to.epoch,
      oldHolder: from.kind === 'held' ? from.holder.serverName : '', newHolder: to.kind === 'held' ? to.holder.serverName : '', reason,
    });
  }
}

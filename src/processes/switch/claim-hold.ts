// Claims refused only because another link holds the lease (LeaseHeld) wait a little before the
// refusal goes out. A kill -9'd primary's sockets close within a few milliseconds of each other, and
// the claim of the backup that saw its sync stream close often reaches the switch before the dead
// holder's link close does (traced: 1 kill -9 failover in 5; in the same loop turn as the holder's
// TCP FIN, whose gRPC stream closes a turn later). Refused at once, the backup waits for the lease
// notice and claims again: 3-5 ms more. Held, the claim is decided again as soon as the lease is
// free. The hold changes when the answer goes out, never what it is: the lease (lease.ts) decides,
// with the same rules, at that later time.
import type { sw } from '../../wire/switch-proto.js';

/** How long a LeaseHeld claim waits for the holder's link to close or its lease to lapse. */
export const CLAIM_HOLD_MS = 50;

export class ClaimHold {
  /** At most one per link (a T-Server sends one claim at a time), in arrival order. */
  private readonly held = new Map<number, { claim: sw.IClaim; timer: NodeJS.Timeout }>();

  /** `decide` answers the claim for good (granted or refused: never held again). */
  constructor(private readonly holdMs: number, private readonly leaseFree: () => boolean, private readonly decide: (linkId: number, claim: sw.IClaim) => void) {}

  get size(): number { return this.held.size; }

  /** Holds `claim` of `linkId`; one already held for that link is decided first. */
  hold(linkId: number, claim: sw.IClaim): void {
    this.release(linkId);
    const timer = setTimeout(() => { if (this.held.get(linkId)?.timer === timer) { this.held.delete(linkId); this.decide(linkId, claim); } }, this.holdMs);
    this.held.set(linkId, { claim, timer });
  }

  /**
   * Called after anything that may free the lease (a handler, a link closed, the lapse check): if it
   * is free, every held claim is decided now, the oldest first (it may win; the others are refused).
   */
  leaseMayBeFree(): void {
    if (this.held.size === 0 || !this.leaseFree()) return;
    for (const linkId of [...this.held.keys()]) this.release(linkId);
  }

  /** The claimer's link closed: nobody to answer. */
  drop(linkId: number): void {
    const h = this.held.get(linkId);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(linkId);
  }

  stop(): void {
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
  }

  private release(linkId: number): void {
    const h = this.held.get(linkId);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(linkId);
    this.decide(linkId, h.claim);
  }
}

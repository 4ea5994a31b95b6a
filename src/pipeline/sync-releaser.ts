// The primary's releaser in an HA pair (releaser.ts is the seam): every sealed batch's deltas go to
// the sync stream, and the batch reaches desktops only when the backup holds them (mode `ack`), or
// at once (mode `async`, or when no backup is in sync: the library releases "alone" at once).
//
// Invariants:
// - batches are delivered strictly in id order: a later batch never overtakes an earlier one, even
//   when its (empty) delta list needs no ack;
// - nothing is delivered while `mayDeliver()` is false (the lease can no longer be trusted, e.g.
//   right after SIGCONT): what the library released "alone" at that moment was never seen by the
//   backup that has taken over, so it must not reach a client. The owner calls pump() when the lease
//   is renewed, or abandon() when it is deposed (those batches are dropped: clients retry).
import type { Logger } from '../lib/log.js';
import { SyncPrimaryClosedError, type SyncPrimary } from '../adapters/sync/primary.js';
import type { OutboundBatch, Outgoing } from './outbound.js';
import type { Deliver, Releaser } from './releaser.js';

interface Held { batch: OutboundBatch; acked: boolean }

export class SyncReleaser implements Releaser {
  private readonly queue: Held[] = [];
  private abandoned = false;

  constructor(
    private readonly primary: SyncPrimary,
    private readonly deliver: Deliver,
    private readonly mayDeliver: () => boolean,
    private readonly log: Logger,
  ) {}

  get syncState(): string {
    const st = this.primary.status();
    return st.alone ? 'alone' : st.state;
  }

  /** Batches published but not yet delivered. */
  get held(): number { return this.queue.length; }

  submit(batch: OutboundBatch): void {
    if (this.abandoned) return this.deliver(batch);
    let offset = this.primary.offset;
    if (batch.deltas.length > 0) {
      try {
        offset = this.primary.publish(batch.deltas);
        // The collector seals once per turn, at its end: the batch goes to the backup now. Left to
        // publish()'s own setImmediate it would wait a whole loop iteration (the next poll phase's
        // input first), and in ack mode every desktop waits for the backup's ack of it.
        this.primary.flush();
      } catch (err) {
        if (!(err instanceof SyncPrimaryClosedError)) throw err;
        // Sealed by a handover: the state changed after the final offset. The new primary does not
        // have these deltas; say so loudly (it means a core input slipped past the NotPrimary gate).
        this.log.error({ err: (err as Error).message, batch: batch.id, deltas: batch.deltas.length }, 'deltas produced after the sync stream was sealed: not replicated');
      }
    }
    const held: Held = { batch, acked: false };
    this.queue.push(held);
    if (this.primary.mode === 'async') {
      held.acked = true;
      this.pump();
      return;
    }
    this.primary.whenAcked(offset).then(() => {
      held.acked = true;
      this.pump();
    }, () => { held.acked = true; this.pump(); });
  }

  /** Delivers every acked batch at the head of the queue, while delivery is allowed. */
  pump(): void {
    if (this.abandoned) return;
    while (this.queue.length > 0 && this.queue[0]!.acked) {
      // A batch that reveals no state (a NotPrimary answer, server info) may go out while the lease
      // is uncertain: the desktop learns at once to ask elsewhere, and nothing it sees can be undone.
      if (!this.mayDeliver() && !this.queue[0]!.batch.items.every(revealsNoState)) return;
      this.deliver(this.queue.shift()!.batch);
    }
  }

  /**
   * Deposed: batches not delivered yet are dropped (their deltas may be missing on the new primary;
   * no client saw them, and each client retries its request there). Later submissions pass through.
   */
  abandon(reason: string): number {
    if (this.abandoned) return 0;
    this.abandoned = true;
    const held = this.queue.splice(0);
    let dropped = 0;
    for (const { batch } of held) {
      // What reveals no state (NotPrimary answers, server info, link news) still goes out, in order.
      const safe = batch.items.filter(revealsNoState);
      dropped += batch.items.length - safe.length;
      if (safe.length > 0) this.deliver({ id: batch.id, deltas: [], items: safe });
    }
    if (dropped > 0) this.log.warn({ batches: held.length, dropped, reason }, 'events and answers held for acks dropped: this server is no longer primary');
    return dropped;
  }

  /** Handover done: everything left was acked by the backup (which is taking over): deliver it all. */
  drainAll(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    for (const h of this.queue.splice(0)) this.deliver(h.batch);
  }
}

/**
 * Whether a primary may hand acked batches to desktops now. Holding a valid lease: yes (batches the
 * library released "alone" included: no backup is in sync, and none can be promoted while we hold
 * the lease). Handing over, after the lease was released: only while the backup that takes over is
 * in sync, so "acked" means it holds them. A backup lost mid-handover releases the waiters "alone";
 * delivered then, a client would see what the backup (which may still claim by force) never got.
 */
export function mayRelease(leaseValid: boolean, handingOver: boolean, alone: boolean): boolean {
  return leaseValid || (handingOver && !alone);
}

/** True for outgoing items that carry no replicated state: safe to send even if never acked. */
function revealsNoState(item: Outgoing): boolean {
  switch (item.kind) {
    case 'broadcast':
    case 'registrations':
      return true;
    case 'session':
      return item.event.event === 'EventServerInfo' || (item.event.event === 'EventError' && item.event.errorCode === 'NotPrimary');
    default:
      return false;
  }
}

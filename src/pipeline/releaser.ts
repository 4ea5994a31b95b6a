// The seam between the T-Server's output and the HA sync layer. Every sealed batch goes through a
// Releaser; the gateway delivers a batch only when the releaser lets it go.
//
// - Alone (single server, or no backup in sync): ImmediateReleaser — deliver at once.
// - HA sync mode `ack` (src/adapters/sync/, later): send batch.deltas to the backup, deliver the batch when the
//   backup acknowledged it (batches strictly in id order).
// - HA sync mode `async`: send the deltas, deliver at once.
// Switch commands do not wait here: they carry exactly-once command ids, so a promoted backup that
// re-sends one gets the stored result instead of a second execution.
import type { OutboundBatch } from './outbound.js';

export type Deliver = (batch: OutboundBatch) => void;

export interface Releaser {
  /** Takes ownership of a sealed batch; must call deliver for every batch, in id order, exactly once. */
  submit(batch: OutboundBatch): void;
  /** Human-readable state for /healthz `syncState` (e.g. 'alone', 'in-sync', 'resyncing'). */
  readonly syncState: string;
}

export class ImmediateReleaser implements Releaser {
  readonly syncState = 'alone';
  constructor(private readonly deliver: Deliver) {}
  submit(batch: OutboundBatch): void { this.deliver(batch); }
}

/**
 * Lets the process swap the releaser at run time (a backup comes in sync → ack releaser; it goes
 * away → immediate) without the collector or gateway knowing.
 */
export class SwitchableReleaser implements Releaser {
  constructor(private inner: Releaser) {}
  get syncState(): string { return this.inner.syncState; }
  submit(batch: OutboundBatch): void { this.inner.submit(batch); }
  use(next: Releaser): void { this.inner = next; }
}

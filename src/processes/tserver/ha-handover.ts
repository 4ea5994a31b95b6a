// Graceful switchover, as the operator asks for it (DESIGN.md "Management layer"):
// - SIGUSR1 on the backup: ask the primary to hand over (HandoverRequest); if it does not answer in
//   time, claim the switch with force (our state holds everything the primary released).
// - SIGUSR2 on the primary, a HandoverRequest from the backup, or SIGTERM with a backup in sync:
//   stop serving (NotPrimary: the SDK retries on the other server with the same referenceId), drain,
//   release the lease, send HandoverReady, then rejoin as backup from (replicationId, finalOffset).
// The sync library runs the drain/release/seal sequence (src/adapters/sync/handover.ts); this file owns the
// role changes around it.
import type { Logger } from '../../lib/log.js';
import { HandoverError } from '../../adapters/sync/handover.js';
import type { HaController } from './ha-controller.js';
import type { TServer } from './tserver.js';


export class Switchover {
  constructor(private readonly ha: HaController, private readonly ts: TServer, private readonly log: Logger) {
    ha.handoverHook = (reason) => this.handOver(reason);
  }

  /** SIGUSR1: make this server primary. True when the handover was requested. */
  promote(reason: string): boolean {
    this.log.info({ reason, role: this.ha.role }, 'operator: promote');
    const wasRequested = this.ha.role === 'backup-in-sync';
    this.ha.input({ type: 'operator-promote' });
    return wasRequested;
  }

  /** SIGUSR2: hand the primary role to the in-sync peer. */
  demote(reason: string): Promise<boolean> {
    if (this.ha.role !== 'primary') {
      this.log.info({ reason, role: this.ha.role }, 'demote requested: not primary, nothing to do');
      return Promise.resolve(false);
    }
    return this.handOver(reason);
  }

  /** True when a handover to an in-sync backup is possible now. */
  canHandOver(): boolean {
    const p = this.ha.primary;
    return this.ha.role === 'primary' && !!p && !p.alone;
  }

  /**
   * Primary side of the switchover. Resolves true when this server handed over and is backup now;
   * false when it stayed primary (no backup in sync, or the drain failed before the lease was released).
   */
  async handOver(reason: string): Promise<boolean> {
    const ha = this.ha;
    const p = ha.primary;
    if (ha.role !== 'primary' || !p) {
      this.log.info({ reason, role: ha.role }, 'handover not started: not a serving primary (or one is under way)');
      return false;
    }
    if (p.alone) {
      this.log.warn({ reason }, 'handover refused: no backup in sync to hand over to; staying primary');
      return false;
    }
    const demoting = (): boolean => ha.role === 'demoting'; // re-read after each input and await
    ha.input({ type: 'handover-start', reason });
    if (!demoting()) return false;
    // Seal this turn's batch now so its deltas are part of the drain.
    this.ts.batch.flush();
    try {
      // After the release, seal this turn's batch too: switch events read with the Deposed{Released}
      // were applied here, and their deltas belong before the final offset, not after it.
      const r = await p.handover({ releaseLease: async () => { await this.ts.link.release(); this.ts.batch.flush(); } });
      ha.releaser?.drainAll();
      if (!demoting()) return true; // deposed meanwhile: already backup
      this.log.info({ finalOffset: r.finalOffset, epoch: r.epoch, peer: r.peer }, 'handover complete: rejoining as backup');
      ha.input({ type: 'handover-done', reason: `handed over to ${r.peer} at offset ${r.finalOffset}` });
      return true;
    } catch (err) {
      const e = err as HandoverError | Error;
      const leaseReleased = e instanceof HandoverError ? e.leaseReleased : false;
      this.log.error({ code: (e as HandoverError).code, err: e.message, leaseReleased }, 'handover failed');
      if (!demoting()) return false; // deposed meanwhile: already demoted
      const leaseValid = this.ts.link.leaseValid();
      // Not acked by a backup that is gone: no client may see these (each retries its request).
      if (leaseReleased || !leaseValid) ha.releaser?.abandon(`handover failed: ${e.message}`);
      ha.input({ type: 'handover-failed', reason: e.message, leaseReleased, leaseValid });
      return false;
    }
  }
}

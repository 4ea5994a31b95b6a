// Graceful switchover, as the operator asks for it (DESIGN.md "Management layer"):
// - SIGUSR1 on the backup: ask the primary to hand over (HandoverRequest); if it does not answer in
//   time, claim the switch with force (our state holds everything the primary released).
// - SIGUSR2 on the primary, a HandoverRequest from the backup, or SIGTERM with a backup in sync:
//   stop serving (NotPrimary: the SDK retries on the other server with the same referenceId), drain,
//   release the lease, send HandoverReady, then rejoin as backup from (replicationId, finalOffset).
// The sync library runs the drain/release/seal sequence (src/sync/handover.ts); this file owns the
// role changes around it.
import type { Logger } from '../common/log.js';
import { HandoverError } from '../sync/handover.js';
import type { HaController } from './ha-controller.js';
import type { TServer } from './tserver.js';

/** How long the backup waits for HandoverReady after SIGUSR1 before it claims with force. */
export const HANDOVER_ANSWER_MS = 2_000;

export class Switchover {
  constructor(private readonly ha: HaController, private readonly ts: TServer, private readonly log: Logger) {
    ha.handoverHook = (reason) => this.handOver(reason);
  }

  /** SIGUSR1: make this server primary. */
  promote(reason: string): boolean {
    const role = this.ha.role;
    if (role === 'primary') {
      this.log.info({ reason }, 'promote requested: already primary');
      return false;
    }
    if (role !== 'backup-in-sync' || !this.ha.backup) {
      this.log.warn({ reason, role }, 'promote refused: this backup is not in sync (promoting now would lose what the primary released)');
      return false;
    }
    if (!this.ha.backup.requestHandover(reason)) {
      this.log.warn({ reason }, 'promote refused: the sync stream is not in sync');
      return false;
    }
    this.ha.armForceTimer(HANDOVER_ANSWER_MS);
    return true;
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
    if (ha.role !== 'primary' || !p || ha.handingOver) {
      this.log.info({ reason, role: ha.role }, 'handover not started: not a serving primary (or one is under way)');
      return false;
    }
    if (p.alone) {
      this.log.warn({ reason }, 'handover refused: no backup in sync to hand over to; staying primary');
      return false;
    }
    const roleNow = (): string => ha.role; // re-read after each await (TS would keep the narrowed type)
    ha.handingOver = true;
    if (!ha.machine.transition(['primary'], 'demoting', `handover: ${reason}`)) { ha.handingOver = false; return false; }
    // Seal this turn's batch now so its deltas are part of the drain.
    this.ts.batch.flush();
    try {
      // After the release, seal this turn's batch too: switch events read with the Deposed{Released}
      // were applied here, and their deltas belong before the final offset, not after it.
      const r = await p.handover({ releaseLease: async () => { await this.ts.link.release(); this.ts.batch.flush(); } });
      ha.releaser?.drainAll();
      if (roleNow() !== 'demoting') return true; // deposed meanwhile: already backup
      this.log.info({ finalOffset: r.finalOffset, epoch: r.epoch, peer: r.peer }, 'handover complete: rejoining as backup');
      ha.rejoinAsBackup(`handed over to ${r.peer} at offset ${r.finalOffset}`, { replicationId: p.replicationId, offset: r.finalOffset }, false);
      return true;
    } catch (err) {
      const e = err as HandoverError | Error;
      const leaseReleased = e instanceof HandoverError ? e.leaseReleased : false;
      this.log.error({ code: (e as HandoverError).code, err: e.message, leaseReleased }, 'handover failed');
      if (!leaseReleased && roleNow() === 'demoting' && this.ts.link.leaseValid()) {
        ha.handingOver = false;
        ha.machine.transition(['demoting'], 'primary', `handover failed before the lease was released (${e.message}): serving again`, ha.machine.epoch);
        ha.releaser?.pump();
        return false;
      }
      if (roleNow() !== 'demoting') return false; // deposed meanwhile: already demoted
      // Not acked by a backup that is gone: no client may see these (each retries its request).
      ha.releaser?.abandon(`handover failed: ${e.message}`);
      // The lease is gone (released, or lost meanwhile): rejoin as backup; reclaim if nobody takes it.
      ha.rejoinAsBackup(`handover failed after the lease was released (${e.message})`, { replicationId: p.replicationId, offset: p.offset }, true);
      return false;
    }
  }
}

// Graceful switchover, primary side (SIGUSR2 here, SIGUSR1 on the backup, SIGTERM with a backup in
// sync). The owner has already stopped accepting client requests (they answer NotPrimary and the SDK
// retries on the other server). Then:
//   1. flush and wait until the backup acked everything published;
//   2. release the switch lease (nothing new can be commanded; switch events not yet applied here
//      are redelivered to the new primary from the appliedSwitchSeq it inherits);
//   3. flush what arrived meanwhile: that offset is final; seal (publish() throws from now on);
//   4. wait until the backup acked it, then send HandoverReady{finalOffset, epoch}.
// The backup, having applied finalOffset, claims the switch with epoch+1. The old primary rejoins as
// backup from (replicationId, finalOffset): a partial resync with nothing to send.
import type { Logger } from '../../lib/log.js';
import type { PrimarySession } from './primary-session.js';

export interface HandoverOptions {
  /** Give the switch lease up (switch ReleaseLease{epoch}). */
  releaseLease: () => Promise<void> | void;
  /** How long each drain may take (ms). Default 2000. */
  drainTimeoutMs?: number;
}

export interface HandoverResult { finalOffset: number; epoch: number; peer: string }

export type HandoverErrorCode = 'NoBackupInSync' | 'DrainTimeout' | 'BackupLost';

export class HandoverError extends Error {
  constructor(readonly code: HandoverErrorCode, message: string, readonly leaseReleased: boolean) {
    super(message);
  }
}

export interface HandoverHost {
  flush(): void;
  offset(): number;
  epoch(): number;
  inSyncSession(): PrimarySession | undefined;
  seal(why: string): void;
  onProgress(listener: () => void): () => void;
}

function drained(host: HandoverHost, s: PrimarySession, offset: number, timeoutMs: number, leaseReleased: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (s.closed) finish(new HandoverError('BackupLost', `backup ${s.peerName} left during the handover`, leaseReleased));
      else if (s.ackedOffset >= offset) finish();
    };
    const timer = setTimeout(() => finish(new HandoverError('DrainTimeout', `backup ${s.peerName} did not ack offset ${offset} within ${timeoutMs} ms`, leaseReleased)), timeoutMs);
    const off = host.onProgress(check);
    function finish(err?: HandoverError) {
      clearTimeout(timer);
      off();
      if (err) reject(err);
      else resolve();
    }
    check();
  });
}

export async function runHandover(host: HandoverHost, opts: HandoverOptions, log: Logger): Promise<HandoverResult> {
  const s = host.inSyncSession();
  if (!s) throw new HandoverError('NoBackupInSync', 'no backup in sync to hand over to: staying primary', false);
  const timeoutMs = opts.drainTimeoutMs ?? 2000;
  const started = Date.now();
  log.info({ peer: s.peerName, offset: host.offset() }, 'handover: draining');
  host.flush();
  await drained(host, s, host.offset(), timeoutMs, false);
  await opts.releaseLease();
  log.info({ peer: s.peerName }, 'handover: switch lease released');
  host.flush();
  const finalOffset = host.offset();
  // Seal at the final offset, before waiting for its ack: a delta published while we wait would
  // reach the backup past finalOffset, which then refuses HandoverReady ("applied more") and
  // resyncs in full while the switchover falls back to a forced claim.
  host.seal(`handed over to ${s.peerName}`);
  await drained(host, s, finalOffset, timeoutMs, true);
  const epoch = host.epoch();
  s.write({ handoverReady: { finalOffset, epoch } });
  log.info({ peer: s.peerName, finalOffset, epoch, ms: Date.now() - started }, 'handover ready sent: the backup may claim epoch+1');
  return { finalOffset, epoch, peer: s.peerName };
}

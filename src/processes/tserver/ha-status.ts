// What the HA layer shows an operator: /healthz fields, /metrics families and EventServerInfo's
// syncState. Read-only views over the controller; nothing here changes state.
import { stateDigest } from '../../core/index.js';
import { ROLE_NAMES } from '../../ha/machine.js';
import type { HaController } from './ha-controller.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { TServer } from './tserver.js';

export interface HaHealth {
  haState: string;
  /** Backup only: its state holds everything the last primary released (it may be promoted). */
  haTrusted?: boolean;
  syncState: string;
  syncLag: number;
  syncLagMs: number;
  syncOffset: number;
  replicationId: string;
  /** Only when asked (`/healthz?digest=1`): it serializes the whole state, journal included. */
  stateDigest?: string;
  peer: string | null;
  promotions: number;
  resyncs: { partial: number; full: number };
}

/** syncState: for a primary 'alone' or the backup's link state; for a backup its own stream state. */
export function syncStateOf(ha: HaController): string {
  if (ha.primary) {
    const st = ha.primary.status();
    return st.alone ? 'alone' : st.state;
  }
  return ha.backup?.state ?? 'none';
}

export function haHealth(ha: HaController, ts: TServer, digest = false): HaHealth {
  const st = ha.state;
  // Whether this server may claim the lease with its state (backup, promoting): docs/ha.md "The HA machine".
  const trusted = st.kind === 'backup' || st.kind === 'promoting' ? { haTrusted: st.trusted } : {};
  const base = { haState: ha.role, ...trusted, ...(digest ? { stateDigest: stateDigest(ts.core.state) } : {}), promotions: ha.promotions, resyncs: { ...ha.resyncs } };
  if (ha.primary) {
    const st = ha.primary.status();
    return { ...base, syncState: st.alone ? 'alone' : st.state, syncLag: st.lagOffsets, syncLagMs: st.lagMs, syncOffset: st.offset, replicationId: st.replicationId, peer: st.peer ?? null };
  }
  const b = ha.backup;
  const pos = b?.position ?? { replicationId: '', offset: 0 };
  return { ...base, syncState: b?.state ?? 'none', syncLag: 0, syncLagMs: 0, syncOffset: pos.offset, replicationId: pos.replicationId, peer: b?.primary?.serverName ?? null };
}


export function registerHaMetrics(m: Metrics, ha: HaController): void {
  m.gauge('tandem_ha_state', 'HA role state machine: 1 for the current state.', ['state'], () => ROLE_NAMES.map((s) => ({ labels: { state: s }, value: ha.role === s ? 1 : 0 })));
  m.gauge('tandem_sync_in_sync', '1 when a backup is in sync (on the primary: its backup; on a backup: itself).', () => {
    if (ha.primary) return ha.primary.alone ? 0 : 1;
    return ha.backup?.state === 'in-sync' ? 1 : 0;
  });
  m.gauge('tandem_sync_alone', '1 when this primary runs alone (no backup in sync: nothing waits for acks).', () => (ha.primary?.alone ? 1 : 0));
  m.gauge('tandem_sync_lag_offsets', 'Deltas published but not yet acked by the backup (primary).', () => ha.primary?.status().lagOffsets ?? 0);
  m.gauge('tandem_sync_lag_seconds', 'Age of the oldest unacked batch (primary).', () => (ha.primary?.status().lagMs ?? 0) / 1000);
  m.gauge('tandem_sync_offset', 'Replication offset (primary: published; backup: applied).', () => ha.primary?.offset ?? ha.backup?.position.offset ?? 0);
  m.counter('tandem_promotions_total', 'Times this process became primary by promotion or handover.', () => ha.promotions);
  m.counter('tandem_resyncs_total', 'Resyncs this backup went through, by kind.', ['kind'], () => [
    { labels: { kind: 'partial' }, value: ha.resyncs.partial }, { labels: { kind: 'full' }, value: ha.resyncs.full },
  ]);
}

// The HA machine's vocabulary (machine.ts): its states, inputs, effects and parameters. Data only.

/** The backup's sync stream (src/adapters/sync/backup.ts runs it; this machine only reads it). */
export type BackupLinkState =
  | 'connecting' // looking for the primary (no stream, or no Welcome yet)
  | 'resyncing'  // Welcome received, catching up
  | 'in-sync'    // caught up: safe to promote
  | 'suspect'    // the primary went silent (ADDP timeout): the stream is kept, the switch judges
  | 'lost'       // had a primary and lost it (a reconnect is scheduled unless stopped)
  | 'handover'   // the primary handed over (HandoverReady): the owner claims epoch+1
  | 'stopped';

export type ClaimWhy = 'fresh' | 'promote' | 'handover' | 'reclaim' | 'lease-free';
/** The backup stream's state as the machine knows it ('none' before a stream exists). */
export type SyncView = BackupLinkState | 'none';

export interface Retry {
  why: ClaimWhy;
  force: boolean;
  attempts: number;
  /** Fast retries until then (ms); after it, trust decays if the lease is kept by a non-foreign holder. */
  windowUntil: number;
}

export interface Common { epoch: number; lapses: readonly number[] }
export interface Follower extends Common {
  sync: SyncView;
  trusted: boolean;
  /** The primary we followed last (its switch server name; '' = none yet). */
  primaryName: string;
  retry: Retry | null;
}

export type HaState =
  | ({ kind: 'starting' } & Common)
  | ({ kind: 'backup' } & Follower)
  | ({ kind: 'promoting'; why: ClaimWhy; force: boolean } & Follower)
  | ({ kind: 'primary' } & Common)
  | ({ kind: 'demoting' } & Common)
  | ({ kind: 'stopping' } & Common);

export type HaKind = HaState['kind'];

/** The role name operators see (/healthz haState, metrics, logs). */
export type RoleName = 'starting' | 'backup-syncing' | 'backup-in-sync' | 'promoting' | 'primary' | 'demoting' | 'stopping';
export const ROLE_NAMES: readonly RoleName[] = ['starting', 'backup-syncing', 'backup-in-sync', 'promoting', 'primary', 'demoting', 'stopping'];

export type HaInput =
  | { type: 'welcome'; epoch: number; holder: string }
  | { type: 'granted'; epoch: number }
  | { type: 'refused'; epoch: number; code: string; holder: string }
  | { type: 'deposed'; epoch: number; code: string; holder: string }
  /** The switch says who holds the lease now ('' = free) and why it changed. */
  | { type: 'lease-notice'; epoch: number; holder: string; reason: string }
  /** The shell could not send the claim (switch link not connected). */
  | { type: 'claim-unsent' }
  | { type: 'sync-state'; to: BackupLinkState }
  | { type: 'sync-welcome'; mode: 'partial' | 'full'; primaryName: string; epoch: number }
  | { type: 'primary-lost'; reason: string }
  /** Our peer answered our sync Hello: it is a backup that will not claim (willNotClaim): no need to wait for it. */
  | { type: 'peer-will-not-claim' }
  | { type: 'handover-ready'; finalOffset: number; epoch: number }
  | { type: 'operator-promote' }
  | { type: 'handover-start'; reason: string }
  | { type: 'handover-done'; reason: string }
  | { type: 'handover-failed'; reason: string; leaseReleased: boolean; leaseValid: boolean }
  | { type: 'timer'; name: TimerName }
  | { type: 'stop'; reason: string };

export type TimerName = 'claim' | 'force';

export type HaEffect =
  | { type: 'claim'; why: ClaimWhy; force: boolean }
  /**
   * (Re)start following the primary (a SyncBackup). `fromPrimary`: from the position we had as primary
   * (a demotion); else from the current stream's position, if any.
   */
  | { type: 'follow-primary'; fromPrimary: boolean }
  | { type: 'become-primary'; epoch: number; why: ClaimWhy }
  /** Stop being primary at the sync level: held batches dropped, SyncPrimary closed. */
  | { type: 'drop-primary'; reason: string }
  | { type: 'link-follow'; reason: string }
  | { type: 'release-lease' }
  | { type: 'serve-again' }
  | { type: 'resend-in-flight'; why: string }
  | { type: 'request-handover' }
  | { type: 'seed-fresh' }
  | { type: 'set-timer'; name: TimerName; ms: number }
  | { type: 'cancel-timer'; name: TimerName }
  | { type: 'stop-streams' }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string; data?: Record<string, unknown> };

export interface HaParams {
  /** Fast claim retries for this long after the loss (max(1 s, 3 × lease)). */
  claimWindowMs: number;
  /** Delays of the first retries; the last one repeats until the window ends. */
  retryMs: readonly number[];
  /** After the window, a trusted server with no primary retries this often (a foreign holder may go away). */
  slowRetryMs: number;
  /** SIGUSR1: wait this long for HandoverReady, then claim with force. */
  handoverAnswerMs: number;
  /** First claim-back delay of a server whose own lease lapsed; doubles per recent lapse. */
  lapseDampMs: number;
  /** Lapses older than this are forgotten. */
  lapseMemoryMs: number;
  /**
   * A server starting while nobody holds the lease of a pair that lived waits this long for its peer
   * (frozen, or about to reclaim with the newest state) before starting fresh from the switch.
   */
  freshStartWaitMs: number;
  /**
   * The first start of a pair (epoch 0, nobody holds the lease): a server configured as the
   * preferred backup (tserver.preferredRole "backup") waits this long for the preferred primary to
   * claim, so `tandem pair` comes up with A primary as documented. 0 = claim at once (both race).
   */
  standbyStartMs: number;
  /** Our own switch server name, and the peer's when known: any other lease holder is foreign. */
  selfName: string;
  peerName?: string;
}

export const DEFAULT_PARAMS: Omit<HaParams, 'selfName' | 'claimWindowMs'> = {
  retryMs: [5, 10, 20, 50], slowRetryMs: 1_000, handoverAnswerMs: 2_000, lapseDampMs: 100, lapseMemoryMs: 60_000, freshStartWaitMs: 3_000, standbyStartMs: 0,
};

export interface Step { state: HaState; effects: HaEffect[]; reason: string }

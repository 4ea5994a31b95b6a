// The primary's end of HA sync: numbers every published delta (offset) under a replication id,
// batches them per event-loop turn into one encoded DeltaBatch, keeps a bounded backlog for partial
// resync, serves backups (PrimarySession) and tells the owner when an offset is acknowledged.
//
// Invariants:
// - `offset` = deltas published since this replication began (continuing an inherited one).
// - backlog.endOffset <= offset; equal outside the turn in which deltas were published.
// - alone is true iff no session is 'in-sync'; then whenAcked() resolves at once.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Delta } from '../../core/api.js';
import type { Logger } from '../../lib/log.js';
import { sy } from '../../wire/sync-proto.js';
import { EncodedFrame, type PrimaryStream } from '../../wire/sync-service.js';
import { DEFAULT_ADDP, validateAddp, type AddpOptions } from '../../ha/addp.js';
import { AckWaiters } from './ack-waiters.js';
import type { UndoLog } from './undo-log.js';
import { Backlog, DEFAULT_BACKLOG, decideResync, type BacklogLimits, type InheritedReplication } from './backlog.js';
import { encodeDeltaBatch } from './delta-codec.js';
import { PrimarySession, type SessionHost, type SessionState } from './primary-session.js';
import { runHandover, type HandoverOptions, type HandoverResult } from './handover.js';
import { JunkLog } from '../../lib/junk-log.js';

export type SyncMode = 'ack' | 'async';
export type PrimaryLinkState = 'none' | 'connecting' | 'resyncing' | 'in-sync';

export interface SyncPrimaryOptions {
  serverName: string;
  /** The switch epoch this primary holds (sent in Welcome and HandoverReady). */
  epoch: () => number;
  /** The whole replicated state as deltas, taken synchronously (values must be immutable). */
  snapshotDeltas: () => Delta[];
  log: Logger;
  /** 'ack' (default): whenAcked waits for the backup. 'async': resolves at once. */
  mode?: SyncMode;
  secret?: string;
  backlog?: Partial<BacklogLimits>;
  addp?: Partial<AddpOptions>;
  /** After a promotion: the replication this server followed as backup and the offset it applied. */
  inherit?: InheritedReplication;
  /** Before-images of each published batch (the owner records them; acks prune them). */
  undo?: UndoLog;
  /** Target size of one snapshot chunk (bytes). Default 256 KiB. */
  snapshotChunkBytes?: number;
  /** Log a warning when the backup's ack lags more than this (ms). Default 250. */
  lagWarnMs?: number;
  /** A backup in sync that leaves releases waiting this long (ms) is dropped: running alone. Default 2000. */
  maxAckWaitMs?: number;
}

export interface PrimaryLinkStatus {
  state: PrimaryLinkState;
  mode: SyncMode;
  /** No backup in sync: releases are not waiting for anyone. */
  alone: boolean;
  replicationId: string;
  offset: number;
  peer?: string;
  ackedOffset?: number;
  lagOffsets: number;
  lagMs: number;
}

export interface SyncPrimaryEvents {
  /** The link's state, alone flag or peer changed. */
  link: [PrimaryLinkStatus];
  /** The backup asked for the primary role (operator promoted it). The owner decides; see handover(). */
  handoverRequested: [{ peer: string; reason: string }];
}

export class SyncPrimaryClosedError extends Error {
  readonly code = 'SyncPrimaryClosed';
}

export class SyncPrimary extends EventEmitter<SyncPrimaryEvents> implements SessionHost {
  readonly replicationId = randomBytes(12).toString('hex');
  readonly serverName: string;
  readonly secret: string | undefined;
  readonly mode: SyncMode;
  readonly backlog: Backlog;
  readonly addp: AddpOptions;
  readonly chunkBytes: number;
  private readonly inherited: InheritedReplication | undefined;
  private published: number;
  private pending: Delta[] = [];
  private flushScheduled = false;
  private readonly sessions = new Set<PrimarySession>();
  private readonly waiters = new AckWaiters();
  /** Called on every ack and session change (handover waits on them whatever the mode). */
  private readonly progress = new Set<() => void>();
  private wasAlone: boolean | undefined;
  private lastLinkKey = '';
  private lagWarned = false;
  private sealed: string | undefined;
  private readonly monitor: NodeJS.Timeout;
  private readonly log: Logger;
  readonly junk: JunkLog;

  constructor(private readonly opts: SyncPrimaryOptions) {
    super();
    this.serverName = opts.serverName;
    this.secret = opts.secret || undefined;
    this.mode = opts.mode ?? 'ack';
    this.addp = { ...DEFAULT_ADDP, ...opts.addp };
    validateAddp(this.addp);
    this.chunkBytes = opts.snapshotChunkBytes ?? 256 * 1024;
    this.inherited = opts.inherit;
    this.published = opts.inherit?.offset ?? 0;
    this.backlog = new Backlog({ ...DEFAULT_BACKLOG, ...opts.backlog }, this.published);
    this.log = opts.log.child({ component: 'sync-primary' });
    this.junk = new JunkLog(this.log);
    this.monitor = setInterval(() => this.watch(), 100).unref();
    this.log.info({ replicationId: this.replicationId, offset: this.published, mode: this.mode, inherited: this.inherited }, 'replication started');
    this.linkChanged('started');
  }

  get epoch(): number { return this.opts.epoch(); }
  /** Offset of the newest published delta (pass it to whenAcked). */
  get offset(): number { return this.published; }
  get alone(): boolean { return ![...this.sessions].some((s) => s.state === 'in-sync'); }

  /**
   * Queues deltas for the backup; all publish() calls of one event-loop turn go out as one batch.
   * Returns the offset of the last delta (the value to wait for with whenAcked).
   */
  publish(deltas: readonly Delta[]): number {
    if (this.sealed) throw new SyncPrimaryClosedError(`cannot publish: ${this.sealed}`);
    if (deltas.length === 0) return this.published;
    this.opts.undo?.sealed(this.published + 1, this.published + deltas.length);
    for (const d of deltas) this.pending.push(d);
    this.published += deltas.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return this.published;
  }

  /** Resolves when the backup acknowledged `offset` (ack mode), or at once when async or alone. */
  whenAcked(offset: number): Promise<void> {
    if (this.mode === 'async' || this.alone || offset <= this.minAcked()) return Promise.resolve();
    return this.waiters.add(offset, performance.now());
  }

  /** Encodes this turn's deltas as one batch, stores it in the backlog and sends it. Idempotent. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const deltas = this.pending;
    this.pending = [];
    const firstOffset = this.backlog.endOffset + 1;
    const lastOffset = firstOffset + deltas.length - 1;
    const frame = new EncodedFrame(encodeDeltaBatch(firstOffset, lastOffset, deltas));
    this.backlog.append({ firstOffset, lastOffset, frame, publishedAt: performance.now() });
    for (const s of this.sessions) s.kick();
  }

  decide(hello: { replicationId: string; offset: number; truncatableTo?: number }) {
    return decideResync(hello, { replicationId: this.replicationId, inherited: this.inherited, backlog: this.backlog });
  }

  snapshotDeltas(): Delta[] { return this.opts.snapshotDeltas(); }

  /** Takes over a new sync stream (called by SyncServer). */
  accept(stream: PrimaryStream, peerAddress: string): void {
    if (this.sealed) {
      stream.write({ error: { code: sy.ErrorCode.SHUTTING_DOWN, message: `this server stopped serving sync: ${this.sealed}` } });
      stream.end();
      return;
    }
    this.sessions.add(new PrimarySession(this, stream, peerAddress, this.log));
    this.linkChanged('backup connecting');
  }

  helloFrom(s: PrimarySession): void {
    for (const other of this.sessions) {
      if (other !== s && other.peerName === s.peerName) other.fail(sy.ErrorCode.REPLACED, `${s.peerName} connected again on a new stream`, true);
    }
  }

  changed(s: PrimarySession, from: SessionState, reason: string): void {
    if (s.state === 'closed') this.sessions.delete(s);
    if (s.state === 'in-sync') this.releaseAcked();
    this.linkChanged(reason);
    for (const l of this.progress) l();
  }

  acked(): void {
    this.opts.undo?.acked(this.minAcked());
    this.releaseAcked();
    for (const l of this.progress) l();
  }

  handoverRequested(s: PrimarySession, reason: string): void {
    this.log.info({ peer: s.peerName, reason }, 'backup asks for a handover');
    this.emit('handoverRequested', { peer: s.peerName, reason });
  }

  /**
   * Graceful switchover to the in-sync backup (the owner stopped accepting requests first):
   * drain, release the switch lease, drain what that produced, send HandoverReady, then seal
   * (publish() throws). Rejects, leaving this primary serving, when no backup is in sync or the
   * drain times out. See handover.ts.
   */
  handover(opts: HandoverOptions): Promise<HandoverResult> {
    return runHandover(this.handoverHost(), opts, this.log);
  }

  /** Link status for logs, /healthz and metrics. */
  status(): PrimaryLinkStatus {
    const best = this.bestSession();
    const acked = best?.state === 'in-sync' || best?.state === 'resyncing' ? best.ackedOffset : undefined;
    const lagFrom = acked ?? this.published;
    const since = this.backlog.publishedAfter(lagFrom);
    return {
      state: best ? (best.state === 'closed' ? 'none' : best.state) : 'none',
      mode: this.mode,
      alone: this.alone,
      replicationId: this.replicationId,
      offset: this.published,
      ...(best?.peerName ? { peer: best.peerName } : {}),
      ...(acked !== undefined ? { ackedOffset: acked } : {}),
      lagOffsets: this.published - lagFrom,
      lagMs: since === undefined ? 0 : Math.round(performance.now() - since),
    };
  }

  /** Test hook: stop (or resume) heartbeats to every backup without closing the streams. */
  pauseHeartbeats(paused: boolean): void { for (const s of this.sessions) s.pauseHeartbeats(paused); }

  /** SIGHUP: addp.trace is reloadable. */
  setTrace(trace: boolean): void {
    this.addp.trace = trace;
    for (const s of this.sessions) s.setTrace(trace);
  }

  /** Stops serving: ends every stream with SHUTTING_DOWN and releases every waiter. */
  close(reason = 'primary stopped'): void {
    if (!this.sealed) this.sealed = reason;
    clearInterval(this.monitor);
    this.junk.close();
    this.flush();
    for (const s of [...this.sessions]) s.fail(sy.ErrorCode.SHUTTING_DOWN, reason, true);
    this.waiters.releaseAll();
  }

  private handoverHost() {
    return {
      flush: () => this.flush(),
      offset: () => this.published,
      epoch: () => this.epoch,
      inSyncSession: () => [...this.sessions].find((s) => s.state === 'in-sync'),
      seal: (why: string) => { this.sealed = why; },
      onProgress: (l: () => void) => { this.progress.add(l); return () => { this.progress.delete(l); }; },
    };
  }

  private bestSession(): PrimarySession | undefined {
    const rank: Record<SessionState, number> = { 'in-sync': 3, resyncing: 2, connecting: 1, closed: 0 };
    let best: PrimarySession | undefined;
    for (const s of this.sessions) if (!best || rank[s.state] > rank[best.state]) best = s;
    return best;
  }

  private minAcked(): number {
    let min = Infinity;
    for (const s of this.sessions) if (s.state === 'in-sync') min = Math.min(min, s.ackedOffset);
    return min === Infinity ? this.published : min;
  }

  private releaseAcked(): void {
    if (this.alone || this.mode === 'async') this.waiters.releaseAll();
    else this.waiters.releaseUpTo(this.minAcked());
  }

  private linkChanged(reason: string): void {
    const alone = this.alone;
    if (alone !== this.wasAlone) {
      this.wasAlone = alone;
      if (alone) {
        const released = this.waiters.releaseAll();
        this.log.warn({ released, reason, mode: this.mode }, 'running alone: no backup in sync, nothing waits for acks');
      } else {
        this.log.info({ reason, mode: this.mode }, 'backup in sync: releases wait for its acks');
      }
    }
    const st = this.status();
    const key = `${st.state}|${st.alone}|${st.peer ?? ''}`;
    if (key !== this.lastLinkKey) {
      this.lastLinkKey = key;
      this.emit('link', st);
    }
  }

  /** Every 100 ms: lag over threshold (logged once per crossing) and a backup too slow to ack. */
  private watch(): void {
    const st = this.status();
    const warnMs = this.opts.lagWarnMs ?? 250;
    if (!this.lagWarned && st.lagMs > warnMs) {
      this.lagWarned = true;
      this.log.warn({ lagMs: st.lagMs, lagOffsets: st.lagOffsets, peer: st.peer, state: st.state }, 'sync lag over threshold');
    } else if (this.lagWarned && st.lagMs <= warnMs) {
      this.lagWarned = false;
      this.log.info({ lagMs: st.lagMs, lagOffsets: st.lagOffsets, peer: st.peer }, 'sync lag back under threshold');
    }
    const since = this.waiters.oldestSince;
    const maxWait = this.opts.maxAckWaitMs ?? 2000;
    if (since !== undefined && performance.now() - since > maxWait) {
      for (const s of [...this.sessions]) {
        if (s.state === 'in-sync') s.fail(sy.ErrorCode.ACK_TIMEOUT, `no ack for ${maxWait} ms while releases waited: dropping this backup (sync.maxAckWaitMs)`, true);
      }
    }
  }
}

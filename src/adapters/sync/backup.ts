// The backup's end of HA sync: follows the primary's replication (Hello with where it stands, then a
// snapshot or the backlog, then live batches), applies deltas through the owner's callbacks, acks
// once per event-loop turn, reconnects with backoff, and reports the primary lost at once when the
// stream breaks (crash, kill -9) or after the ADDP timeout of silence (hang, SIGSTOP).
//
// Invariants:
// - position.offset = deltas of position.replicationId applied to the owner's state.
// - position.replicationId is '' while the owner's state cannot be trusted (snapshot cut short,
//   apply failed): the next Hello asks for a full snapshot.
// - state 'in-sync' only after InSync{offset} with offset <= position.offset: promotion is safe.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { Delta } from '../../core/api.js';
import type { Logger } from '../../lib/log.js';
import { sy } from '../../wire/sync-proto.js';
import { oneof, unhandled } from '../../lib/oneof.js';
import { openSyncStream, type BackupStream, type Decoded } from '../../wire/sync-service.js';
import { AddpMonitor, DEFAULT_ADDP, RESYNC_SILENCE_FACTOR, validateAddp, type AddpOptions } from '../../ha/addp.js';
import { deltaFromWire } from './delta-codec.js';
import { SYNC_CHANNEL_OPTIONS } from './server.js';
import { grpcClientCredentials, grpcClientOptions, type TlsMaterial } from '../../lib/tls.js';
import { syncCallMetadata } from '../../lib/peer-auth.js';
import { StateMachine } from '../../lib/fsm.js';
import { Backoff } from '../../lib/backoff.js';
import type { BackupLinkState } from '../../ha/machine-types.js';

// The states are the HA machine's input vocabulary (it reads them, never this module): defined there.
export type { BackupLinkState };

/** For each state, the states it may be entered from. */
const ALLOWED_FROM: Record<BackupLinkState, readonly BackupLinkState[]> = {
  // From a primary lost or silent past the give-up time, after a protocol error (a restarted
  // stream), or at start. A retry before any Welcome stays in connecting.
  connecting: ['stopped', 'handover', 'lost', 'suspect', 'resyncing', 'in-sync'],
  resyncing: ['connecting', 'suspect'],
  'in-sync': ['resyncing', 'suspect'],
  suspect: ['resyncing', 'in-sync'],
  lost: ['resyncing', 'in-sync'],
  // The primary hands over only to a backup it has told InSync.
  handover: ['in-sync'],
  stopped: ['connecting', 'resyncing', 'in-sync', 'suspect', 'lost', 'handover'],
};

export interface ReplicationPosition { replicationId: string; offset: number }

export interface SyncBackupOptions {
  serverName: string;
  /** host:port of the peer's sync port. */
  primaryAddress: string;
  log: Logger;
  /** Empty the replicated state (a full snapshot follows). */
  reset(): void;
  /** Apply deltas in order (the same applyDelta the primary used). */
  apply(deltas: Delta[]): void;
  secret?: string;
  /** Mutual TLS towards the primary's sync port: our certificate and key, and the CA its certificate must chain to. */
  tls?: TlsMaterial;
  /** Where the owner's state stands (e.g. an old primary rejoining: its replicationId and offset). */
  position?: ReplicationPosition;
  /**
   * A demoted primary's undo log: how far back it can roll its state (sent in Hello), and the
   * rollback itself (true = done; false = cannot, a full resync follows).
   */
  undo?: { truncatableTo(): number; rollback(toOffset: number): boolean };
  addp?: Partial<AddpOptions>;
  reconnect?: { initialMs?: number; maxMs?: number };
}

export type LostReason = 'closed' | 'addp-timeout';

export interface PrimaryInfo { serverName: string; epoch: number; replicationId: string }

export interface SyncBackupEvents {
  state: [{ from: BackupLinkState; to: BackupLinkState; reason: string }];
  /** The primary is gone (stream broke or went silent): the trigger for promotion. */
  lost: [{ reason: LostReason; detail: string; inSync: boolean; position: ReplicationPosition; primary?: PrimaryInfo }];
  welcome: [{ mode: 'partial' | 'full'; primary: PrimaryInfo; fromOffset: number; snapshotDeltas: number; primaryOffset: number }];
  /** Clean handover: everything up to finalOffset is applied; claim the switch with epoch + 1. */
  handoverReady: [{ finalOffset: number; epoch: number; position: ReplicationPosition }];
  /** The primary sent Error (NOT_PRIMARY, UNAUTHORIZED, ...). */
  refused: [{ code: string; message: string }];
}

interface Attempt {
  client: grpc.Client;
  stream: BackupStream;
  addp: AddpMonitor;
  /** While suspect: the state to return to when the primary is heard again, and the give-up timer. */
  suspect?: { from: 'resyncing' | 'in-sync'; giveUp: NodeJS.Timeout };
  primary?: PrimaryInfo;
  snapshot?: { started: number; deltas: number; bytes: number; mode: 'partial' | 'full' };
}

class ProtocolError extends Error {}

/** Releases an attempt's gRPC call and channel (idempotent). */
function closeAttempt(a: Attempt): void {
  try { a.stream.cancel(); } catch { /* gone */ }
  a.client.close();
}

export class SyncBackup extends EventEmitter<SyncBackupEvents> {
  private readonly sm: StateMachine<BackupLinkState>;
  private pos: ReplicationPosition;
  private attempt: Attempt | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Reconnect delays: 50 ms doubling to 1 s by default; starts over on Welcome and on a lost primary. */
  private readonly backoff: Backoff;
  private ackScheduled = false;
  private heartbeatsPaused = false;
  private readonly addpOpts: AddpOptions;
  private readonly log: Logger;

  constructor(private readonly opts: SyncBackupOptions) {
    super();
    this.pos = { ...(opts.position ?? { replicationId: '', offset: 0 }) };
    this.addpOpts = { ...DEFAULT_ADDP, ...opts.addp };
    validateAddp(this.addpOpts);
    this.backoff = new Backoff({ initialMs: opts.reconnect?.initialMs ?? 50, maxMs: opts.reconnect?.maxMs ?? 1000 });
    this.log = opts.log.child({ component: 'sync-backup', primaryAddress: opts.primaryAddress });
    this.sm = new StateMachine<BackupLinkState>({
      name: 'sync backup', initial: 'stopped', allowedFrom: ALLOWED_FROM, log: this.log, fields: () => ({ offset: this.pos.offset }),
    });
    this.sm.onChange((t) => {
      // The resync grace (RESYNC_SILENCE_FACTOR) ends once in sync: from then on a silent primary is suspect after one timeout.
      if (t.to === 'in-sync') this.attempt?.addp.setTimeoutMs(this.addpOpts.timeoutMs);
      this.emit('state', t);
    });
  }

  get state(): BackupLinkState { return this.sm.state; }
  get position(): ReplicationPosition { return { ...this.pos }; }
  get primary(): PrimaryInfo | undefined { return this.attempt?.primary; }

  start(): void {
    const seen = this.sm.state;
    if (seen === 'stopped' || seen === 'handover') this.connect(seen, 'started');
  }

  /** Stops following (e.g. promoted): closes the stream, cancels reconnects. */
  stop(reason = 'stopped'): void {
    clearTimeout(this.retryTimer);
    this.dropAttempt();
    this.sm.transition(ALLOWED_FROM.stopped, 'stopped', reason);
  }

  /** SIGUSR1: ask the primary to hand over. False when not in sync (nothing sent). */
  requestHandover(reason: string): boolean {
    if (!this.sm.is('in-sync') || !this.attempt) return false;
    this.attempt.stream.write({ handoverRequest: { reason } });
    this.log.info({ reason }, 'handover requested from the primary');
    return true;
  }

  /** Test hook: stop sending heartbeats and acks' companions (the primary sees a silent backup). */
  pauseHeartbeats(paused: boolean): void {
    this.heartbeatsPaused = paused;
    this.attempt?.addp.pauseSending(paused);
  }

  setTrace(trace: boolean): void {
    this.addpOpts.trace = trace;
    this.attempt?.addp.setTrace(trace);
  }

  /** Opens a stream to the primary; `seen` is the state the caller (start, a retry timer) acted on. */
  private connect(seen: BackupLinkState, reason: string): void {
    this.retryTimer = undefined;
    if (seen === 'connecting' ? !this.sm.is('connecting') : !this.sm.transition(seen, 'connecting', reason)) return;
    const client = new grpc.Client(this.opts.primaryAddress, grpcClientCredentials(this.opts.tls), { ...SYNC_CHANNEL_OPTIONS, ...grpcClientOptions(this.opts.tls) });
    const stream = openSyncStream(client, undefined, syncCallMetadata(this.opts.secret));
    const a: Attempt = {
      client,
      stream,
      addp: new AddpMonitor({ ...this.addpOpts }, {
        send: () => a.stream.write({ heartbeat: { sentMs: Date.now() } }),
        dead: (silentMs) => this.suspect(a, silentMs),
        revived: () => this.revived(a),
        log: this.log,
        peer: 'primary',
      }),
    };
    this.attempt = a;
    stream.on('data', (d: Decoded<sy.PrimaryToBackup>) => { if (this.attempt === a) this.onData(a, d); });
    stream.on('error', (err: grpc.ServiceError) => {
      // The primary refused our credential before any message: a setting to fix, not a lost primary.
      if (err.code === grpc.status.UNAUTHENTICATED && this.attempt === a) {
        this.log.error({ code: 'UNAUTHENTICATED', detail: err.details }, 'the peer refused our sync secret: set the same one on both servers (docs/peer-auth.md)');
        this.emit('refused', { code: 'UNAUTHENTICATED', message: err.details });
      }
      this.ended(a, 'closed', `stream error: ${err.message}`);
    });
    stream.on('end', () => this.ended(a, 'closed', 'primary ended the stream'));
    const truncatableTo = this.pos.replicationId ? this.opts.undo?.truncatableTo() ?? 0 : 0;
    stream.write({ hello: { serverName: this.opts.serverName, replicationId: this.pos.replicationId, offset: this.pos.offset, secret: this.opts.secret ?? '', truncatableTo } });
    a.addp.setTimeoutMs(RESYNC_SILENCE_FACTOR * this.addpOpts.timeoutMs);
    a.addp.pauseSending(this.heartbeatsPaused);
    a.addp.start();
  }

  /**
   * ADDP timeout: the primary may be hung, or only busy (a long GC pause, an overloaded loop). The
   * stream is kept and the owner is told (`lost`, reason addp-timeout): it asks the switch, which
   * grants the lease only if the primary stopped renewing it. Tearing the stream down here would
   * turn a busy primary into a resync (more load on it): the feedback loop of a metastable failure.
   * After `suspectGiveUpMs` of silence the stream is dropped and reconnected (a silent network).
   */
  private suspect(a: Attempt, silentMs: number): void {
    if (this.attempt !== a) return;
    const from = this.sm.state;
    if (from !== 'in-sync' && from !== 'resyncing') return this.ended(a, 'addp-timeout', `primary silent for ${silentMs} ms`);
    const giveUpMs = 4 * this.addpOpts.timeoutMs;
    const detail = `primary silent for ${silentMs} ms: suspect, stream kept, the switch decides`;
    a.suspect = { from, giveUp: setTimeout(() => this.ended(a, 'closed', `primary silent for ${giveUpMs + silentMs} ms: reconnecting`), giveUpMs).unref() };
    this.log.warn({ reason: 'addp-timeout', detail, silentMs, inSync: from === 'in-sync', position: this.pos, primary: a.primary, streamKept: true }, 'primary lost');
    this.sm.transition(from, 'suspect', `addp-timeout: ${detail}`);
    this.emit('lost', { reason: 'addp-timeout', detail, inSync: from === 'in-sync', position: this.position, ...(a.primary ? { primary: a.primary } : {}) });
  }

  private revived(a: Attempt): void {
    if (this.attempt !== a || !a.suspect || !this.sm.is('suspect')) return;
    clearTimeout(a.suspect.giveUp);
    const back = a.suspect.from;
    a.suspect = undefined;
    this.sm.transition('suspect', back, 'primary heard again');
  }

  private dropAttempt(): Attempt | undefined {
    const a = this.detachAttempt();
    if (a) closeAttempt(a);
    return a;
  }

  /** Forgets the current attempt (its late events are ignored from now on) and stops its timers. */
  private detachAttempt(): Attempt | undefined {
    const a = this.attempt;
    if (!a) return undefined;
    this.attempt = undefined;
    if (a.suspect) clearTimeout(a.suspect.giveUp);
    a.addp.stop();
    return a;
  }

  private ended(a: Attempt, reason: LostReason | 'protocol', detail: string): void {
    if (this.attempt !== a) return;
    this.detachAttempt();
    // The stream is broken already; closing its gRPC call and channel took 2-4 ms of a kill -9
    // failover (bench-promotion, 2 cores) before the owner heard of it. Closed on the next turn
    // instead, after the owner's claim is written.
    setImmediate(() => closeAttempt(a));
    const seen = this.sm.state;
    if (seen === 'stopped' || seen === 'handover') return;
    const lost = reason !== 'protocol' && (seen === 'resyncing' || seen === 'in-sync');
    if (lost) {
      const inSync = seen === 'in-sync';
      this.log.warn({ reason, detail, inSync, position: this.pos, primary: a.primary }, 'primary lost');
      this.sm.transition(seen, 'lost', `${reason}: ${detail}`);
      this.emit('lost', { reason, detail, inSync, position: this.position, ...(a.primary ? { primary: a.primary } : {}) });
      this.backoff.reset();
    }
    // Promotion (if any) calls stop() from a 'lost' listener; else keep following whoever is primary.
    const now = this.sm.state;
    if (now === 'stopped') return;
    const backoffMs = this.backoff.next(); // a protocol error retries at once, but still counts
    const delay = reason === 'protocol' ? 0 : backoffMs;
    if (!lost) this.log.debug({ reason, detail, retryMs: delay }, 'sync stream to primary failed: retrying');
    this.retryTimer = setTimeout(() => this.connect(now, `reconnect after ${reason}`), delay).unref();
  }

  private onData(a: Attempt, d: Decoded<sy.PrimaryToBackup>): void {
    a.addp.heard(d.ok && d.msg.msg === 'heartbeat');
    if (!d.ok) {
      this.log.error({ bytes: d.bytes, err: d.error }, 'undecodable message from the primary: restarting the stream');
      this.ended(a, 'protocol', d.error);
      return;
    }
    try {
      this.handle(a, d.msg, d.bytes);
    } catch (err) {
      // Applied state is now doubtful: ask for a full snapshot on the next stream.
      this.pos = { replicationId: '', offset: 0 };
      this.log.error({ err: (err as Error).message }, 'could not apply what the primary sent: full resync');
      this.ended(a, 'protocol', (err as Error).message);
    }
  }

  private handle(a: Attempt, m: sy.PrimaryToBackup, bytes: number): void {
    const msg = oneof(m, 'msg');
    switch (msg.case) {
      case 'heartbeat': return;
      case 'welcome': return this.onWelcome(a, msg.value);
      case 'snapshotChunk': {
        const c = msg.value;
        if (!a.snapshot || a.snapshot.mode !== 'full') throw new ProtocolError('snapshot chunk outside a full resync');
        this.opts.apply(c.deltas.map(deltaFromWire));
        a.snapshot.deltas += c.deltas.length;
        a.snapshot.bytes += bytes;
        if (c.last) {
          this.pos = { replicationId: a.primary!.replicationId, offset: this.pendingSnapshotOffset };
          this.scheduleAck();
        }
        return;
      }
      case 'deltaBatch': {
        const b = msg.value;
        if (!this.pos.replicationId || b.firstOffset !== this.pos.offset + 1 || b.lastOffset - b.firstOffset + 1 !== b.deltas.length) {
          throw new ProtocolError(`batch ${b.firstOffset}..${b.lastOffset} (${b.deltas.length} deltas) does not follow offset ${this.pos.offset}`);
        }
        this.opts.apply(b.deltas.map(deltaFromWire));
        this.pos.offset = b.lastOffset;
        if (a.snapshot) a.snapshot.bytes += bytes;
        if (a.snapshot?.mode === 'partial') a.snapshot.deltas += b.deltas.length;
        this.scheduleAck();
        return;
      }
      case 'inSync': {
        const offset = msg.value.offset;
        if (this.pos.offset < offset) throw new ProtocolError(`InSync at ${offset} but only ${this.pos.offset} applied`);
        const s = a.snapshot;
        a.snapshot = undefined;
        this.log.info({ kind: s?.mode, deltas: s?.deltas, bytes: s?.bytes, ms: s ? Math.round(performance.now() - s.started) : 0, offset }, 'resync done: in sync');
        this.sm.transition('resyncing', 'in-sync', `caught up at offset ${offset}`);
        return;
      }
      case 'handoverReady': {
        const h = msg.value;
        if (this.pos.offset !== h.finalOffset) throw new ProtocolError(`HandoverReady at ${h.finalOffset} but ${this.pos.offset} applied`);
        if (!this.sm.transition('in-sync', 'handover', `primary handed over at offset ${h.finalOffset}`)) throw new ProtocolError(`HandoverReady while ${this.sm.state}, not in sync`);
        this.log.info({ finalOffset: h.finalOffset, epoch: h.epoch }, 'primary handed over: claim epoch+1');
        this.dropAttempt();
        this.emit('handoverReady', { finalOffset: h.finalOffset, epoch: h.epoch, position: this.position });
        return;
      }
      case 'error': {
        const e = msg.value;
        const code = sy.ErrorCode[e.code] ?? String(e.code);
        const level = e.code === sy.ErrorCode.UNAUTHORIZED ? 'error' : 'warn';
        this.log[level]({ code, detail: e.message }, 'primary sent an error');
        this.emit('refused', { code, message: e.message });
        return;
      }
      case undefined: throw new ProtocolError('empty message from the primary');
      default: unhandled(msg);
    }
  }

  private pendingSnapshotOffset = 0;
  /** Rollbacks to a divergence point since start (for logs and tests). */
  truncations = 0;

  private onWelcome(a: Attempt, w: sy.Welcome): void {
    if (a.primary) throw new ProtocolError('second Welcome on one stream');
    a.primary = { serverName: w.serverName, epoch: w.epoch, replicationId: w.replicationId };
    const mode = w.mode === sy.ResyncMode.FULL ? 'full' : w.mode === sy.ResyncMode.PARTIAL ? 'partial' : undefined;
    if (!mode) throw new ProtocolError(`Welcome with unknown resync mode ${w.mode}`);
    if (mode === 'partial' && w.fromOffset < this.pos.offset && w.replicationId !== this.pos.replicationId && this.opts.undo) {
      // We went further than the new primary inherited (batches never acknowledged): roll back to
      // the divergence point, then continue from it. Refused: drop the position, full resync next.
      const from = this.pos.offset;
      if (!this.opts.undo.rollback(w.fromOffset)) {
        this.pos = { replicationId: '', offset: 0 };
        throw new ProtocolError(`cannot roll back from ${from} to the divergence point ${w.fromOffset}: full resync`);
      }
      this.log.info({ from, to: w.fromOffset, truncated: from - w.fromOffset }, 'truncated to the divergence point: partial resync');
      this.pos.offset = w.fromOffset;
      this.truncations += 1;
    }
    if (mode === 'partial' && w.fromOffset !== this.pos.offset) throw new ProtocolError(`partial resync from ${w.fromOffset} but ${this.pos.offset} applied`);
    a.snapshot = { started: performance.now(), deltas: 0, bytes: 0, mode };
    if (mode === 'full') {
      this.pos = { replicationId: '', offset: 0 }; // doubtful until the last chunk
      this.pendingSnapshotOffset = w.fromOffset;
      this.opts.reset();
    } else {
      this.pos.replicationId = w.replicationId;
    }
    this.backoff.reset();
    this.log.info({ mode, primary: a.primary, fromOffset: w.fromOffset, snapshotDeltas: w.snapshotDeltas, primaryOffset: w.primaryOffset }, `resync ${mode} from primary`);
    this.sm.transition('connecting', 'resyncing', `${mode} resync from ${w.serverName}`);
    this.emit('welcome', { mode, primary: a.primary, fromOffset: w.fromOffset, snapshotDeltas: w.snapshotDeltas, primaryOffset: w.primaryOffset });
  }

  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      if (this.pos.replicationId) this.attempt?.stream.write({ ack: { offset: this.pos.offset } });
    });
  }
}

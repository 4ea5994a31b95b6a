// One backup's sync stream, on the primary: handshake, full snapshot or partial resync, then live
// batches, acks and ADDP. Writes respect grpc backpressure (write() false -> wait for 'drain'), and a
// snapshot yields to the event loop every SNAPSHOT_TURN_BUDGET_MS so the primary keeps serving while
// it streams.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { Delta } from '../../core/api.js';
import type { Logger } from '../../lib/log.js';
import { sy } from '../../wire/sync-proto.js';
import { oneof, unhandled } from '../../lib/oneof.js';
import { EncodedFrame, encodePrimary, type Decoded, type PrimaryFrame, type PrimaryStream } from '../../wire/sync-service.js';
import { AddpMonitor, RESYNC_SILENCE_FACTOR, type AddpOptions } from '../../ha/addp.js';
import { BacklogOverflowError, type Backlog, type ResyncDecision } from './backlog.js';
import { deltaToWire, wireSize } from './delta-codec.js';
import { badMessage, classifyBeforeHello } from './hello.js';
import type { JunkLog } from '../../lib/junk-log.js';
import { StateMachine } from '../../lib/fsm.js';

/** Errors that answer a peer's junk: logged through the host's rate-limited JunkLog. */
const JUNK_CODES: ReadonlySet<sy.ErrorCode> = new Set([sy.ErrorCode.BAD_MESSAGE, sy.ErrorCode.NOT_HELLO, sy.ErrorCode.UNAUTHORIZED]);


/**
 * Snapshot chunks encoded and written per event-loop turn, by time. One chunk per turn made a full
 * resync as slow as the primary's turns: under load (500 desktops, 200 calls/s, a busy box) a turn
 * lasts tens of ms, and 75 chunks (48,000 deltas, 19 MB) took 4.1 s. A chunk costs ~4 ms to encode.
 */
const SNAPSHOT_TURN_BUDGET_MS = 10;

/**
 * connecting: stream open, no Hello yet. resyncing: Welcome sent, catching up (snapshot or backlog).
 * in-sync: InSync sent; from then on nothing is released before this backup acks it. closed: final.
 */
export type SessionState = 'connecting' | 'resyncing' | 'in-sync' | 'closed';

/** For each state, the states it may be entered from. */
const ALLOWED_FROM: Record<SessionState, readonly SessionState[]> = {
  connecting: [],
  resyncing: ['connecting'],
  'in-sync': ['resyncing'],
  closed: ['connecting', 'resyncing', 'in-sync'],
};

export interface SessionHost {
  readonly serverName: string;
  readonly replicationId: string;
  readonly secret: string | undefined;
  readonly epoch: number;
  /** Offset of the newest published delta, flushed or not. */
  readonly offset: number;
  readonly backlog: Backlog;
  readonly chunkBytes: number;
  readonly addp: AddpOptions;
  /** Rate-limited log of junk from backups (bad frames, wrong Hello secret). */
  readonly junk: JunkLog;
  decide(hello: { replicationId: string; offset: number; truncatableTo?: number }): ResyncDecision;
  /** Sends the deltas published this turn now (a snapshot is taken at a flushed point). */
  flush(): void;
  snapshotDeltas(): Delta[];
  helloFrom(s: PrimarySession): void;
  changed(s: PrimarySession, from: SessionState, reason: string): void;
  acked(s: PrimarySession): void;
  handoverRequested(s: PrimarySession, reason: string): void;
}

export interface ResyncReport { kind: 'partial' | 'full'; reason: string; deltas: number; bytes: number; ms: number }

let nextId = 1;

export class PrimarySession {
  readonly id = nextId++;
  private readonly sm: StateMachine<SessionState>;
  /** The backup's name from Hello ('' before). */
  peerName = '';
  /** Last offset written to the stream. */
  private cursor = 0;
  /** Highest offset the backup acknowledged. */
  ackedOffset = 0;
  /** Set while the resync ended at this offset and the backup has not acked it yet (ADDP grace). */
  private graceUntilOffset: number | undefined;
  private snapshot: Delta[] | undefined;
  private pumping = false;
  private readonly addp: AddpMonitor;
  private readonly closeWaiters = new Set<() => void>();
  private resync: { kind: 'partial' | 'full'; reason: string; deltas: number; bytes: number; started: number } | undefined;
  lastResync: ResyncReport | undefined;
  private readonly log: Logger;

  constructor(private readonly host: SessionHost, private readonly stream: PrimaryStream, readonly peerAddress: string, log: Logger) {
    this.log = log.child({ component: 'sync-session', session: this.id, peerAddress });
    this.sm = new StateMachine<SessionState>({
      name: 'sync link', initial: 'connecting', allowedFrom: ALLOWED_FROM, log: this.log, fields: () => ({ peer: this.peerName || peerAddress }),
    });
    this.sm.onChange(({ from, to, reason }) => this.enter(from, to, reason));
    this.addp = new AddpMonitor({ ...host.addp }, {
      send: () => this.write({ heartbeat: { sentMs: Date.now() } }),
      dead: (silentMs) => this.close(`addp timeout: backup silent for ${silentMs} ms`),
      log: this.log,
      peer: 'backup',
    });
    stream.on('data', (d: Decoded<sy.BackupToPrimary>) => this.onData(d));
    stream.on('error', (err: Error) => this.close(`stream error: ${err.message}`));
    stream.on('cancelled', () => this.close('stream cancelled by the backup'));
    stream.on('end', () => this.close('backup ended the stream'));
    stream.on('close', () => this.close('stream closed'));
    this.addp.start();
  }

  get state(): SessionState { return this.sm.state; }
  get sentOffset(): number { return this.cursor; }
  get closed(): boolean { return this.sm.is('closed'); }

  /** Test hook: stop heartbeats to this backup without closing (a hung-looking primary). */
  pauseHeartbeats(paused: boolean): void { this.addp.pauseSending(paused); }
  setTrace(trace: boolean): void { this.addp.setTrace(trace); }

  /** New batches are in the backlog: send them. */
  kick(): void { void this.pump(); }

  /** Writes a message (or pre-encoded frame) unless closed; false when the stream buffer is full. */
  write(frame: PrimaryFrame): boolean {
    if (this.closed) return true;
    try {
      return this.stream.write(frame);
    } catch (err) {
      this.close(`write failed: ${(err as Error).message}`);
      return true;
    }
  }

  /** Sends Error and, when `close`, ends the stream. */
  fail(code: sy.ErrorCode, message: string, close: boolean): void {
    const fields = { code: sy.ErrorCode[code], peer: this.peerName, detail: message, session: this.id };
    if (JUNK_CODES.has(code)) this.host.junk.report(this.peerAddress, fields, 'sync error sent to backup');
    else this.log.warn(fields, 'sync error sent to backup');
    this.write({ error: { code, message } });
    if (close) this.close(`${sy.ErrorCode[code]}: ${message}`);
  }

  /** Ends the stream, through the machine's transition to closed (entry actions in enter()). */
  close(reason: string): void {
    if (this.closed) return; // a torn-down stream reports end, close and error: one close is enough
    this.sm.transition(ALLOWED_FROM.closed, 'closed', reason);
  }

  /** Entry actions, then the host hears of the change. */
  private enter(from: SessionState, to: SessionState, reason: string): void {
    switch (to) {
      case 'closed':
        this.addp.stop();
        try { this.stream.end(); } catch { /* already torn down */ }
        for (const w of this.closeWaiters) w();
        this.closeWaiters.clear();
        break;
      case 'resyncing':
        this.addp.setTimeoutMs(RESYNC_SILENCE_FACTOR * this.host.addp.timeoutMs);
        break;
      case 'in-sync':
        // Written is not applied: the grace lasts until the backup acks the resync's last offset.
        // A full resync's offset counts as acked (ackedOffset) but its snapshot is still being applied.
        if (this.ackedOffset >= this.cursor && this.lastResync?.kind !== 'full') this.addp.setTimeoutMs(this.host.addp.timeoutMs);
        else this.graceUntilOffset = this.cursor;
        break;
      case 'connecting':
        break;
      default: {
        const never: never = to;
        throw new Error(`unhandled sync session state ${String(never)}`);
      }
    }
    this.host.changed(this, from, reason);
  }

  private onData(d: Decoded<sy.BackupToPrimary>): void {
    if (this.closed) return;
    this.addp.heard(d.ok && d.msg.msg === 'heartbeat');
    if (this.sm.is('connecting')) {
      const pre = classifyBeforeHello(d, this.host.secret);
      if (pre.kind === 'error') this.fail(pre.code, pre.message, pre.close);
      else if (pre.kind === 'hello') this.onHello(pre.hello);
      return;
    }
    if (!d.ok) {
      const bad = badMessage(d);
      if (bad.kind === 'error') this.fail(bad.code, bad.message, false);
      return;
    }
    const c = oneof(d.msg, 'msg');
    switch (c.case) {
      case 'ack': this.onAck(c.value.offset); return;
      case 'heartbeat': return;
      case 'handoverRequest': this.host.handoverRequested(this, c.value.reason || 'backup asked'); return;
      case 'hello': this.fail(sy.ErrorCode.BAD_MESSAGE, 'second Hello on one stream: open a new stream to start over', false); return;
      case undefined: this.fail(sy.ErrorCode.BAD_MESSAGE, 'empty sync message', false); return;
      default: unhandled(c);
    }
  }

  private onHello(h: sy.Hello): void {
    this.peerName = h.serverName || '?';
    this.host.helloFrom(this);
    const decision = this.host.decide({ replicationId: h.replicationId, offset: h.offset, truncatableTo: h.truncatableTo });
    let snapshotSize = 0;
    if (decision.mode === 'full') {
      // One consistent point: everything published so far is flushed, the snapshot is the state at it.
      this.host.flush();
      this.snapshot = this.host.snapshotDeltas();
      snapshotSize = this.snapshot.length;
      this.cursor = this.host.backlog.endOffset;
    } else {
      this.cursor = decision.fromOffset;
    }
    this.ackedOffset = this.cursor;
    const reason = decision.mode === 'full' ? decision.reason : 'offset-in-backlog';
    this.resync = { kind: decision.mode, reason, deltas: snapshotSize, bytes: 0, started: performance.now() };
    this.write({
      welcome: {
        serverName: this.host.serverName,
        replicationId: this.host.replicationId,
        epoch: this.host.epoch,
        mode: decision.mode === 'full' ? sy.ResyncMode.FULL : sy.ResyncMode.PARTIAL,
        fromOffset: this.cursor,
        snapshotDeltas: snapshotSize,
        primaryOffset: this.host.offset,
      },
    });
    this.log.info({
      peer: this.peerName, kind: decision.mode, reason, backupReplicationId: h.replicationId, backupOffset: h.offset,
      fromOffset: this.cursor, primaryOffset: this.host.offset, snapshotDeltas: snapshotSize,
    }, `resync ${decision.mode} started`);
    this.sm.transition('connecting', 'resyncing', `hello from ${this.peerName}: ${decision.mode} resync`);
    void this.pump();
  }

  private onAck(offset: number): void {
    if (offset > this.cursor) {
      this.log.warn({ peer: this.peerName, offset, sentOffset: this.cursor }, 'ack beyond what was sent: ignored');
      return;
    }
    if (this.graceUntilOffset !== undefined && offset >= this.graceUntilOffset) {
      this.graceUntilOffset = undefined;
      this.addp.setTimeoutMs(this.host.addp.timeoutMs);
    }
    if (offset <= this.ackedOffset) return;
    this.ackedOffset = offset;
    this.host.acked(this);
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.closeWaiters.delete(done);
        resolve();
      };
      this.stream.once('drain', done);
      this.closeWaiters.add(done);
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.sm.is('connecting') || this.closed) return;
    this.pumping = true;
    try {
      if (this.snapshot) await this.streamSnapshot();
      for (;;) {
        if (this.closed) return;
        const e = this.host.backlog.batchAfter(this.cursor);
        if (!e) break;
        this.cursor = e.lastOffset;
        if (this.resync) {
          this.resync.bytes += e.frame.bytes.length;
          if (this.resync.kind === 'partial') this.resync.deltas += e.lastOffset - e.firstOffset + 1;
        }
        if (!this.write(e.frame)) await this.drained();
      }
      // Caught up with everything published (flushed or not): from here on, acks gate releases.
      if (this.sm.is('resyncing') && this.cursor === this.host.offset) this.enterInSync();
    } catch (err) {
      if (err instanceof BacklogOverflowError) this.fail(sy.ErrorCode.RESYNC_OVERFLOW, err.message, true);
      else this.close(`send failed: ${(err as Error).message}`);
    } finally {
      this.pumping = false;
    }
  }

  private enterInSync(): void {
    this.write({ inSync: { offset: this.cursor } });
    const r = this.resync!;
    this.lastResync = { kind: r.kind, reason: r.reason, deltas: r.deltas, bytes: r.bytes, ms: Math.round(performance.now() - r.started) };
    this.resync = undefined;
    this.log.info({ peer: this.peerName, offset: this.cursor, ...this.lastResync }, `resync ${r.kind} done: backup in sync`);
    this.sm.transition('resyncing', 'in-sync', `caught up at offset ${this.cursor}`);
  }

  private async streamSnapshot(): Promise<void> {
    const deltas = this.snapshot!;
    this.snapshot = undefined;
    const chunkBytes = this.host.chunkBytes;
    let i = 0;
    let turnStart = performance.now();
    do {
      const chunk: sy.Delta.$Properties[] = [];
      let size = 0;
      while (i < deltas.length && size < chunkBytes) {
        const w = deltaToWire(deltas[i++]!);
        size += wireSize(w);
        chunk.push(w);
      }
      const bytes = encodePrimary({ snapshotChunk: { deltas: chunk, last: i >= deltas.length } });
      this.resync!.bytes += bytes.length;
      if (this.closed) return;
      if (!this.write(new EncodedFrame(bytes))) {
        await this.drained();
        turnStart = performance.now();
      } else if (performance.now() - turnStart >= SNAPSHOT_TURN_BUDGET_MS) {
        await nextTurn(); // let the primary serve
        turnStart = performance.now();
      }
    } while (i < deltas.length);
  }
}

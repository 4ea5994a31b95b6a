// Test fixtures for the HA sync library: a Map-based fake replica that applies Delta ops the way the
// core's applyDelta does, a log capture with waitFor (tests wait for log lines, never sleep), and a
// loopback primary/backup pair on 127.0.0.1 port 0 that tears itself down.
import { Writable } from 'node:stream';
import pino from 'pino';
import * as grpc from '@grpc/grpc-js';
import { sy } from '../../src/wire/sync-proto.js';
import { decodePrimaryToBackup, SYNC_STREAM_PATH, toBuffer, type Decoded } from '../../src/wire/sync-service.js';
import type { CollectionName, Delta, JournalEntry } from '../../src/core/api.js';
import type { Logger } from '../../src/lib/log.js';
import { SyncServer } from '../../src/adapters/sync/server.js';
import { SyncPrimary, type SyncPrimaryOptions } from '../../src/adapters/sync/primary.js';
import { SyncBackup, type SyncBackupOptions } from '../../src/adapters/sync/backup.js';
import { syncCallMetadata } from '../../src/lib/peer-auth.js';

export class FakeReplica {
  colls = new Map<CollectionName, Map<string, unknown>>();
  counters = { seq: 0, connIdCounter: 0, appliedSwitchSeq: 0 };
  journal: JournalEntry[] = [];

  reset(): void {
    this.colls.clear();
    this.counters = { seq: 0, connIdCounter: 0, appliedSwitchSeq: 0 };
    this.journal = [];
  }

  apply(deltas: readonly Delta[]): void {
    for (const d of deltas) {
      switch (d.op) {
        case 'put': {
          let m = this.colls.get(d.coll);
          if (!m) this.colls.set(d.coll, (m = new Map()));
          m.set(d.key, d.value);
          break;
        }
        case 'del': this.colls.get(d.coll)?.delete(d.key); break;
        case 'counters': this.counters = { seq: d.seq, connIdCounter: d.connIdCounter, appliedSwitchSeq: d.appliedSwitchSeq }; break;
        case 'journal': this.journal.push(d.entry); break;
        case 'journalTrim': this.journal = this.journal.filter((e) => e.seq > d.upToSeq); break;
      }
    }
  }

  snapshotDeltas(): Delta[] {
    const out: Delta[] = [{ op: 'counters', ...this.counters }];
    for (const [coll, m] of this.colls) for (const [key, value] of m) out.push({ op: 'put', coll, key, value });
    for (const entry of this.journal) out.push({ op: 'journal', entry });
    return out;
  }

  /** Canonical JSON of the whole state: equal strings = equal replicas. */
  dump(): string {
    const colls = [...this.colls].filter(([, m]) => m.size > 0).sort(([a], [b]) => a.localeCompare(b))
      .map(([c, m]) => [c, [...m].sort(([a], [b]) => a.localeCompare(b))]);
    return JSON.stringify({ colls, counters: this.counters, journal: this.journal });
  }
}

const COLLS: CollectionName[] = ['devices', 'calls', 'agents', 'registrations', 'routeRequests', 'queues', 'pending', 'dedup'];

/** Deterministic pseudo-random deltas (all five ops), like a busy core. */
export class DeltaSource {
  private n = 0;
  private seq = 0;
  constructor(private rnd = mulberry32(42)) {}

  next(count: number): Delta[] {
    const out: Delta[] = [];
    for (let i = 0; i < count; i++) {
      const r = this.rnd();
      const coll = COLLS[Math.floor(this.rnd() * COLLS.length)]!;
      const key = `k${Math.floor(this.rnd() * 500)}`;
      this.n++;
      if (r < 0.55) out.push({ op: 'put', coll, key, value: { connId: `c${this.n}`, parties: [{ dn: '5001', state: 'Connected' }], n: this.n } });
      else if (r < 0.7) out.push({ op: 'del', coll, key });
      else if (r < 0.8) out.push({ op: 'counters', seq: this.seq, connIdCounter: this.n, appliedSwitchSeq: this.n * 2 });
      else if (r < 0.95) out.push({ op: 'journal', entry: { seq: ++this.seq, dn: '5001', event: { event: 'EventRinging', seq: this.seq } as never } });
      else out.push({ op: 'journalTrim', upToSeq: Math.max(0, this.seq - 50) });
    }
    return out;
  }
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type LogLine = Record<string, unknown> & { msg: string; level: number };

export interface LogCapture {
  logger: Logger;
  lines: LogLine[];
  /** Resolves with the first line (past or future) matching pred; rejects after timeoutMs. */
  waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
}

export function captureLog(base: Record<string, unknown> = {}): LogCapture {
  const lines: LogLine[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const raw of String(chunk).split('\n')) {
        if (!raw) continue;
        const l = JSON.parse(raw) as LogLine;
        lines.push(l);
        if (process.env.SYNC_TEST_LOG) process.stderr.write(raw + '\n');
        for (const w of [...waiters]) if (w.pred(l)) { waiters.delete(w); w.resolve(l); }
      }
      cb();
    },
  });
  const logger = pino({ level: 'debug', base }, sink);
  return {
    logger,
    lines,
    waitFor(pred, what, timeoutMs = 5000) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (l: LogLine) => { clearTimeout(timer); resolve(l); } };
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out waiting for log: ${what}`)); }, timeoutMs);
        waiters.add(w);
      });
    },
  };
}

interface Teardown { teardown(fn: () => unknown): void }

export interface Pair {
  log: LogCapture;
  server: SyncServer;
  primary: SyncPrimary;
  primaryReplica: FakeReplica;
  backupReplica: FakeReplica;
  /** Apply to the primary's replica and publish; returns the offset. */
  change(deltas: Delta[]): number;
  /** A backup (not started) following the pair's primary; stopped at teardown. */
  makeBackup(extra?: Partial<SyncBackupOptions>): SyncBackup;
}

export async function loopbackPair(t: Teardown, primaryOpts: Partial<SyncPrimaryOptions> = {}, serverSecret?: string): Promise<Pair> {
  const log = captureLog();
  const server = await SyncServer.listen({ host: '127.0.0.1', port: 0, log: log.logger.child({ server: 'A' }), ...(serverSecret ? { secret: serverSecret } : {}) });
  const primaryReplica = new FakeReplica();
  const backupReplica = new FakeReplica();
  const primary = new SyncPrimary({
    serverName: 'A',
    epoch: () => 1,
    snapshotDeltas: () => primaryReplica.snapshotDeltas(),
    log: log.logger.child({ server: 'A' }),
    ...(serverSecret ? { secret: serverSecret } : {}),
    ...primaryOpts,
  });
  server.serve(primary);
  const backups: SyncBackup[] = [];
  t.teardown(async () => {
    for (const b of backups) b.stop('test over');
    primary.close('test over');
    await server.close();
  });
  return {
    log, server, primary, primaryReplica, backupReplica,
    change(deltas) {
      primaryReplica.apply(deltas);
      return primary.publish(deltas);
    },
    makeBackup(extra = {}) {
      const b = new SyncBackup({
        serverName: 'B',
        primaryAddress: `127.0.0.1:${server.port}`,
        log: log.logger.child({ server: 'B' }),
        reset: () => backupReplica.reset(),
        apply: (d) => backupReplica.apply(d),
        ...(serverSecret ? { secret: serverSecret } : {}),
        ...extra,
      });
      backups.push(b);
      return b;
    },
  };
}

/** Resolves when `emitter` emits `event` with an argument matching pred. */
export function once<T>(emitter: { on(e: string, l: (v: T) => void): unknown; off(e: string, l: (v: T) => void): unknown }, event: string, pred: (v: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, l); reject(new Error(`timed out waiting for ${event}`)); }, timeoutMs);
    const l = (v: T) => { if (pred(v)) { clearTimeout(timer); emitter.off(event, l); resolve(v); } };
    emitter.on(event, l);
  });
}

/** Resolves once the backup's state is `state` (now or later). */
export function backupState(b: SyncBackup, state: SyncBackup['state'], timeoutMs = 5000): Promise<void> {
  if (b.state === state) return Promise.resolve();
  return once<{ to: string }>(b as never, 'state', (c) => c.to === state, timeoutMs).then(() => undefined);
}

/** Resolves once the backup applied `offset` (it acks per turn; the primary sees that later). */
export async function backupAt(b: SyncBackup, offset: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (b.position.offset < offset) {
    if (Date.now() > until) throw new Error(`backup stuck at ${b.position.offset}, wanted ${offset}`);
    await new Promise((r) => setImmediate(r));
  }
}

// ---------------------------------------------------------------- a hand-driven backup

/** A raw sync client: the test decides every byte it sends (acks, heartbeats, garbage). */
export interface RawBackup {
  received: Decoded<sy.PrimaryToBackup>[];
  send(m: sy.BackupToPrimary.$Properties): void;
  sendBytes(b: Buffer): void;
  /** Resolves with the first message (past or future) matching pred. */
  waitFor(pred: (m: sy.PrimaryToBackup) => boolean, what: string, timeoutMs?: number): Promise<sy.PrimaryToBackup>;
  /** Heartbeats every ms until stopped. */
  heartbeat(everyMs: number): () => void;
  ended: Promise<void>;
  /** The call's final gRPC status (e.g. UNAUTHENTICATED when the secret is missing). */
  status: Promise<grpc.StatusObject>;
  close(): void;
}

/** `secret`: sent in the call's metadata, as a real backup does (peer-auth.ts); none by default. */
export function rawBackup(t: Teardown, port: number, opts: { secret?: string } = {}): RawBackup {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const stream = client.makeBidiStreamRequest(SYNC_STREAM_PATH, (b: Buffer) => b, decodePrimaryToBackup, syncCallMetadata(opts.secret));
  const received: Decoded<sy.PrimaryToBackup>[] = [];
  const waiters = new Set<() => void>();
  let hb: NodeJS.Timeout | undefined;
  stream.on('data', (d: Decoded<sy.PrimaryToBackup>) => { received.push(d); for (const w of [...waiters]) w(); });
  const ended = new Promise<void>((resolve) => { stream.on('error', () => resolve()); stream.on('end', () => resolve()); });
  const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  const close = () => { clearInterval(hb); try { stream.cancel(); } catch { /* gone */ } client.close(); };
  t.teardown(close);
  const raw: RawBackup = {
    received,
    ended,
    status,
    close,
    send: (m) => stream.write(toBuffer(sy.BackupToPrimary.encode(m).finish())),
    sendBytes: (b) => stream.write(b),
    heartbeat(everyMs) {
      hb = setInterval(() => raw.send({ heartbeat: { sentMs: Date.now() } }), everyMs);
      return () => clearInterval(hb);
    },
    waitFor(pred, what, timeoutMs = 5000) {
      const find = () => received.find((d) => d.ok && pred(d.msg)) as { msg: sy.PrimaryToBackup } | undefined;
      const seen = find();
      if (seen) return Promise.resolve(seen.msg);
      return new Promise((resolve, reject) => {
        const w = () => { const f = find(); if (f) { clearTimeout(timer); waiters.delete(w); resolve(f.msg); } };
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
        waiters.add(w);
      });
    },
  };
  return raw;
}

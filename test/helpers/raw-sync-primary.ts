// A hand-driven primary for the sync backup's tests: a real gRPC server on 127.0.0.1 port 0 serving
// the sync service, where the test decides every frame the backup receives (Welcome, chunks,
// batches, InSync, HandoverReady, Error, garbage) and reads what the backup sent. Torn down with
// the test. The mirror of sync-fixtures.ts rawBackup.
import * as grpc from '@grpc/grpc-js';
import { sy } from '../../src/wire/sync-proto.js';
import { EncodedFrame, syncServiceDefinition, type Decoded, type PrimaryStream } from '../../src/wire/sync-service.js';
import type { Delta } from '../../src/core/api.js';
import { deltaToWire, encodeDeltaBatch } from '../../src/adapters/sync/delta-codec.js';
import { within } from './own-clock.js';

interface Teardown { teardown(fn: () => unknown): void }

/** One sync stream a backup opened. */
export class RawStream {
  /** What the backup sent, decoded (undecodable frames as they came). */
  readonly received: Decoded<sy.BackupToPrimary>[] = [];
  /** How the stream ended on our side: 'cancelled' (the backup dropped it), 'end', 'error'; undefined while open. */
  endedBy: string | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly endedP: Promise<string>;

  constructor(private readonly call: PrimaryStream) {
    call.on('data', (d: Decoded<sy.BackupToPrimary>) => { this.received.push(d); this.wake(); });
    this.endedP = new Promise((resolve) => {
      const done = (how: string) => { if (!this.endedBy) { this.endedBy = how; this.wake(); resolve(how); } };
      call.on('cancelled', () => done('cancelled'));
      call.on('end', () => done('end'));
      call.on('error', () => done('error'));
      call.on('close', () => done('close'));
    });
  }

  /** Every message the backup sent of this kind, in order. */
  all(kind: NonNullable<sy.BackupToPrimary['msg']>): sy.BackupToPrimary[] {
    return this.received.flatMap((d) => (d.ok && d.msg.msg === kind ? [d.msg] : []));
  }

  /** The backup's Hello on this stream (it sends it first). */
  hello(): Promise<sy.Hello> {
    return this.waitFor((m) => m.msg === 'hello', 'Hello').then((m) => m.hello as sy.Hello);
  }

  /** The first message (past or future) matching pred. */
  waitFor(pred: (m: sy.BackupToPrimary) => boolean, what: string, timeoutMs = 5_000): Promise<sy.BackupToPrimary> {
    const find = () => this.received.find((d) => d.ok && pred(d.msg)) as { msg: sy.BackupToPrimary } | undefined;
    return within(new Promise((resolve) => {
      const check = () => { const f = find(); if (f) { this.waiters.delete(check); resolve(f.msg); } };
      this.waiters.add(check);
      check();
    }), what, timeoutMs);
  }

  /** Resolves when the stream is over on our side ('cancelled' when the backup dropped it). */
  ended(timeoutMs = 5_000): Promise<string> { return within(this.endedP, 'the stream to end', timeoutMs); }

  send(m: sy.PrimaryToBackup.$Properties): void { this.call.write(m); }
  /** Bytes as they are (garbage, or a frame encoded elsewhere). */
  sendBytes(b: Buffer): void { this.call.write(new EncodedFrame(b)); }

  welcome(w: sy.Welcome.$Properties): void { this.send({ welcome: { serverName: 'P', epoch: 1, ...w } }); }
  chunk(deltas: Delta[], last: boolean): void { this.send({ snapshotChunk: { deltas: deltas.map(deltaToWire), last } }); }
  batch(firstOffset: number, deltas: Delta[]): number {
    const lastOffset = firstOffset + deltas.length - 1;
    this.sendBytes(encodeDeltaBatch(firstOffset, lastOffset, deltas));
    return lastOffset;
  }
  inSync(offset: number): void { this.send({ inSync: { offset } }); }
  heartbeat(): void { this.send({ heartbeat: { sentMs: 1 } }); }
  end(): void { this.call.end(); }

  private wake(): void { for (const w of [...this.waiters]) w(); }
}

export class RawPrimary {
  readonly streams: RawStream[] = [];
  private readonly arrivals = new Set<() => void>();

  private constructor(readonly port: number) {}

  static async listen(t: Teardown): Promise<RawPrimary> {
    const server = new grpc.Server();
    let self: RawPrimary | undefined;
    server.addService(syncServiceDefinition, {
      stream: (call: PrimaryStream) => {
        call.on('error', () => { /* the backup cancelled: recorded by RawStream */ });
        self!.streams.push(new RawStream(call));
        for (const w of [...self!.arrivals]) w();
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    self = new RawPrimary(port);
    t.teardown(() => server.forceShutdown());
    return self;
  }

  get address(): string { return `127.0.0.1:${this.port}`; }

  /** The stream number `n` (1-based) the backup opened, now or when it arrives. */
  stream(n: number, timeoutMs = 5_000): Promise<RawStream> {
    return within(new Promise((resolve) => {
      const check = () => { const s = this.streams[n - 1]; if (s) { this.arrivals.delete(check); resolve(s); } };
      this.arrivals.add(check);
      check();
    }), `stream ${n}`, timeoutMs);
  }
}

// The memory the T-Server's main thread and its liveness worker share (docs/liveness.md): a handful
// of 64-bit slots read and written with Atomics, so the main thread's lease check stays a few loads
// and never waits for the worker (or the worker for it). Times are Date.now() ms: both threads read
// the same wall clock.
import type { TlsMaterial } from '../../lib/tls.js';

/** Slot indexes. "main" / "worker" says which thread writes the slot (one writer each). */
export const SLOT = {
  /** worker: until when the main link may act as holder (ms), from the newest acked renewal; 0 = none. */
  deadline: 0,
  /** worker: the epoch `deadline` belongs to (written before it). */
  deadlineEpoch: 1,
  /** main: the epoch the main link holds (0 = not holding: the worker renews nothing). */
  renewEpoch: 2,
  /** main: bumped every event-loop turn the main thread gets (a timer): the watchdog's input. */
  progress: 3,
  /** worker: the epoch whose lease the watchdog gave up (no progress for hangDetectionMs); 0 = never. */
  tripped: 4,
  /** worker: renewals the switch acknowledged as holder (the main thread polls it for `renewed`). */
  renewals: 5,
  /** worker: the longest time without progress it has seen (ms), for metrics. */
  maxStallMs: 6,
  /** worker: 1 while its renewer link is welcomed. */
  linkUp: 7,
  /** worker: how many times the watchdog tripped. */
  hangs: 8,
} as const;

export const SLOT_COUNT = 9;

export class SharedSlots {
  private readonly a: BigInt64Array;
  constructor(readonly buffer: SharedArrayBuffer) { this.a = new BigInt64Array(buffer); }
  static create(): SharedSlots { return new SharedSlots(new SharedArrayBuffer(SLOT_COUNT * 8)); }
  get(i: number): number { return Number(Atomics.load(this.a, i)); }
  set(i: number, v: number): void { Atomics.store(this.a, i, BigInt(Math.trunc(v))); }
  add(i: number): void { Atomics.add(this.a, i, 1n); }
}

/** The margin a holder keeps below the lease (same rule on both threads): max(20 ms, leaseMs / 10). */
export function leaseMargin(leaseMs: number): number {
  return Math.max(20, Math.round(leaseMs / 10));
}

/** Where the worker writes its log lines itself (a hung main thread cannot write them for it). */
export type LogTarget = { fd: number } | { file: string };

export interface LivenessWorkerData {
  shared: SharedArrayBuffer;
  /** host:port of the switch (the main link's). */
  address: string;
  serverName: string;
  secret?: string;
  tls?: TlsMaterial;
  hangDetectionMs: number;
  log: { level: string; target?: LogTarget };
}

/** main -> worker */
export type ToWorker =
  | { type: 'attach'; token: string; leaseMs: number; heartbeatMs: number }
  | { type: 'detach' }
  | { type: 'stop' };

/** worker -> main: log lines relayed when the worker has no log target of its own (tests). */
export type FromWorker =
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string };

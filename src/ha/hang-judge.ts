// When "the main thread made no progress" is a hang (docs/liveness.md). Pure: times and the main
// thread's CPU time come in, a verdict goes out.
//
// Wall-clock silence alone cannot tell a hung main thread from a starved one: on a machine whose
// cores are all taken (load 7 on 2 cores) a 100 ms turn can take 450 ms of wall time, and releasing
// the lease then fails over a server that was only waiting for the CPU — the failover that the next
// busy moment repeats. So past the hang-detection time the judge asks how much CPU the main thread
// got meanwhile (Linux: /proc/self/task/<pid>/stat, read by the worker):
// - most of it (≥ busyShare): it was running and made no progress — an endless loop, a runaway
//   turn: a hang, detected in hangDetectionMs as before;
// - little of it: it was starved (runnable but not scheduled) or blocked (a deadlock, a stuck
//   synchronous call): wait, up to starvedLimitMs (3 x) of wall time, then it is a hang all the same.
// Without CPU figures (another OS) the judge is the plain wall-clock one.
import { SilenceMeter } from '../lib/silence-meter.js';

export interface HangJudgeOptions {
  hangDetectionMs: number;
  /** The most one late check may add (the worker itself stalled too: SIGSTOP of the process). */
  maxStepMs: number;
  /** Share of the stalled wall time the main thread must have been on a CPU to be judged hung. */
  busyShare: number;
  /** A starved or blocked main thread is judged hung after this much wall time without progress. */
  starvedLimitMs: number;
}

export type HangVerdict =
  | { kind: 'progress' }
  | { kind: 'waiting'; stallMs: number }
  | { kind: 'starved'; stallMs: number; cpuMs: number }
  | { kind: 'hung'; stallMs: number; cpuMs: number | undefined };

export const DEFAULT_BUSY_SHARE = 0.5;
/**
 * 3 x: a blocked primary must release its lease before its backup gives up the silent stream (the
 * backup keeps a suspect stream 4 ADDP timeouts after the first 400 ms of silence: src/adapters/sync/backup.ts),
 * else the backup is no longer in sync when the lease comes free and nobody may take over.
 */
export const STARVED_LIMIT_FACTOR = 3;

export class HangJudge {
  private readonly meter: SilenceMeter;
  private progress: number;
  private progressAt: number;
  private cpuAtProgress: number | undefined;

  constructor(private readonly o: HangJudgeOptions, now: number, progress: number, mainCpuMs: number | undefined) {
    this.meter = new SilenceMeter(o.hangDetectionMs, o.maxStepMs, now);
    this.progress = progress;
    this.progressAt = now;
    this.cpuAtProgress = mainCpuMs;
  }

  /** One check: the progress counter and the main thread's CPU time (ms) now, if known. */
  observe(now: number, progress: number, mainCpuMs: number | undefined): HangVerdict {
    if (progress !== this.progress) {
      this.progress = progress;
      this.progressAt = now;
      this.cpuAtProgress = mainCpuMs;
      this.meter.heard(now);
      return { kind: 'progress' };
    }
    const overdue = this.meter.tick(now);
    const stallMs = Math.round(now - this.progressAt);
    if (!overdue) return { kind: 'waiting', stallMs };
    if (mainCpuMs === undefined || this.cpuAtProgress === undefined) return { kind: 'hung', stallMs, cpuMs: undefined };
    const cpuMs = Math.max(0, mainCpuMs - this.cpuAtProgress);
    if (cpuMs >= this.o.busyShare * stallMs || stallMs >= this.o.starvedLimitMs) return { kind: 'hung', stallMs, cpuMs };
    return { kind: 'starved', stallMs, cpuMs };
  }

  /** Wall time since the last progress (ms). */
  stallMs(now: number): number { return Math.round(now - this.progressAt); }
}

/**
 * The CPU time (user + system, ms) of one thread from its /proc stat line, or undefined when the
 * line cannot be read as one. Fields after the command name: state, then 10 more, then utime, stime.
 */
export function threadCpuMs(statLine: string, ticksPerSecond = 100): number | undefined {
  const end = statLine.lastIndexOf(')');
  if (end < 0) return undefined;
  const f = statLine.slice(end + 2).split(' ');
  const utime = Number(f[11]), stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / ticksPerSecond;
}

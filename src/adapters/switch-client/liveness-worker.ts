// The liveness worker (docs/liveness.md): a thread of the T-Server that renews the switch lease for
// the main link, so a busy or garbage-collecting main event loop cannot starve the renewals; and a
// watchdog that stops renewing, and releases the lease, once the main thread made no progress for
// hangDetectionMs (a real hang must still fail over fast).
//
// Its own gRPC stream to the switch is a renewer link (Hello.renews = the main link's renew token):
// Heartbeat{epoch} there renews the main link's lease iff the main link holds it under that epoch.
// Everything it shares with the main thread is in liveness-shared.ts; it never waits for it.
import { performance } from 'node:perf_hooks';
import { writeSync, appendFileSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { DEFAULT_BUSY_SHARE, HangJudge, STARVED_LIMIT_FACTOR, threadCpuMs } from '../../ha/hang-judge.js';
import { Backoff } from '../../lib/backoff.js';
import { SLOT, SharedSlots, leaseMargin, type FromWorker, type LivenessWorkerData, type LogTarget, type ToWorker } from './liveness-shared.js';
import { openLink, type LinkClient } from './link-client.js';

const data = workerData as LivenessWorkerData;
const port = parentPort!;
const slots = new SharedSlots(data.shared);
// Buffers arrive as Uint8Arrays through postMessage's structured clone; grpc wants Buffers.
const tls = data.tls ? {
  ...data.tls, cert: Buffer.from(data.tls.cert), key: Buffer.from(data.tls.key), ...(data.tls.ca ? { ca: Buffer.from(data.tls.ca) } : {}),
} : undefined;

// ---------------------------------------------------------------- logging
// Written synchronously from this thread: when the main thread hangs, these are the lines that say so.
function destination(target: LogTarget | undefined): { write(s: string): void } {
  if (!target) {
    return { write: (s) => {
      try {
        const o = JSON.parse(s) as Record<string, unknown>;
        const { level, msg, ...rest } = o;
        const lv = level === 50 ? 'error' : level === 40 ? 'warn' : 'info';
        for (const k of ['time', 'pid', 'server', 'role', 'epoch']) delete rest[k];
        port.postMessage({ type: 'log', level: lv, obj: rest, msg: String(msg ?? '') } satisfies FromWorker);
      } catch { /* not a log line */ }
    } };
  }
  // Opened per line: rare lines, and a rotated log file is followed without a reopen signal.
  if ('file' in target) return { write: (s) => { try { appendFileSync(target.file, s); } catch { /* nowhere to say it */ } } };
  return { write: (s) => { try { writeSync(target.fd, s); } catch { /* nowhere to say it */ } } };
}

const log = pino({
  level: data.log.level,
  base: { server: data.serverName, pid: process.pid, component: 'liveness' },
  timestamp: pino.stdTimeFunctions.isoTime,
  mixin: () => { const e = slots.get(SLOT.renewEpoch); return { role: e > 0 ? 'primary' : 'backup', epoch: e, thread: 'liveness-worker' }; },
}, destination(data.log.target));

// ---------------------------------------------------------------- renewer link

let token = '';
let leaseMs = 0;
let heartbeatMs = 0;
let link: LinkClient | undefined;
/** Set iff `link` got its Welcome. */
let welcomed = false;
let reconnectTimer: NodeJS.Timeout | undefined;
/** Renewer reconnects: 50 ms doubling to 1 s; starts over on Welcome and on a new token. */
const reconnects = new Backoff({ initialMs: 50, maxMs: 1_000 });
let renewTimer: NodeJS.Timeout | undefined;
let stopping = false;

function openRenewer(): void {
  reconnectTimer = undefined;
  if (stopping || !token) return;
  const forToken = token;
  const l = openLink({ address: data.address, serverName: data.serverName, hello: false, ...(tls ? { tls } : {}), timeoutMs: Math.max(1_000, 4 * (leaseMs || 400)) });
  link = l;
  l.send({ hello: { serverName: data.serverName, secret: data.secret ?? '', renews: forToken } });
  l.welcome.then(() => {
    if (link !== l) return;
    welcomed = true;
    reconnects.reset();
    slots.set(SLOT.linkUp, 1);
    log.info({ leaseMs, renewEveryMs: renewEvery() }, 'renewer link up: the worker renews the lease for the main link');
  }, () => { /* reported by close */ });
  l.on('message', (m) => {
    if (m.msg === 'error') log.warn({ code: m.error?.code, message: m.error?.message }, 'renewer link: error from the switch');
  });
  l.on('close', (err) => {
    if (link !== l) return;
    const wasUp = welcomed;
    link = undefined;
    welcomed = false;
    slots.set(SLOT.linkUp, 0);
    if (wasUp) log.warn({ why: err?.message ?? 'closed' }, 'renewer link down: main-thread renewals only until it is back');
    if (!stopping && token === forToken) {
      reconnectTimer = setTimeout(openRenewer, reconnects.next());
    }
  });
}

function closeRenewer(): void {
  clearTimeout(reconnectTimer);
  reconnectTimer = undefined;
  const l = link;
  link = undefined;
  welcomed = false;
  slots.set(SLOT.linkUp, 0);
  l?.close();
}

/** Twice per switch heartbeat period: a stall of the whole process up to ~lease − 2 periods is survived. */
function renewEvery(): number { return Math.max(10, Math.floor((heartbeatMs || 100) / 2)); }

function renew(): void {
  const epoch = slots.get(SLOT.renewEpoch);
  if (!link || !welcomed || epoch === 0 || slots.get(SLOT.tripped) === epoch) return;
  const sentAt = Date.now();
  link.heartbeat(epoch).then((ack) => {
    // Same rule as the main link: the switch renewed at or after sentAt, so its expiry is later than ours.
    if (!ack.holder || slots.get(SLOT.renewEpoch) !== epoch || slots.get(SLOT.tripped) === epoch) return;
    const until = sentAt + leaseMs - leaseMargin(leaseMs);
    if (slots.get(SLOT.deadlineEpoch) === epoch && slots.get(SLOT.deadline) >= until) return;
    slots.set(SLOT.deadlineEpoch, epoch);
    slots.set(SLOT.deadline, until);
    slots.add(SLOT.renewals);
  }, () => { /* link closed or timed out: the close handler reconnects */ });
}

// ---------------------------------------------------------------- watchdog

const checkMs = Math.max(5, Math.min(20, Math.floor(data.hangDetectionMs / 16)));
const mainCpu = mainThreadCpuReader();
// A late check (this thread was stopped too: SIGSTOP of the whole process, a machine stall) counts
// at most two periods and never trips by itself: the main thread gets to run first.
const judge = new HangJudge({
  hangDetectionMs: data.hangDetectionMs, maxStepMs: 2 * checkMs, busyShare: DEFAULT_BUSY_SHARE, starvedLimitMs: STARVED_LIMIT_FACTOR * data.hangDetectionMs,
}, performance.now(), slots.get(SLOT.progress), mainCpu());
/** Set while the main thread is judged starved (one line per episode, not per check). */
let starvedSince = 0;

function check(): void {
  const now = performance.now();
  const v = judge.observe(now, slots.get(SLOT.progress), mainCpu());
  if (v.kind === 'progress') {
    if (starvedSince) log.warn({ stalledMs: Math.round(now - starvedSince) }, 'main thread progressing again after a starved stall: no hang, lease kept');
    starvedSince = 0;
    return;
  }
  if (v.stallMs > slots.get(SLOT.maxStallMs)) slots.set(SLOT.maxStallMs, v.stallMs);
  if (v.kind === 'waiting') return;
  if (v.kind === 'starved') {
    if (!starvedSince) {
      starvedSince = now - v.stallMs;
      log.warn({ stalledMs: v.stallMs, mainThreadCpuMs: v.cpuMs, hangDetectionMs: data.hangDetectionMs, starvedLimitMs: STARVED_LIMIT_FACTOR * data.hangDetectionMs },
        'main thread without progress but it had little CPU (machine busy, or blocked): not a hang yet, renewals go on');
    }
    return;
  }
  const epoch = slots.get(SLOT.renewEpoch);
  if (epoch === 0 || slots.get(SLOT.tripped) === epoch) return;
  trip(epoch, v.stallMs, v.cpuMs);
}

/** The main thread's CPU time in ms (Linux /proc), or a reader that answers undefined elsewhere. */
function mainThreadCpuReader(): () => number | undefined {
  let fd: number;
  try { fd = openSync(`/proc/self/task/${process.pid}/stat`, 'r'); } catch { return () => undefined; }
  const buf = Buffer.alloc(1024);
  return () => {
    try { return threadCpuMs(buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0))); } catch { return undefined; }
  };
}

/**
 * Gives the lease up at once rather than letting it lapse: the backup (whose ADDP saw the same
 * silence) can be granted it a lease period sooner, and a main thread that resumes later finds
 * `tripped` set and answers NotPrimary before anything else (then Deposed{Released} demotes it).
 */
function trip(epoch: number, stallMs: number, cpuMs: number | undefined): void {
  slots.set(SLOT.tripped, epoch);
  slots.set(SLOT.deadline, 0);
  slots.add(SLOT.hangs);
  log.error({ sinceProgressMs: stallMs, mainThreadCpuMs: cpuMs, hangDetectionMs: data.hangDetectionMs }, `hang detected: the main thread made no progress for ${stallMs} ms; renewals stopped`);
  if (link && welcomed) {
    link.send({ releaseLease: { epoch } });
    log.warn({ releasedEpoch: epoch }, 'lease released by the watchdog (ReleaseLease on the main link\'s behalf): the backup may take over now');
  } else {
    log.warn({ releasedEpoch: epoch }, 'watchdog: renewer link down, lease not released: it lapses at the switch within leaseMs');
  }
}

// ---------------------------------------------------------------- control

const checkTimer = setInterval(check, checkMs);

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'attach': {
      leaseMs = m.leaseMs;
      heartbeatMs = m.heartbeatMs;
      clearInterval(renewTimer);
      renewTimer = setInterval(renew, renewEvery());
      if (m.token === token && link) return;
      closeRenewer();
      token = m.token;
      reconnects.reset();
      openRenewer();
      return;
    }
    case 'detach':
      token = '';
      closeRenewer();
      return;
    case 'stop':
      stopping = true;
      clearInterval(checkTimer);
      clearInterval(renewTimer);
      closeRenewer();
      port.close();
      return;
    default: {
      const never: never = m;
      throw new Error(`liveness worker: unknown message ${JSON.stringify(never)}`);
    }
  }
});

log.info({ hangDetectionMs: data.hangDetectionMs, checkMs, switch: data.address }, 'liveness worker started');

// What the chaos drill observes of the pair: every 'role changed' log line of both T-Servers (read
// from their stdout as they are written, so no change is missed between two polls), and the wait
// for recovery (both /healthz polled until the pair is back to a serving primary and an in-sync
// backup, judged by pairRecovered in chaos-classify.mjs).
import { createInterface } from 'node:readline';
import { pairRecovered } from './chaos-classify.mjs';
import { sleep } from './stats.mjs';

const now = () => performance.timeOrigin + performance.now();

export class RoleWatch {
  constructor() {
    /** 'role changed' lines not yet taken: {t, server, from, to, oldEpoch, epoch, reason}. */
    this.changes = [];
  }

  /** Follows a server process from its spawn (call it before the first await after spawning). */
  attach(server) {
    for (const input of [server.proc.child.stdout, server.proc.child.stderr]) {
      createInterface({ input }).on('line', (raw) => {
        if (!raw.includes('role changed')) return;
        let l;
        try { l = JSON.parse(raw); } catch { return; }
        if (l?.msg !== 'role changed') return;
        this.changes.push({ t: now(), server: server.name, from: l.from, to: l.to, oldEpoch: l.oldEpoch, epoch: l.epoch, reason: l.reason });
      });
    }
  }

  /** The changes since the last take(), in arrival order. */
  take() {
    const c = this.changes;
    this.changes = [];
    return c;
  }
}

/** Both servers' /healthz (undefined for one that does not answer within 1 s). */
export async function healthOf(sys) {
  const out = {};
  await Promise.all(Object.values(sys.servers).map(async (s) => {
    out[s.name] = await fetch(`${s.http}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.json(), () => undefined);
  }));
  return out;
}

/**
 * Polls both servers until the pair is recovered or `boundMs` passed (then keeps polling up to
 * `graceMs` more, so a late recovery is still measured and the next cycle starts from a sound pair).
 * @returns {Promise<{ok: boolean, ms: number, late: boolean, why: string, health: object}>}
 */
export async function waitRecovered(sys, since, boundMs, graceMs = 25_000) {
  let last;
  for (;;) {
    const health = await healthOf(sys);
    last = { ...pairRecovered(health), health };
    const ms = now() - since;
    if (last.ok) return { ok: ms <= boundMs, late: ms > boundMs, ms, why: last.why, health };
    if (ms > boundMs + graceMs) return { ok: false, late: false, ms: NaN, why: last.why, health };
    await sleep(20);
  }
}

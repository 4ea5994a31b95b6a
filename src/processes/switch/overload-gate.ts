// The switch's overload gate: sheds NEW inbound calls at the entry, before they cost anything, at the
// share the serving primary asks for (OverloadControl, proto/switch.proto). The telephony way: Cisco
// UCCE congestion control rejects a share of new calls, SIP load-based overload control (RFC 7339
// `oc` / `oc-validity`) tells the upstream which share to send, ITU call gapping. Calls in progress
// and commands are never touched here: refusing an agent's answer or release wastes the work already
// done on that call, refusing a new call costs nothing.
//
// Pure: time comes in as `now` (ms, monotonic); the adapter (server.ts) fences the sender with the
// lease and logs the transitions it reports. Deterministic: a credit counter, not a random draw, so
// a test knows exactly which calls pass (at 250‰: the 4th, 8th, 12th… after gapping began).

import type { Fence } from './lease.js';

/** The longest validity a primary may ask for: a setting always lapses within a minute unless renewed. */
export const MAX_VALID_MS = 60_000;

/**
 * `open`: every new inbound call is admitted. `gapping`: `admitPermille` of every 1,000 are, the
 * others answered Congestion. Invariant: in `gapping`, 0 <= admitPermille < 1000 and
 * 0 <= credit < 1000; `epoch`/`holder` are the lease holder's that set it.
 */
export type GateState =
  | { kind: 'open' }
  | { kind: 'gapping'; epoch: number; holder: string; admitPermille: number; expiresAt: number; credit: number; episode: Episode };

/** One gapping episode (from Set to Cleared / Expired / LeaseChanged): when it began, the counters then. */
interface Episode { since: number; gapped: number; admitted: number }

export type GateReason = 'Set' | 'Level' | 'Cleared' | 'Expired' | 'LeaseChanged';

export interface GateTransition {
  from: GateState['kind'];
  to: GateState['kind'];
  reason: GateReason;
  /** The admit share before and after (1000 when open). */
  oldPermille: number;
  newPermille: number;
  epoch: number;
  holder: string;
  /** Leaving gapping: what the episode shed and let through, and how long it lasted (ms). */
  episode?: { gapped: number; admitted: number; ms: number };
}

/** One log line per transition (never one per call): what an operator reads. */
export function describeGateTransition(t: GateTransition): { level: 'warn' | 'info'; msg: string } {
  const who = `overload control from ${t.holder}, epoch ${t.epoch}`;
  if (t.from === 'open') return { level: 'warn', msg: `gapping on: admitting ${t.newPermille} of every 1,000 new inbound calls, the rest answered Congestion (${who})` };
  if (t.to === 'gapping') return { level: 'info', msg: `gapping level ${t.oldPermille} -> ${t.newPermille} per 1,000 new inbound calls (${who})` };
  const e = t.episode;
  const why = t.reason === 'Cleared' ? 'the primary cleared it' : t.reason === 'Expired' ? 'not renewed in time' : 'the lease changed';
  return { level: 'info', msg: `gapping off (${why}): every new inbound call admitted again${e ? `; this episode gapped ${e.gapped} and admitted ${e.admitted} calls in ${Math.round(e.ms)} ms` : ''}` };
}

export interface OverloadControlMsg { epoch: number; admitPermille: number; validMs: number }

export type ControlOutcome =
  | { ok: true; admitPermille: number }
  | { ok: false; code: 'NotLeaseHolder' | 'StaleEpoch' | 'BadOverloadControl'; message: string };

export type GateAnswer = { admit: true } | { admit: false; code: 'Congestion'; message: string };

export class OverloadGate {
  private s: GateState = { kind: 'open' };
  /** New inbound calls answered Congestion since start. */
  gapped = 0;
  /** New inbound calls admitted while gapping since start. */
  admittedWhileGapping = 0;

  constructor(private readonly onTransition: (t: GateTransition) => void = () => {}) {}

  get state(): Readonly<GateState> { return this.s; }
  /** The share of new inbound calls admitted now (1000 = all). */
  get admitPermille(): number { return this.s.kind === 'gapping' ? this.s.admitPermille : 1000; }

  /**
   * An OverloadControl from a link. `fence` is the lease's verdict on (link, epoch), checked first:
   * only the current holder under the current epoch may gap. Bad values change nothing.
   */
  control(m: OverloadControlMsg, fence: Fence, holder: string, now: number): ControlOutcome {
    if (!fence.ok) return { ok: false, code: fence.code, message: `OverloadControl refused: ${fence.message}` };
    if (!Number.isInteger(m.admitPermille) || m.admitPermille < 0 || m.admitPermille > 1000) {
      return { ok: false, code: 'BadOverloadControl', message: `admitPermille ${m.admitPermille} is out of range: send 0..1000 (1000 = admit all)` };
    }
    if (!Number.isInteger(m.validMs) || m.validMs < 1 || m.validMs > MAX_VALID_MS) {
      return { ok: false, code: 'BadOverloadControl', message: `validMs ${m.validMs} is out of range: send 1..${MAX_VALID_MS} ms and renew before it lapses` };
    }
    const s = this.s;
    if (m.admitPermille === 1000) {
      if (s.kind === 'gapping') this.transition(['gapping'], { kind: 'open' }, 'Cleared', now);
      return { ok: true, admitPermille: 1000 };
    }
    const expiresAt = now + m.validMs;
    if (s.kind === 'open') {
      this.transition(['open'], { kind: 'gapping', epoch: m.epoch, holder, admitPermille: m.admitPermille, expiresAt, credit: 0, episode: { since: now, gapped: this.gapped, admitted: this.admittedWhileGapping } }, 'Set');
    } else if (s.admitPermille !== m.admitPermille || s.epoch !== m.epoch) {
      // Same episode, new level: the credit carries over (no burst, no extra refusals at the change).
      this.transition(['gapping'], { ...s, epoch: m.epoch, holder, admitPermille: m.admitPermille, expiresAt }, 'Level');
    } else {
      s.expiresAt = expiresAt; // a renewal is not a transition: same level, same holder
    }
    return { ok: true, admitPermille: m.admitPermille };
  }

  /** A new inbound call: admitted, or answered Congestion. Lapses an expired setting first. */
  admit(now: number): GateAnswer {
    this.tick(now);
    const s = this.s;
    if (s.kind === 'open') return { admit: true };
    s.credit += s.admitPermille;
    if (s.credit >= 1000) {
      s.credit -= 1000;
      this.admittedWhileGapping += 1;
      return { admit: true };
    }
    this.gapped += 1;
    return {
      admit: false, code: 'Congestion',
      message: `the contact center is congested: the switch admits ${s.admitPermille} of every 1,000 new inbound calls (overload control from ${s.holder}, epoch ${s.epoch}); this call was not accepted and nothing was created: try again later (SIP 503 Service Unavailable)`,
    };
  }

  /** Lapses a setting that was not renewed in time (a silent or dead primary never leaves gapping on). */
  tick(now: number): void {
    if (this.s.kind === 'gapping' && now >= this.s.expiresAt) this.transition(['gapping'], { kind: 'open' }, 'Expired', now);
  }

  /** Any lease transition (new holder, new epoch, lapsed, released, link gone): admit-all until told otherwise. */
  leaseChanged(now: number): void {
    if (this.s.kind === 'gapping') this.transition(['gapping'], { kind: 'open' }, 'LeaseChanged', now);
  }

  /** The one place the state changes (a renewal aside); refuses a caller that expected another state. */
  private transition(allowedFrom: GateState['kind'][], to: GateState, reason: GateReason, now = 0): void {
    const from = this.s;
    if (!allowedFrom.includes(from.kind)) throw new Error(`overload gate: ${from.kind} -> ${to.kind} (${reason}) is not allowed`);
    this.s = to;
    const ref = to.kind === 'gapping' ? to : from.kind === 'gapping' ? from : undefined;
    this.onTransition({
      from: from.kind, to: to.kind, reason,
      oldPermille: from.kind === 'gapping' ? from.admitPermille : 1000, newPermille: to.kind === 'gapping' ? to.admitPermille : 1000,
      epoch: ref?.epoch ?? 0, holder: ref?.holder ?? '',
      ...(from.kind === 'gapping' && to.kind === 'open'
        ? { episode: { gapped: this.gapped - from.episode.gapped, admitted: this.admittedWhileGapping - from.episode.admitted, ms: Math.max(0, now - from.episode.since) } }
        : {}),
    });
  }
}

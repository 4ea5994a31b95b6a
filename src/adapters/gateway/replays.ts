// RequestReplay (docs/protocol.md, Session 4): the journalled events a desktop missed, and the
// standing replay of a desktop that lost its primary.
//
// A desktop that sees its primary's connection close (kill -9: the close can be read ~100 ms before
// the backup's promotion) sends RequestReplay {afterSeq, untilPrimary: true} to the backup at once.
// The backup replays its journal now, remembers how far (`upTo`, its newest seq), and holds the
// EventACK. When it serves as primary, the EventServerInfo it pushes to that connection is followed,
// in the same write, by the events after `upTo` and the EventACK: a desktop that was that quick
// resumes on reading the info, with no request round trip left in its failover. One that asks after
// the promotion gets an ordinary replay. A server that does not serve within STANDING_REPLAY_MS
// answers NotPrimary. Completing costs ~6-7 us a replay in the promotion's turn (bench:desktops logs).
import type { CoreState } from '../../core/index.js';
import { replay } from '../../core/index.js';
import type { TEvent } from '../../protocol/messages.js';
import type { SessionRef } from '../../pipeline/outbound.js';
import type { Logger } from '../../lib/log.js';
import type { Metrics } from '../../lib/metrics/metrics.js';

/** How long a server that is not serving holds a standing replay before answering NotPrimary. */
export const STANDING_REPLAY_MS = 5_000;

export type ReplayResult = { ok: true; events: TEvent[] } | { ok: false; oldestSeq: number };

/**
 * The events after `afterSeq` about `clientName`'s DNs that its token permits, in seq order; a
 * replayed event that was this client's direct answer carries its original referenceId.
 */
export function replayEvents(state: CoreState, clientName: string, afterSeq: number, scope: ReadonlySet<string> | undefined): ReplayResult {
  const r = replay(state, clientName, afterSeq);
  if (!r.ok) return r;
  const events: TEvent[] = [];
  for (const e of r.entries) {
    if (scope && !scope.has(e.dn)) continue;
    events.push(e.answer?.clientName === clientName ? { ...e.event, referenceId: e.answer.referenceId } : e.event);
  }
  return { ok: true, events };
}

export function replayGapMessage(afterSeq: number, oldestSeq: number): string {
  return `the journal no longer reaches back to seq ${afterSeq + 1} (oldest is ${oldestSeq}): re-read your DNs with RequestRegisterAddress and continue from there`;
}

interface Standing<S> { session: S; clientName: string; referenceId: number; upTo: number; since: number }

/** Standing replays, one per connection at most (a newer one replaces it: the SDK has one outstanding). */
export class StandingReplays<S extends SessionRef> {
  private readonly bySession = new Map<S, Standing<S>>();
  private timer: ReturnType<typeof setInterval> | undefined;

  /** @param expired told of each replay held longer than `holdMs` (answer it NotPrimary). */
  constructor(private readonly metrics: Metrics, private readonly log: Logger, private readonly expired: (session: S, referenceId: number) => void,
    private readonly holdMs = STANDING_REPLAY_MS, private readonly now: () => number = Date.now) {
    metrics.gauge('tandem_replays_standing', 'RequestReplay {untilPrimary} held until this server serves (answered with its EventServerInfo).', () => this.bySession.size);
  }

  get size(): number { return this.bySession.size; }

  /** Holds the EventACK of a replay that went up to `upTo`; the replaced one, if any, is returned. */
  park(session: S, clientName: string, referenceId: number, upTo: number): number | undefined {
    const old = this.bySession.get(session);
    this.bySession.set(session, { session, clientName, referenceId, upTo, since: this.now() });
    this.timer ??= setInterval(() => this.expire(), Math.max(10, Math.floor(this.holdMs / 5))).unref();
    return old?.referenceId;
  }

  /** The connection closed. */
  drop(session: S): void {
    this.bySession.delete(session);
    this.stopWhenEmpty();
  }

  /**
   * This server serves now: for each standing replay, the frames that complete it (events after
   * `upTo`, then EventACK, or EventError ReplayGap), sent right after its EventServerInfo; undefined
   * if none is held.
   */
  complete(state: CoreState, scopeOf: (s: S) => ReadonlySet<string> | undefined, time = new Date().toISOString()): Map<S, string[]> | undefined {
    if (this.bySession.size === 0) return undefined;
    const t0 = performance.now();
    const out = new Map<S, string[]>();
    for (const w of this.bySession.values()) {
      const r = replayEvents(state, w.clientName, w.upTo, scopeOf(w.session));
      const frames = r.ok ? r.events.map((ev) => JSON.stringify(ev)) : [];
      frames.push(JSON.stringify(r.ok
        ? { event: 'EventACK', referenceId: w.referenceId, time }
        : { event: 'EventError', errorCode: 'ReplayGap', oldestSeq: r.oldestSeq, referenceId: w.referenceId, time,
          errorMessage: replayGapMessage(w.upTo, r.oldestSeq) }));
      out.set(w.session, frames);
    }
    this.bySession.clear();
    this.stopWhenEmpty();
    this.metrics.inc('tandem_requests_total', { request: 'RequestReplay', outcome: 'ok' }, out.size);
    this.log.info({ replays: out.size, ms: Math.round(performance.now() - t0) }, 'standing replays completed behind the server info');
    return out;
  }

  stop(): void {
    this.bySession.clear();
    this.stopWhenEmpty();
  }

  private expire(): void {
    const limit = this.now() - this.holdMs;
    for (const w of [...this.bySession.values()]) {
      if (w.since > limit) continue;
      this.bySession.delete(w.session);
      this.expired(w.session, w.referenceId);
    }
    this.stopWhenEmpty();
  }

  private stopWhenEmpty(): void {
    if (this.bySession.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

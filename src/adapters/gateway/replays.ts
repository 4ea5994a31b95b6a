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
//
// A reported replay needs no request at all: a desktop's heartbeat to the backup carries its lastSeq
// and a referenceId (a ping's payload "<lastSeq> <referenceId>"; a browser, which cannot ping, puts
// them in its RequestQueryServer, answered after the report is held). The EventServerInfo a server
// pushes when it starts serving says `replayFollows`, and each reporting connection gets, right
// behind it, its events after the reported seq and an EventACK with the reported referenceId. That
// replay is made when the info is written to the connection, from the report held then: ws answers a
// ping with its pong before the 'ping' listener runs, on the same socket, so a desktop that read the
// pong of a report before the info is sure to get its replay (docs/protocol.md, Session 4).
import type { CoreState } from '../../core/index.js';
import { replay } from '../../core/index.js';
import type { TEvent } from '../../protocol/messages.js';
import type { FollowUps, SessionRef } from '../../pipeline/outbound.js';
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

/** A heartbeat's report: the desktop's lastSeq and the referenceId its replay's EventACK answers. */
export interface SeqReport { seq: number; ref: number }

const REPORT = /^(\d{1,16}) (\d{1,16})$/;

/** The report in a WebSocket ping's payload ("<lastSeq> <referenceId>"); any other payload is none. */
export function parseSeqReport(payload: Buffer): SeqReport | undefined {
  if (payload.length < 3 || payload.length > 33) return undefined;
  const m = REPORT.exec(payload.toString('latin1'));
  if (!m) return undefined;
  const seq = Number(m[1]), ref = Number(m[2]);
  return Number.isSafeInteger(seq) && Number.isSafeInteger(ref) ? { seq, ref } : undefined;
}

/** The frames that complete a replay after `afterSeq` (its events up to `upTo`, then EventACK or ReplayGap). */
function completion(r: ReplayResult, afterSeq: number, referenceId: number, time: string, upTo = Infinity): string[] {
  const frames: string[] = [];
  if (r.ok) for (const ev of r.events) if ((ev.seq ?? 0) <= upTo) frames.push(JSON.stringify(ev));
  frames.push(JSON.stringify(r.ok
    ? { event: 'EventACK', referenceId, time }
    : { event: 'EventError', errorCode: 'ReplayGap', oldestSeq: r.oldestSeq, referenceId, time, errorMessage: replayGapMessage(afterSeq, r.oldestSeq) }));
  return frames;
}

/** Standing replays, one per connection at most (a newer one replaces it: the SDK has one outstanding). */
export class StandingReplays<S extends SessionRef> {
  private readonly bySession = new Map<S, Standing<S>>();
  private readonly reports = new Map<S, SeqReport & { clientName: string }>();
  private timer: ReturnType<typeof setInterval> | undefined;

  /** @param expired told of each replay held longer than `holdMs` (answer it NotPrimary). */
  constructor(private readonly metrics: Metrics, private readonly log: Logger, private readonly expired: (session: S, referenceId: number) => void,
    private readonly holdMs = STANDING_REPLAY_MS, private readonly now: () => number = Date.now) {
    metrics.gauge('tandem_replays_standing', 'RequestReplay {untilPrimary} held until this server serves (answered with its EventServerInfo).', () => this.bySession.size);
    metrics.gauge('tandem_replays_reported', 'Connections whose heartbeat reported their lastSeq: each gets its replay behind the EventServerInfo when this server starts serving.', () => this.reports.size);
  }

  /** A report from an opened connection (its ping, or a RequestQueryServer) replaces its older one. */
  report(session: S, clientName: string, r: SeqReport | undefined): void {
    if (r && Number.isSafeInteger(r.seq) && r.seq >= 0 && Number.isSafeInteger(r.ref) && r.ref >= 0) this.reports.set(session, { clientName, seq: r.seq, ref: r.ref });
  }

  /**
   * The follow-ups of the EventServerInfo this server pushes while serving: the standing replays,
   * completed now; when it `starts` serving (the info says replayFollows), also each reporting
   * connection's replay up to the newest seq now, made when the info is written to it.
   */
  followUps(state: () => CoreState, scopeOf: (s: S) => ReadonlySet<string> | undefined, starts: boolean): FollowUps | undefined {
    const standing = this.complete(state(), scopeOf);
    if (!starts) return standing;
    const upTo = state().seq;
    const time = new Date().toISOString();
    this.log.info({ reported: this.reports.size, upToSeq: upTo }, 'starting to serve: reported replays follow the server info');
    return {
      get: (s: SessionRef) => {
        const done = standing?.get(s as S);
        const r = done ? undefined : this.reports.get(s as S);
        if (!r) return done;
        this.metrics.inc('tandem_requests_total', { request: 'RequestReplay', outcome: 'reported' });
        return completion(replayEvents(state(), r.clientName, r.seq, scopeOf(s as S)), r.seq, r.ref, time, upTo);
      },
    };
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
    this.reports.delete(session);
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
    for (const w of this.bySession.values()) out.set(w.session, completion(replayEvents(state, w.clientName, w.upTo, scopeOf(w.session)), w.upTo, w.referenceId, time));
    this.bySession.clear();
    this.stopWhenEmpty();
    this.metrics.inc('tandem_requests_total', { request: 'RequestReplay', outcome: 'ok' }, out.size);
    this.log.info({ replays: out.size, ms: Math.round(performance.now() - t0) }, 'standing replays completed behind the server info');
    return out;
  }

  stop(): void {
    this.bySession.clear();
    this.reports.clear();
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

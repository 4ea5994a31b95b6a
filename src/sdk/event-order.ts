// Exactly-once, in-order delivery of state events across failovers, as pure bookkeeping.
//
// Events carry the pair-wide `seq`. A client only sees the events about its own DNs, so gaps in seq
// are normal and say nothing; what matters is never going backwards. While a replay from a new
// primary is under way, that server's live events may interleave with the replayed ones, so the
// sequencer buffers everything from it and releases the sorted, de-duplicated result when the
// replay's EventACK arrives.
import type { EventName, TEvent } from '../protocol/messages.js';

/**
 * Replies, never state events, even with a `seq` attribute: EventServerInfo's `seq` is the newest
 * seq the server knows, not a position in the event stream.
 */
const REPLIES: ReadonlySet<EventName> = new Set<EventName>([
  'EventServerInfo', 'EventACK', 'EventError', 'EventRegistered', 'EventUnregistered', 'EventAddressInfo',
  'EventPartyInfo', 'EventLinkConnected', 'EventLinkDisconnected',
]);

/** A state event: a position in the primary's event stream (seq), not a reply or a notice. */
export function isStreamEvent(ev: TEvent): boolean {
  return ev.seq !== undefined && !REPLIES.has(ev.event);
}

export class EventSequencer {
  /** Seq of the newest event delivered; undefined until the first event or baseline. */
  private last: number | undefined;
  /** Events held back while a replay runs; non-null iff a replay is in progress. */
  private buffer: TEvent[] | null = null;
  /** Events dropped as duplicates (seq <= lastSeq). */
  duplicates = 0;

  constructor(lastSeq?: number) {
    this.last = lastSeq;
  }

  get lastSeq(): number | undefined { return this.last; }
  get replaying(): boolean { return this.buffer !== null; }

  /** First contact without history: start after the server's newest seq (no replay needed). */
  baseline(seq: number): void {
    if (this.last === undefined) this.last = seq;
  }

  /** A replay from afterSeq = lastSeq starts: hold back events until endReplay or discardReplay. */
  beginReplay(): void {
    this.buffer ??= [];
  }

  /** Offers one event with seq; returns the events to deliver now, in order (maybe none). */
  offer(ev: TEvent): TEvent[] {
    if (this.buffer) {
      this.buffer.push(ev);
      return [];
    }
    return this.accept([ev]);
  }

  /** The replay finished (EventACK): release what was held, sorted, each seq once. */
  endReplay(): TEvent[] {
    const held = this.buffer ?? [];
    this.buffer = null;
    return this.accept(held.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)));
  }

  /**
   * The replay was cut short (its server went away). What was held may be a prefix of the journal
   * with later live events mixed in, so delivering it could skip events: drop it all and keep
   * lastSeq, the next primary replays the same range again.
   */
  discardReplay(): void {
    this.buffer = null;
  }

  private accept(events: TEvent[]): TEvent[] {
    const out: TEvent[] = [];
    for (const ev of events) {
      const seq = ev.seq ?? 0;
      if (this.last !== undefined && seq <= this.last) {
        this.duplicates += 1;
        continue;
      }
      this.last = seq;
      out.push(ev);
    }
    return out;
  }
}

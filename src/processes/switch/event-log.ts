// The switch's event sequence and its bounded redelivery log. Numbering happens here, so seq is
// strictly increasing and gapless by construction; the log keeps the newest `capacity` events in a
// ring so a newly granted primary can ask for every event after the last one it applied.
import type { sw } from '../../wire/switch-proto.js';

export type Redelivery =
  | { gap: false; events: sw.ISwitchEvent[] }
  /** The log no longer holds appliedSeq+1: rebuild from a snapshot. */
  | { gap: true; events: [] };

export class EventLog {
  private readonly ring: (sw.ISwitchEvent | undefined)[];
  private head = 0; // index of the oldest held event
  private size = 0;
  private last = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`event log size must be a positive integer, got ${capacity}`);
    this.ring = new Array(capacity);
  }

  /** Newest seq (0 before any event). */
  get lastSeq(): number { return this.last; }

  /** Oldest seq still held (lastSeq+1 when empty: nothing to redeliver). */
  get oldestSeq(): number { return this.last - this.size + 1; }

  /** Numbers the events in place (seq = last+1, last+2, ...) and keeps them. */
  append(events: sw.ISwitchEvent[]): sw.ISwitchEvent[] {
    for (const e of events) {
      e.seq = ++this.last;
      const slot = (this.head + this.size) % this.capacity;
      this.ring[slot] = e;
      if (this.size < this.capacity) this.size++;
      else this.head = (this.head + 1) % this.capacity;
    }
    return events;
  }

  /**
   * Every event with seq in (appliedSeq, lastSeq], or gap when appliedSeq+1 was dropped. A seq
   * beyond lastSeq is a gap too: the claimer saw a previous life of the switch (seq restarts at 1).
   */
  since(appliedSeq: number): Redelivery {
    if (appliedSeq > this.last) return { gap: true, events: [] };
    if (appliedSeq === this.last) return { gap: false, events: [] };
    if (appliedSeq + 1 < this.oldestSeq) return { gap: true, events: [] };
    const skip = appliedSeq + 1 - this.oldestSeq;
    const out: sw.ISwitchEvent[] = [];
    for (let i = skip; i < this.size; i++) out.push(this.ring[(this.head + i) % this.capacity]!);
    return { gap: false, events: out };
  }
}

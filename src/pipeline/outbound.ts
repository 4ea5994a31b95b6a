// What one event-loop turn produces for the outside world, collected and sealed into a batch: the
// deltas (for the sync stream) and everything desktops will receive, in order. The batch goes through
// a Releaser (releaser.ts) before the gateway may deliver it, so in sync mode `ack` no desktop sees
// an event or an answer before the backup holds the deltas behind it.
import type { Delta, JournalEntry } from '../core/api.js';
import type { TEvent } from '../protocol/messages.js';

/** A connection, opaque here (the gateway's Session). */
export interface SessionRef { readonly id: number }

/** Frames that follow a broadcast on some connections, right behind it (replays: gateway/replays.ts). */
export interface FollowUps { get(session: SessionRef): readonly string[] | undefined }

export type Outgoing =
  /** A journalled state event: to every client that registered entry.dn; the answer copy to its requester. */
  | { kind: 'event'; entry: JournalEntry }
  /** A non-journalled answer addressed by client name (core replies: EventRegistered, EventACK, EventError…). */
  | { kind: 'reply'; clientName: string; event: TEvent }
  /** To one connection, whoever it is (answers before RequestOpen, replayed events, server info). */
  | { kind: 'session'; session: SessionRef; event: TEvent }
  /**
   * To every open connection (EventLinkConnected/Disconnected, unsolicited EventServerInfo); a
   * connection with `followUps` gets its frames right behind it, in the same write (replays).
   */
  | { kind: 'broadcast'; event: TEvent; followUps?: FollowUps }
  /** From here on in the batch, `clientName` gets events of exactly these DNs. */
  | { kind: 'registrations'; clientName: string; dns: readonly string[] };

export interface OutboundBatch {
  /** 1, 2, 3… per process: batches are released strictly in this order. */
  readonly id: number;
  readonly deltas: Delta[];
  readonly items: Outgoing[];
}

interface Collecting {
  deltas: Delta[];
  items: Outgoing[];
  /** `${coll}\0${key}` -> index in `deltas` of its put, while no del of that key followed it. */
  puts: Map<string, number>;
  /** Index of the batch's counters delta, or -1. */
  counters: number;
}

/**
 * Collects outputs of one event-loop turn; seals and hands the batch on in a setImmediate, so
 * everything caused by one burst of input (a switch EventBatch, a WebSocket frame burst) shares one
 * batch: one sync message, one serialization per event.
 *
 * Deltas are coalesced as they come (a call is put ~9 times in its life, the counters after every
 * input): a put of a key already put in this batch, with no del of it in between, replaces the
 * earlier put's value in the earlier put's place, and the last counters replace earlier ones. The
 * backup's state after the batch is the same (same values, same Map insertion order: a new key is
 * inserted where it first was, an existing key keeps its place), with fewer deltas to encode, send,
 * decode and apply.
 */
export class BatchCollector {
  private nextId = 1;
  private current: Collecting | undefined;
  private scheduled = false;
  /** Seal time (ms) of each batch not yet released, by id (ascending): admission control's `unreleased` signal. */
  private readonly unreleased = new Map<number, number>();

  constructor(private readonly seal: (batch: OutboundBatch) => void, private readonly now: () => number = Date.now) {}

  /** Seal time of the oldest batch not yet released (held for the backup's ack), or undefined. */
  oldestUnreleasedAt(): number | undefined {
    const first = this.unreleased.values().next();
    return first.done ? undefined : first.value;
  }

  /** Batches sealed and not yet released. */
  get unreleasedCount(): number { return this.unreleased.size; }

  /**
   * The gateway delivered batch `id`. Batches are released in id order, so every earlier one is out
   * too (or was dropped on demotion: the releaser then delivers only what reveals no state, or nothing).
   */
  released(id: number): void {
    for (const k of this.unreleased.keys()) {
      if (k > id) break;
      this.unreleased.delete(k);
    }
  }

  deltas(ds: readonly Delta[]): void {
    if (ds.length === 0) return;
    const b = this.open();
    for (const d of ds) {
      if (d.op === 'put') {
        const k = `${d.coll}\0${d.key}`;
        const at = b.puts.get(k);
        if (at !== undefined) {
          b.deltas[at] = d;
          continue;
        }
        b.puts.set(k, b.deltas.length);
      } else if (d.op === 'del') {
        b.puts.delete(`${d.coll}\0${d.key}`);
      } else if (d.op === 'counters') {
        if (b.counters >= 0) {
          b.deltas[b.counters] = d;
          continue;
        }
        b.counters = b.deltas.length;
      }
      b.deltas.push(d);
    }
  }

  add(item: Outgoing): void { this.open().items.push(item); }

  /** Seals the current batch now (used at shutdown; normally the setImmediate does it). */
  flush(): void {
    this.scheduled = false;
    const b = this.current;
    this.current = undefined;
    if (!b || (b.deltas.length === 0 && b.items.length === 0)) return;
    const id = this.nextId++;
    this.unreleased.set(id, this.now());
    this.seal({ id, deltas: b.deltas, items: b.items });
  }

  private open(): Collecting {
    if (!this.current) this.current = { deltas: [], items: [], puts: new Map(), counters: -1 };
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return this.current;
  }
}

// A primary's undo log: for each batch it published, the values its deltas overwrote (before-images).
// When it is demoted after a failover, the new primary inherited its replication only up to the
// offset it had applied (the divergence point); the batches after it were never acknowledged, so no
// desktop saw them. With their before-images the old primary rolls its state back to the divergence
// point and rejoins with a partial resync (PSYNC-style truncation) instead of a full snapshot — the
// resync that would otherwise land on a primary that has just taken over.
//
// Invariants:
// - `batches` are contiguous in offsets and in publish order; `open` holds the before-images of the
//   deltas applied since the last sealed batch (the batch being built this turn);
// - a before-image is the value of a key when the batch FIRST touched it (absent = undefined), so
//   restoring images newest batch first returns the state to each batch's start;
// - only batches not yet acknowledged can be after a divergence point (the new primary applied at
//   least what it acked): acked ones are dropped, and at most `maxBatches` are kept.
import type { CollectionName, CoreState, Delta, JournalEntry } from '../../core/api.js';
import { applyDelta, firstIndexAfter } from '../../core/state.js';

interface Image {
  /** coll + '\u0000' + key → the value before the batch (undefined = absent). */
  values: Map<string, { coll: CollectionName; key: string; value: unknown }>;
  counters?: { seq: number; connIdCounter: number; appliedSwitchSeq: number };
  /** Journal entries the batch appended (removed on undo, newest last). */
  appended: number;
  /** Journal entries the batch trimmed from the front (put back on undo, oldest first). */
  trimmed: JournalEntry[];
  /** The batch trimmed entries it had appended itself (a tiny journal bound): cannot be undone. */
  poisoned?: true;
}

interface Sealed { firstOffset: number; lastOffset: number; image: Image }

const emptyImage = (): Image => ({ values: new Map(), appended: 0, trimmed: [] });

export const DEFAULT_UNDO_BATCHES = 10_000;

export class UndoLog {
  private batches: Sealed[] = [];
  private open: Image = emptyImage();
  /** Offset of the last delta published; a rollback target must be a batch boundary up to it. */
  private end: number;

  constructor(startOffset: number, private readonly maxBatches = DEFAULT_UNDO_BATCHES) {
    this.end = startOffset;
  }

  /** Called before each delta is applied on the primary (CoreContext.beforeApply). */
  readonly beforeApply = (state: CoreState, d: Delta): void => {
    const img = this.open;
    switch (d.op) {
      case 'put':
      case 'del': {
        const k = `${d.coll}\u0000${d.key}`;
        if (!img.values.has(k)) img.values.set(k, { coll: d.coll, key: d.key, value: (state[d.coll] as Map<string, unknown>).get(d.key) });
        return;
      }
      case 'counters':
        img.counters ??= { seq: state.seq, connIdCounter: state.connIdCounter, appliedSwitchSeq: state.appliedSwitchSeq };
        return;
      case 'journal':
        img.appended += 1;
        return;
      case 'journalTrim': {
        const n = firstIndexAfter(state.journal, d.upToSeq);
        if (n > state.journal.length - img.appended) img.poisoned = true;
        for (let i = 0; i < n; i++) img.trimmed.push(state.journal[i]!);
        return;
      }
      default: {
        const never: never = d;
        throw new Error(`undo: unknown delta ${JSON.stringify(never)}`);
      }
    }
  };

  /** The deltas applied since the last seal were published as offsets first..last. */
  sealed(firstOffset: number, lastOffset: number): void {
    if (firstOffset !== this.end + 1) {
      // Published without our images (or out of order): nothing before this point can be undone.
      this.batches = [];
    }
    this.batches.push({ firstOffset, lastOffset, image: this.open });
    this.open = emptyImage();
    this.end = lastOffset;
    if (this.batches.length > this.maxBatches) this.batches.splice(0, this.batches.length - this.maxBatches);
  }

  /** The backup holds everything up to `offset`: those batches can no longer be after a divergence. */
  acked(offset: number): void {
    let n = 0;
    while (n < this.batches.length && this.batches[n]!.lastOffset <= offset) n++;
    if (n > 0) this.batches.splice(0, n);
  }

  /** The lowest offset the state can be rolled back to (the current end when nothing is kept). */
  get truncatableTo(): number {
    return this.batches.length > 0 ? this.batches[0]!.firstOffset - 1 : this.end;
  }

  get offset(): number { return this.end; }

  /**
   * Rolls `state` back to `toOffset` (a batch boundary within reach). False, and nothing changed,
   * when it cannot: the caller then asks for a full resync.
   */
  rollback(state: CoreState, toOffset: number): boolean {
    if (toOffset === this.end) return true;
    if (toOffset > this.end || toOffset < this.truncatableTo) return false;
    const from = this.batches.findIndex((b) => b.firstOffset === toOffset + 1);
    if (from < 0) return false; // not a batch boundary
    for (let i = from; i < this.batches.length; i++) if (this.batches[i]!.image.poisoned) return false;
    for (let i = this.batches.length - 1; i >= from; i--) restore(state, this.batches[i]!.image);
    this.batches.length = from;
    this.end = toOffset;
    return true;
  }
}

function restore(state: CoreState, img: Image): void {
  for (const { coll, key, value } of img.values.values()) {
    const d: Delta = value === undefined ? { op: 'del', coll, key } : { op: 'put', coll, key, value };
    applyDelta(state, d);
  }
  if (img.counters) applyDelta(state, { op: 'counters', ...img.counters });
  // Journal: drop what the batch appended (newest), put back what it trimmed (oldest). The journal's
  // DN index is rebuilt before the next replay (core/journal-index.ts).
  if (img.appended > 0 || img.trimmed.length > 0) state.journalByDn.valid = false;
  for (let i = 0; i < img.appended; i++) {
    const e = state.journal.pop();
    const id = e?.commandId;
    const list = id ? state.journalByCommand.get(id) : undefined;
    if (list) {
      list.pop();
      if (list.length === 0) state.journalByCommand.delete(id!);
    }
  }
  if (img.trimmed.length > 0) {
    state.journal.unshift(...img.trimmed);
    for (let i = img.trimmed.length - 1; i >= 0; i--) {
      const e = img.trimmed[i]!;
      if (!e.commandId) continue;
      const list = state.journalByCommand.get(e.commandId);
      if (list) list.unshift(e);
      else state.journalByCommand.set(e.commandId, [e]);
    }
  }
  state.version++;
}

// All or nothing for one core input. A Tx applies each delta at once (later code in the same input
// reads the new state), so an exception halfway through an input would leave the state with some of
// its deltas applied and none of them published: the primary would hold changes its backup never
// receives. The Tx records, before each delta, what it overwrites; when the input throws, the
// records are replayed newest first and the state is what it was before the input.
//
// Cheaper than the primary's undo log (src/adapters/sync/undo-log.ts), which keeps the first before-image per
// key for a whole published batch: this one lives for a single input, so it records one step per
// delta in an array and never looks a key up twice.
import type { CollectionName, CoreState, Delta, JournalEntry } from './api.js';
import { applyDelta, firstIndexAfter } from './state.js';

type Step =
  | { op: 'value'; coll: CollectionName; key: string; had: boolean; value: unknown }
  | { op: 'counters'; seq: number; connIdCounter: number; appliedSwitchSeq: number }
  | { op: 'journal' }
  | { op: 'journalTrim'; trimmed: JournalEntry[] };

export class TxUndo {
  private readonly steps: Step[] = [];
  /**
   * The de-dup age order as it was before the input's first de-dup delta. Its key array is only ever
   * appended to or replaced (never changed in place), so the reference, head and length restore it.
   */
  private dedupOrder: { keys: string[]; head: number; length: number } | undefined;

  /** Before `d` is applied to `state`: remember what it changes. */
  record(state: CoreState, d: Delta): void {
    switch (d.op) {
      case 'put':
      case 'del': {
        const map = state[d.coll] as Map<string, unknown>;
        if (d.coll === 'dedup' && !this.dedupOrder) {
          const o = state.dedupOrder;
          this.dedupOrder = { keys: o.keys, head: o.head, length: o.keys.length };
        }
        this.steps.push({ op: 'value', coll: d.coll, key: d.key, had: map.has(d.key), value: map.get(d.key) });
        return;
      }
      case 'counters':
        this.steps.push({ op: 'counters', seq: state.seq, connIdCounter: state.connIdCounter, appliedSwitchSeq: state.appliedSwitchSeq });
        return;
      case 'journal':
        this.steps.push({ op: 'journal' });
        return;
      case 'journalTrim':
        this.steps.push({ op: 'journalTrim', trimmed: state.journal.slice(0, firstIndexAfter(state.journal, d.upToSeq)) });
        return;
      default: {
        const never: never = d;
        throw new Error(`tx undo: unknown delta ${JSON.stringify(never)}`);
      }
    }
  }

  /** Deltas recorded so far. */
  get size(): number { return this.steps.length; }

  /**
   * Puts `state` back as it was before the first recorded delta. The derived indexes follow, since
   * every value goes back through applyDelta; the journal and its by-command index are restored by
   * hand (there is no "un-append" delta), and so is the de-dup age order (restoring a trimmed record
   * would otherwise list it last, and the next trim would pick another record than the backup's).
   */
  rollback(state: CoreState): void {
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const s = this.steps[i]!;
      switch (s.op) {
        case 'value':
          applyDelta(state, s.had ? { op: 'put', coll: s.coll, key: s.key, value: s.value } : { op: 'del', coll: s.coll, key: s.key });
          break;
        case 'counters':
          applyDelta(state, { op: 'counters', seq: s.seq, connIdCounter: s.connIdCounter, appliedSwitchSeq: s.appliedSwitchSeq });
          break;
        case 'journal':
          unappend(state);
          break;
        case 'journalTrim':
          untrim(state, s.trimmed);
          break;
        default: {
          const never: never = s;
          throw new Error(`tx undo: unknown step ${JSON.stringify(never)}`);
        }
      }
    }
    if (this.dedupOrder) {
      const { keys, head, length } = this.dedupOrder;
      keys.length = length;
      state.dedupOrder.keys = keys;
      state.dedupOrder.head = head;
      this.dedupOrder = undefined;
    }
    this.steps.length = 0;
    state.version++;
  }
}

function unappend(state: CoreState): void {
  state.journalByDn.valid = false; // rebuilt before the next replay (journal-index.ts)
  const e = state.journal.pop();
  const id = e?.commandId;
  const list = id ? state.journalByCommand.get(id) : undefined;
  if (!list) return;
  list.pop();
  if (list.length === 0) state.journalByCommand.delete(id!);
}

function untrim(state: CoreState, trimmed: JournalEntry[]): void {
  if (trimmed.length === 0) return;
  state.journalByDn.valid = false;
  state.journal.unshift(...trimmed);
  for (let i = trimmed.length - 1; i >= 0; i--) {
    const e = trimmed[i]!;
    if (!e.commandId) continue;
    const list = state.journalByCommand.get(e.commandId);
    if (list) list.unshift(e);
    else state.journalByCommand.set(e.commandId, [e]);
  }
}

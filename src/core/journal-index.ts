// Derived index of the journal by DN, for replay: a desktop that comes back (or follows a new primary
// after a failover) asks for the events of its DNs after its last seq. Scanning the journal tail for
// each of them costs O(journal) per desktop: after a failover, 5,000 desktops replaying a 30,000-event
// tail were 150 million entry checks on the new primary. With the index a replay reads only its DNs'
// entries after the seq (a binary search per DN).
//
// Maintained by applyDelta (journal append and trim). The rollbacks that put journal entries back or
// take them out by hand (core/tx-undo.ts, sync/undo-log.ts) mark it stale instead; the next replay
// rebuilds it from the journal (rare: a core bug or a demoted primary's truncation).
import type { CoreState, JournalEntry } from './api.js';

/** One DN's entries, ascending seq; those before `head` were trimmed (compacted lazily). */
interface DnEntries { entries: JournalEntry[]; head: number }

export interface JournalDnIndex {
  byDn: Map<string, DnEntries>;
  /** False after a hand-made journal change: rebuilt from the journal before the next read. */
  valid: boolean;
}

export function createJournalDnIndex(): JournalDnIndex {
  return { byDn: new Map(), valid: true };
}

/** applyDelta: `entry` was appended to the journal (its seq is the highest). */
export function indexAppended(ix: JournalDnIndex, entry: JournalEntry): void {
  if (!ix.valid) return;
  const l = ix.byDn.get(entry.dn);
  if (l) l.entries.push(entry);
  else ix.byDn.set(entry.dn, { entries: [entry], head: 0 });
}

/** applyDelta: `entry`, the oldest journal entry, was trimmed. */
export function indexTrimmed(ix: JournalDnIndex, entry: JournalEntry): void {
  if (!ix.valid) return;
  const l = ix.byDn.get(entry.dn);
  if (!l || l.entries[l.head] !== entry) {
    ix.valid = false; // not the shape we maintain: rebuild rather than guess
    return;
  }
  l.head++;
  if (l.head === l.entries.length) ix.byDn.delete(entry.dn);
  else if (l.head > 64 && l.head * 2 > l.entries.length) {
    l.entries = l.entries.slice(l.head);
    l.head = 0;
  }
}

function rebuild(state: CoreState): void {
  const ix = state.journalByDn;
  ix.byDn = new Map();
  ix.valid = true;
  for (const e of state.journal) indexAppended(ix, e);
}

/** The journal entries about any of `dns` with seq > afterSeq, ascending seq. */
export function journalEntriesAfter(state: CoreState, dns: readonly string[], afterSeq: number): JournalEntry[] {
  if (!state.journalByDn.valid) rebuild(state);
  const out: JournalEntry[] = [];
  let lists = 0;
  for (const dn of new Set(dns)) {
    const l = state.journalByDn.byDn.get(dn);
    if (!l) continue;
    const { entries } = l;
    let lo = l.head, hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    if (lo < entries.length) lists++;
    for (let i = lo; i < entries.length; i++) out.push(entries[i]!);
  }
  if (lists > 1) out.sort((a, b) => a.seq - b.seq);
  return out;
}

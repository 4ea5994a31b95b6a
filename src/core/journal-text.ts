// The JSON text of a journal entry's event, made once per entry and shared by everything that sends
// it: the sync stream (the whole entry, encodeDeltaBatch), every desktop that registered its DN, the
// requester's copy (with its referenceId) and a replay. Entries are immutable once journalled, so the
// text never goes stale; it lives as long as the entry (a WeakMap: trimmed entries take it along).
import type { JournalEntry } from './api.js';

const texts = new WeakMap<JournalEntry, string>();

/** JSON.stringify(entry.event), computed once per entry. */
export function eventText(entry: JournalEntry): string {
  let t = texts.get(entry);
  if (t === undefined) {
    t = JSON.stringify(entry.event);
    texts.set(entry, t);
  }
  return t;
}

/**
 * JSON.stringify({ ...entry.event, referenceId }): the event text with the referenceId added as its
 * last member (the same bytes: a journalled event has no referenceId of its own).
 */
export function answerText(entry: JournalEntry, referenceId: number): string {
  if ((entry.event as { referenceId?: unknown }).referenceId !== undefined) return JSON.stringify({ ...entry.event, referenceId });
  const t = eventText(entry);
  return `${t.slice(0, -1)},"referenceId":${JSON.stringify(referenceId)}}`;
}

/**
 * JSON.stringify(entry), with the event's text from eventText: the same members in the same order
 * (seq, dn, event, then commandId and answer in the order the entry has them).
 */
export function entryText(entry: JournalEntry): string {
  let out = `{"seq":${JSON.stringify(entry.seq)},"dn":${JSON.stringify(entry.dn)},"event":${eventText(entry)}`;
  for (const k in entry) {
    if (k === 'seq' || k === 'dn' || k === 'event') continue;
    const v = (entry as unknown as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  return `${out}}`;
}

// The JSON text of a journal entry's event, made once per entry and shared by everything that sends
// it while it is new: the sync stream (the whole entry, encodeDeltaBatch), every desktop that
// registered its DN and the requester's copy (with its referenceId). Entries are immutable once
// journalled, so the text never goes stale. It is kept only while the entry is in flight: the gateway
// forgets it once the entry is delivered (forgetText), so the journal (up to 200,000 entries) does not
// hold a second copy of every event as text.
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

/** The entry was delivered: its text is not needed any more (a later replay serializes it again). */
export function forgetText(entry: JournalEntry): void {
  texts.delete(entry);
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

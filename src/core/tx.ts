// One handle() call's transaction: every state change goes through put/del/emit here, which apply the
// delta at once (later code reads the new state) and record it for the backup. All or nothing: what
// each delta overwrites is recorded too (tx-undo.ts), so an input that throws is rolled back whole.
import type { CollectionName, CoreContext, CoreOutput, CoreState, Delta, ErrorCode, JournalEntry, SwitchCommand } from './api.js';
import type { TEvent } from '../protocol/messages.js';
import { applyDelta } from './state.js';
import { TxUndo } from './tx-undo.js';

/** The request whose direct answer is still to come: the first event on `thisDN` answers it. */
export interface Awaiting {
  clientName: string;
  referenceId: number;
  thisDN: string;
  /** Set when the request went to the switch. */
  commandId?: string;
  /** requestFingerprint of the request, stored with its de-dup record. */
  fp?: string;
}

export class Tx {
  readonly out: CoreOutput = { deltas: [], events: [], replies: [], commands: [] };
  /** Command id of the switch event being applied: recorded on the journal entries it causes. */
  cause: string | undefined;
  awaiting: Awaiting | undefined;
  private seq: number;
  private connIdCounter: number;
  private appliedSwitchSeq: number;
  private readonly isoNow: string;
  private readonly undo = new TxUndo();

  constructor(
    readonly state: CoreState,
    readonly ctx: CoreContext,
  ) {
    this.seq = state.seq;
    this.connIdCounter = state.connIdCounter;
    this.appliedSwitchSeq = state.appliedSwitchSeq;
    this.isoNow = isoTime(ctx.now);
  }

  get now(): number {
    return this.ctx.now;
  }

  put(coll: CollectionName, key: string, value: unknown): void {
    this.apply({ op: 'put', coll, key, value });
  }

  del(coll: CollectionName, key: string): void {
    this.apply({ op: 'del', coll, key });
  }

  private apply(d: Delta): void {
    this.ctx.beforeApply?.(this.state, d);
    this.undo.record(this.state, d);
    applyDelta(this.state, d);
    this.out.deltas.push(d);
  }

  /**
   * The input failed: every delta applied so far is undone, newest first, and nothing of it is
   * output. Returns how many deltas were undone. (A primary's undo log saw them in beforeApply; the
   * process exits after a core failure, so its open batch is never published or rolled back.)
   */
  rollback(): number {
    const n = this.undo.size;
    this.undo.rollback(this.state);
    for (const k of ['deltas', 'events', 'replies', 'commands'] as const) this.out[k].length = 0;
    this.awaiting = undefined;
    return n;
  }

  /**
   * ConnIDs: 16 hex digits from a replicated counter. The counter starts from the clock (ms * 1024) the
   * first time, so even a pair that lost all its state never reuses an old ConnID.
   */
  newConnId(): string {
    if (this.connIdCounter === 0) this.connIdCounter = this.now * 1024;
    this.connIdCounter += 1;
    return this.connIdCounter.toString(16).padStart(16, '0');
  }

  journalTrim(upToSeq: number): void {
    this.apply({ op: 'journalTrim', upToSeq });
  }

  switchSeqApplied(seq: number): void {
    this.appliedSwitchSeq = seq;
  }

  get lastSwitchSeq(): number {
    return this.appliedSwitchSeq;
  }

  /** Journal a state event about `dn` with the next seq; it answers the awaited request when on its DN. */
  emit(dn: string, event: TEvent): JournalEntry {
    this.seq += 1;
    const entry: JournalEntry = { seq: this.seq, dn, event: { ...event, seq: this.seq, time: this.isoNow } };
    if (this.cause) entry.commandId = this.cause;
    const a = this.awaiting;
    if (a && a.thisDN === dn) {
      entry.answer = { clientName: a.clientName, referenceId: a.referenceId };
      this.answered({ ...entry.event, referenceId: a.referenceId });
    }
    this.apply({ op: 'journal', entry });
    this.out.events.push(entry);
    return entry;
  }

  /** Record the direct answer of the awaited request (de-dup record) and stop waiting. */
  answered(answer: TEvent): void {
    const a = this.awaiting;
    if (!a) return;
    this.awaiting = undefined;
    this.rememberAnswer(a.clientName, a.referenceId, answer, a.fp);
  }

  /**
   * The de-dup record is what makes a request answered. A pending request stays until its
   * CommandResult (it still holds the user data for the call its command creates).
   */
  rememberAnswer(clientName: string, referenceId: number, answer: TEvent, fp: string | undefined): void {
    const key = dedupKey(clientName, referenceId);
    this.put('dedup', key, fp === undefined ? { key, answer, at: this.now } : { key, answer, at: this.now, fp });
  }

  /** A request handled without the switch ends here: no event on its DN means EventACK. */
  finishRequest(): void {
    const a = this.awaiting;
    if (!a) return;
    this.answered(this.reply(a.clientName, { event: 'EventACK', referenceId: a.referenceId, thisDN: a.thisDN }));
  }

  /**
   * A reply to one client, returned as sent. Every event carries `time` (PROTOCOL.md): a reply built
   * here gets this input's time; a stored answer sent again (a retry) keeps the time it was first
   * sent with, so the de-dup record stores the reply as sent.
   */
  reply(clientName: string, event: TEvent): TEvent {
    const sent = event.time === undefined ? { ...event, time: this.isoNow } : event;
    this.out.replies.push({ clientName, event: sent });
    return sent;
  }

  /** Errors are replies and change nothing. */
  error(clientName: string, referenceId: number, errorCode: ErrorCode, errorMessage: string): void {
    this.reply(clientName, { event: 'EventError', referenceId, errorCode, errorMessage });
  }

  command(cmd: SwitchCommand): void {
    this.out.commands.push(cmd);
  }

  finish(): CoreOutput {
    const s = this.state;
    if (s.seq !== this.seq || s.connIdCounter !== this.connIdCounter || s.appliedSwitchSeq !== this.appliedSwitchSeq) {
      this.apply({ op: 'counters', seq: this.seq, connIdCounter: this.connIdCounter, appliedSwitchSeq: this.appliedSwitchSeq });
    }
    return this.out;
  }
}

/** ISO text of a time; inputs in the same millisecond share it (one Date per ms, not per input). */
let lastIso = { ms: NaN, text: '' };
function isoTime(ms: number): string {
  if (lastIso.ms !== ms) lastIso = { ms, text: new Date(ms).toISOString() };
  return lastIso.text;
}

export function dedupKey(clientName: string, referenceId: number): string {
  return `${clientName}#${referenceId}`;
}

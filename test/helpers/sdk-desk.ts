// One SDK desktop for failover tests: a TandemClient on both servers of a pair for one DN, every
// state event it delivered kept in order, every failed request kept, and the moments its failovers
// completed. waitEvent resolves on events already delivered or still to come (never by sleeping).
import { createNodeClient } from '../../src/sdk/node.js';
import type { TandemClient, TEvent } from '../../src/sdk/index.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface Resumed { at: number; ms: number; server: string }

export class SdkDesk {
  readonly client: TandemClient;
  /** Every state event the SDK delivered, in delivery order. */
  readonly events: TEvent[] = [];
  readonly failures: string[] = [];
  /** Each failover-complete: wall-clock time (Date.now()) and the SDK's own ms since failover-started. */
  readonly resumed: Resumed[] = [];
  requests = 0;
  /** Seq of this DN's EventRegistered (the window of events this desktop must see starts after it). */
  registeredAtSeq = 0;
  private readonly waiters = new Set<() => void>();

  constructor(t: Teardown, readonly dn: string, urls: string[], readonly name = `sdk-desk-${dn}`) {
    this.client = createNodeClient({ servers: urls, clientName: name, requestTimeoutMs: 20_000 });
    t.teardown(() => this.client.close());
    this.client.on('event', (e) => {
      this.events.push(e);
      for (const w of this.waiters) w();
    });
    this.client.on('status', (s) => {
      if (s.type === 'failover-complete') this.resumed.push({ at: Date.now(), ms: s.ms, server: s.server });
    });
  }

  async register(): Promise<void> {
    const reg = await this.client.register(this.dn);
    this.registeredAtSeq = reg.seq ?? this.client.lastSeq ?? 0;
  }

  /** Runs one request; a rejection is recorded as a failure and rethrown (the caller's loop stops). */
  async req(what: string, fn: (c: TandemClient) => Promise<TEvent>): Promise<TEvent> {
    this.requests += 1;
    try {
      return await fn(this.client);
    } catch (err) {
      const e = err as { errorCode?: string; message?: string };
      this.failures.push(`${this.name} ${what}: ${e.errorCode ?? ''} ${e.message ?? String(err)}`);
      throw err;
    }
  }

  /** The first event at index >= from matching pred (delivered already or later). */
  waitEvent(pred: (e: TEvent) => boolean, from: number, what: string, timeoutMs = 20_000): Promise<TEvent> {
    const find = () => this.events.slice(from).find(pred);
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise<TEvent>((resolve, reject) => {
      const check = () => {
        const e = find();
        if (!e) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const msg = `${this.name}: no ${what} within ${timeoutMs} ms; last events ${JSON.stringify(this.events.slice(-6).map((e) => [e.seq, e.event, e.connId]))}`;
        this.failures.push(msg);
        reject(new Error(msg));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}

export interface EventCheck { missed: number[]; duplicated: number[]; unexpected: number[]; outOfOrder: number }

/**
 * A desktop's delivered events against the server's journal for its DN, over the window it was
 * registered (seq > registeredAtSeq up to the journal's end): missed = journal seqs it never got,
 * duplicated = seqs it got twice, unexpected = seqs it got that the journal does not have for its DN.
 */
export function checkDeskEvents(desk: SdkDesk, journal: { seq: number; dn: string; event: { event: string } }[]): EventCheck {
  const want = new Map<number, string>();
  for (const e of journal) if (e.dn === desk.dn && e.seq > desk.registeredAtSeq) want.set(e.seq, e.event.event);
  const got = new Set<number>();
  const duplicated: number[] = [];
  const unexpected: number[] = [];
  let outOfOrder = 0;
  let prev = 0;
  for (const e of desk.events) {
    const seq = e.seq!;
    if (seq <= prev) outOfOrder += 1;
    prev = Math.max(prev, seq);
    if (got.has(seq)) duplicated.push(seq);
    got.add(seq);
    if (want.get(seq) !== e.event) unexpected.push(seq);
  }
  const missed = [...want.keys()].filter((s) => !got.has(s));
  return { missed, duplicated, unexpected, outOfOrder };
}

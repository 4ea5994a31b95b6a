// The waiting callers of each ACD queue in FIFO order: a derived index over the replicated
// `queueEntries` (one entity per waiting caller, key its ConnID), maintained by applyDelta on every
// server and never replicated itself. Each entry carries its queue and its FIFO number (`order`, from
// the queue's replicated counter), so the primary and a backup, applying the same deltas or a
// snapshot in any order, hold the same lines. Enqueue, dequeue, offer set/clear and "the oldest
// caller not offered yet" cost O(1) or O(log n) with thousands waiting (a whole-queue array copied
// and replicated per change made a backlog O(n^2)).
import type { QueueEntry } from './api.js';

/** A value of `queueEntries` the index can place (applyDelta takes whatever a delta carries). */
export function isQueueEntry(v: unknown): v is QueueEntry {
  if (v === null || typeof v !== 'object') return false;
  const e = v as QueueEntry;
  return typeof e.queue === 'string' && typeof e.order === 'number' && Number.isFinite(e.order);
}

function hasOffer(e: QueueEntry): boolean {
  return e.offer !== undefined && e.offer !== null;
}

/** FIFO order: by `order`, then by key (equal orders exist only for a moment, e.g. while a rollback restores entries). */
function slotBefore(orderA: number, keyA: string, orderB: number, keyB: string): boolean {
  return orderA < orderB || (orderA === orderB && keyA < keyB);
}

/**
 * One queue's waiting callers. `members` holds the live entries by key; two orderings over it keep
 * stale slots (lazy deletion) and drop them when they reach the front or when they outnumber the
 * live ones:
 * - `fifo*` (from `fifoHead`): every member's (order, key), ascending: the queue as callers see it;
 * - `free*`: a min-heap of (order, key) of members without an offer: the next caller to offer.
 * Parallel arrays of numbers and strings, not an object per slot: 10,000 waiting callers are two
 * arrays for the garbage collector, not 10,000 small objects.
 * A slot counts while `members` holds an entry under its key with its order (and, in `free`, no offer).
 */
export class QueueLine {
  readonly members = new Map<string, QueueEntry>();
  private fifoOrders: number[] = [];
  private fifoKeys: string[] = [];
  private fifoHead = 0;
  private freeOrders: number[] = [];
  private freeKeys: string[] = [];

  get size(): number {
    return this.members.size;
  }

  /** The member under `key` changed in place (same order): no FIFO move. */
  update(key: string, old: QueueEntry, now: QueueEntry): void {
    this.members.set(key, now);
    if (!hasOffer(now) && hasOffer(old)) this.pushFree(now.order, key); // a free `old` left its slot, valid for `now`
  }

  add(key: string, e: QueueEntry): void {
    this.members.set(key, e);
    this.placeInFifo(key, e.order);
    if (!hasOffer(e)) this.pushFree(e.order, key);
    if (this.freeOrders.length > 2 * this.members.size + 64) this.rebuildFree();
  }

  remove(key: string): void {
    this.members.delete(key);
    this.dropStaleEnds();
    if (this.fifoOrders.length - this.fifoHead > 2 * this.members.size + 64) this.rebuildFifo();
  }

  /** The oldest caller without an offer in flight, or undefined. */
  firstFree(): [key: string, entry: QueueEntry] | undefined {
    while (this.freeOrders.length > 0) {
      const key = this.freeKeys[0]!;
      const e = this.members.get(key);
      if (e !== undefined && e.order === this.freeOrders[0] && !hasOffer(e)) return [key, e];
      this.popFree();
    }
    return undefined;
  }

  /** The waiting callers, oldest first. */
  *ordered(): IterableIterator<[key: string, entry: QueueEntry]> {
    for (let i = this.fifoHead; i < this.fifoOrders.length; i++) {
      const key = this.fifoKeys[i]!;
      const e = this.members.get(key);
      if (e !== undefined && e.order === this.fifoOrders[i]) yield [key, e];
    }
  }

  private valid(i: number): boolean {
    return this.members.get(this.fifoKeys[i]!)?.order === this.fifoOrders[i];
  }

  /** Appends (the usual case: the counter only grows) or inserts at the place of (order, key). */
  private placeInFifo(key: string, order: number): void {
    const n = this.fifoOrders.length;
    if (n === this.fifoHead || slotBefore(this.fifoOrders[n - 1]!, this.fifoKeys[n - 1]!, order, key)) {
      this.fifoOrders.push(order);
      this.fifoKeys.push(key);
      return;
    }
    let lo = this.fifoHead;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (slotBefore(this.fifoOrders[mid]!, this.fifoKeys[mid]!, order, key)) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && this.fifoOrders[lo] === order && this.fifoKeys[lo] === key) return; // its slot is there already (one per key and order)
    if (lo === this.fifoHead && lo > 0) {
      this.fifoHead--; // back at the front (a rollback): reuse a consumed slot
      this.fifoOrders[this.fifoHead] = order;
      this.fifoKeys[this.fifoHead] = key;
      return;
    }
    this.fifoOrders.splice(lo, 0, order);
    this.fifoKeys.splice(lo, 0, key);
  }

  private dropStaleEnds(): void {
    while (this.fifoHead < this.fifoOrders.length && !this.valid(this.fifoHead)) this.fifoHead++;
    while (this.fifoOrders.length > this.fifoHead && !this.valid(this.fifoOrders.length - 1)) {
      this.fifoOrders.pop();
      this.fifoKeys.pop();
    }
    if (this.fifoHead === this.fifoOrders.length) {
      this.fifoOrders = [];
      this.fifoKeys = [];
      this.fifoHead = 0;
    } else if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifoOrders.length) {
      this.fifoOrders = this.fifoOrders.slice(this.fifoHead);
      this.fifoKeys = this.fifoKeys.slice(this.fifoHead);
      this.fifoHead = 0;
    }
  }

  private rebuildFifo(): void {
    const orders: number[] = [];
    const keys: string[] = [];
    for (const [key, e] of this.ordered()) {
      orders.push(e.order);
      keys.push(key);
    }
    this.fifoOrders = orders;
    this.fifoKeys = keys;
    this.fifoHead = 0;
  }

  private rebuildFree(): void {
    this.freeOrders = [];
    this.freeKeys = [];
    for (const [key, e] of this.members) if (!hasOffer(e)) this.pushFree(e.order, key);
  }

  private before(i: number, j: number): boolean {
    return slotBefore(this.freeOrders[i]!, this.freeKeys[i]!, this.freeOrders[j]!, this.freeKeys[j]!);
  }

  private swap(i: number, j: number): void {
    const o = this.freeOrders[i]!;
    const k = this.freeKeys[i]!;
    this.freeOrders[i] = this.freeOrders[j]!;
    this.freeKeys[i] = this.freeKeys[j]!;
    this.freeOrders[j] = o;
    this.freeKeys[j] = k;
  }

  private pushFree(order: number, key: string): void {
    let i = this.freeOrders.length;
    this.freeOrders.push(order);
    this.freeKeys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private popFree(): void {
    const last = this.freeOrders.length - 1;
    this.swap(0, last);
    this.freeOrders.pop();
    this.freeKeys.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.before(r, l) ? r : l;
      if (!this.before(c, i)) break;
      this.swap(c, i);
      i = c;
    }
  }
}

/** Queue DN -> its line (present while someone waits), and agent DN -> offers in flight to it. */
export interface QueueIndex {
  lines: Map<string, QueueLine>;
  /** Entries whose offer names the agent (1 normally: the agent is reserved for it). */
  offersTo: Map<string, number>;
}

export function createQueueIndex(): QueueIndex {
  return { lines: new Map(), offersTo: new Map() };
}

/** The entry stored under `key` changed from `old` to `now` (either may be undefined). */
export function reindexQueueEntry(index: QueueIndex, key: string, old: unknown, now: unknown): void {
  if (isQueueEntry(old) && isQueueEntry(now) && old.queue === now.queue && old.order === now.order) {
    const line = index.lines.get(old.queue);
    if (line?.members.get(key) === old) {
      line.update(key, old, now);
      countOffer(index, old, -1);
      countOffer(index, now, +1);
      return;
    }
  }
  if (isQueueEntry(old)) {
    const line = index.lines.get(old.queue);
    if (line?.members.get(key) === old) {
      line.remove(key);
      if (line.size === 0) index.lines.delete(old.queue);
    }
    countOffer(index, old, -1);
  }
  if (isQueueEntry(now)) {
    let line = index.lines.get(now.queue);
    if (!line) index.lines.set(now.queue, (line = new QueueLine()));
    line.add(key, now);
    countOffer(index, now, +1);
  }
}

function countOffer(index: QueueIndex, e: QueueEntry, by: number): void {
  const dn = e.offer?.agentDn;
  if (typeof dn !== 'string') return;
  const n = (index.offersTo.get(dn) ?? 0) + by;
  if (n > 0) index.offersTo.set(dn, n);
  else index.offersTo.delete(dn);
}

// Derived indexes over the replicated state, maintained by applyDelta on every server (primary and
// backup alike) and never replicated themselves: the Ready agents of each queue in ACD order, and the
// earliest time each timed collection needs a tick. They exist so that the work per input does not
// grow with the number of agents, calls or pending requests (a full scan per input was the T-Server's
// top cost under load). canonicalState leaves them out; snapshots rebuild them through applyDelta.
import type { Agent, CollectionName, PendingRequest, QueueEntry, RouteRequest } from './api.js';

/** A route request with no default target waits for a router for ever (routing.ts). */
const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Min-heap of (time, key, value) with lazy deletion: an entry counts only while `value` is still the
 * object stored under `key` (values are immutable; every change is a new object). Stale entries are
 * dropped when they reach the top, and the heap is rebuilt when they outnumber the live ones.
 */
export class LazyMinHeap<V> {
  private times: number[] = [];
  private keys: string[] = [];
  private values: V[] = [];

  constructor(private readonly timeOf: (v: V) => number | undefined) {}

  get length(): number { return this.times.length; }

  /** Records `value`, already stored under `key` in `live`, when it has a time. */
  offer(key: string, value: V, live: ReadonlyMap<string, V>): void {
    if (value === null || typeof value !== 'object') return;
    const t = this.timeOf(value);
    if (t === undefined) return;
    if (this.times.length > 2 * live.size + 64) this.rebuild(live); // includes `value`
    else this.push(t, key, value);
  }

  /** The earliest time of a live entry (dropping stale tops), or undefined. */
  min(live: ReadonlyMap<string, V>): number | undefined {
    while (this.times.length > 0) {
      if (live.get(this.keys[0]!) === this.values[0]) return this.times[0];
      this.pop();
    }
    return undefined;
  }

  /**
   * The live entries whose time is at most `until`, earliest first (then by key). Reads only the
   * heap's nodes at or before `until` (a node after it has only later ones below it) and changes
   * nothing: a tick finds what is due without scanning the whole collection.
   */
  due(live: ReadonlyMap<string, V>, until: number): [key: string, value: V][] {
    if (this.times.length === 0 || this.times[0]! > until) return []; // the usual tick: nothing of this kind due
    const found: { t: number; key: string; value: V }[] = [];
    const seen = new Set<string>();
    const stack = [0];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (i >= this.times.length || this.times[i]! > until) continue;
      const key = this.keys[i]!;
      if (live.get(key) === this.values[i] && !seen.has(key)) {
        seen.add(key);
        found.push({ t: this.times[i]!, key, value: this.values[i]! });
      }
      stack.push(2 * i + 1, 2 * i + 2);
    }
    found.sort((a, b) => a.t - b.t || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return found.map((f) => [f.key, f.value]);
  }

  clear(): void {
    this.times = [];
    this.keys = [];
    this.values = [];
  }

  private rebuild(live: ReadonlyMap<string, V>): void {
    this.clear();
    for (const [key, value] of live) {
      if (value === null || typeof value !== 'object') continue;
      const t = this.timeOf(value);
      if (t !== undefined) this.push(t, key, value);
    }
  }

  private push(t: number, key: string, value: V): void {
    let i = this.times.length;
    this.times.push(t);
    this.keys.push(key);
    this.values.push(value);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.times[p]! <= t) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, t, key, value);
  }

  private pop(): void {
    const last = this.times.length - 1;
    const t = this.times[last]!;
    const key = this.keys[last]!;
    const value = this.values[last]!;
    this.times.pop();
    this.keys.pop();
    this.values.pop();
    if (last === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.times[r]! < this.times[l]! ? r : l;
      if (this.times[c]! >= t) break;
      this.move(c, i);
      i = c;
    }
    this.set(i, t, key, value);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.keys[to] = this.keys[from]!;
    this.values[to] = this.values[from]!;
  }

  private set(i: number, t: number, key: string, value: V): void {
    this.times[i] = t;
    this.keys[i] = key;
    this.values[i] = value;
  }
}

/** When each timed collection next needs a tick; nextDeadline adds the configured timeouts. */
export interface Timers {
  /** RouteRequest.deadline (absolute). */
  routes: LazyMinHeap<RouteRequest>;
  /** Agent.wrapUpUntil of agents in AfterCallWork (absolute). */
  wrapUps: LazyMinHeap<Agent>;
  /** QueueEntry.offer.at of the callers with an offer in flight (+ pending timeout). */
  offers: LazyMinHeap<QueueEntry>;
  /** PendingRequest.since (+ pending timeout). */
  pending: LazyMinHeap<PendingRequest>;
}

/** A time, or undefined for anything else (applyDelta takes whatever value a delta carries). */
function time(t: unknown): number | undefined {
  return typeof t === 'number' ? t : undefined;
}

export function createTimers(): Timers {
  return {
    routes: new LazyMinHeap<RouteRequest>((rr) => (rr.deadline !== NEVER ? time(rr.deadline) : undefined)),
    wrapUps: new LazyMinHeap<Agent>((a) => (a.state === 'AfterCallWork' ? time(a.wrapUpUntil) : undefined)),
    offers: new LazyMinHeap<QueueEntry>((e) => (e.offer ? time(e.offer.at) : undefined)),
    pending: new LazyMinHeap<PendingRequest>((p) => time(p.since)),
  };
}

/** Ready agents per queue, longest idle first: (idleSince, dn) ascending, as the ACD picks them. */
export type ReadyIndex = Map<string, Agent[]>;

function before(a: Agent, b: Agent): boolean {
  return a.idleSince < b.idleSince || (a.idleSince === b.idleSince && a.dn < b.dn);
}

function isReadyInQueue(a: Agent | undefined): a is Agent {
  return a !== undefined && a !== null && a.state === 'Ready' && typeof a.queue === 'string' && a.queue !== '';
}

/** First index whose agent does not come before `a`. */
function position(list: readonly Agent[], a: Agent): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid]!, a)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The agent stored under a DN changed from `old` to `now` (either may be undefined). */
export function reindexAgent(index: ReadyIndex, old: Agent | undefined, now: Agent | undefined): void {
  if (isReadyInQueue(old)) {
    const list = index.get(old.queue);
    if (list) {
      let i = position(list, old);
      while (i < list.length && list[i] !== old) i++;
      if (i < list.length) list.splice(i, 1);
      if (list.length === 0) index.delete(old.queue);
    }
  }
  if (isReadyInQueue(now)) {
    let list = index.get(now.queue);
    if (!list) index.set(now.queue, (list = []));
    list.splice(position(list, now), 0, now);
  }
}

/** Keeps the timers in step with a put (the new value) into a timed collection. */
export function offerTimer(timers: Timers, coll: CollectionName, key: string, value: unknown, live: ReadonlyMap<string, unknown>): void {
  switch (coll) {
    case 'routeRequests': return timers.routes.offer(key, value as RouteRequest, live as ReadonlyMap<string, RouteRequest>);
    case 'agents': return timers.wrapUps.offer(key, value as Agent, live as ReadonlyMap<string, Agent>);
    case 'queueEntries': return timers.offers.offer(key, value as QueueEntry, live as ReadonlyMap<string, QueueEntry>);
    case 'pending': return timers.pending.offer(key, value as PendingRequest, live as ReadonlyMap<string, PendingRequest>);
    default: return undefined;
  }
}

// The replicated state and the one function that changes it. The primary applies each delta as its
// handlers compute it; the backup applies the same deltas in the same order; so the two states are
// equal, and canonicalState() proves it.
import type { Agent, Call, CollectionName, CoreState, DedupRecord, Delta, JournalEntry } from './api.js';
import { createTimers, offerTimer, reindexAgent } from './derived.js';
import { createQueueIndex, isQueueEntry, reindexQueueEntry } from './queue-index.js';
import { createJournalDnIndex, indexAppended, indexTrimmed } from './journal-index.js';

export function createState(): CoreState {
  return {
    seq: 0,
    connIdCounter: 0,
    appliedSwitchSeq: 0,
    devices: new Map(),
    calls: new Map(),
    agents: new Map(),
    registrations: new Map(),
    routeRequests: new Map(),
    queues: new Map(),
    queueEntries: new Map(),
    pending: new Map(),
    dedup: new Map(),
    journal: [],
    bySwitchCall: new Map(),
    callsByDN: new Map(),
    journalByCommand: new Map(),
    journalByDn: createJournalDnIndex(),
    dedupOrder: { keys: [], head: 0 },
    queueIndex: createQueueIndex(),
    readyByQueue: new Map(),
    timers: createTimers(),
    version: 0,
  };
}

/** Mutates `state` (its maps and journal); the values put are never mutated afterwards. */
export function applyDelta(state: CoreState, d: Delta): void {
  state.version++;
  switch (d.op) {
    case 'put': {
      const map = collection(state, d.coll);
      const old = map.get(d.key);
      // A call is put ~10 times in its life, mostly with the same parties: its DN index entries stand.
      const reindex = d.coll === 'calls' && !sameParties(old as Call | undefined, d.value as Call);
      if (reindex) unindexCall(state, old as Call | undefined);
      else if (d.coll === 'agents') reindexAgent(state.readyByQueue, old as Agent | undefined, d.value as Agent);
      else if (d.coll === 'queueEntries') reindexQueueEntry(state.queueIndex, d.key, old, d.value);
      else if (d.coll === 'dedup' && old === undefined && !map.has(d.key)) state.dedupOrder.keys.push(d.key);
      map.set(d.key, d.value);
      if (reindex) indexCall(state, d.value as Call);
      else if (d.coll === 'calls') return;
      else offerTimer(state.timers, d.coll, d.key, d.value, map);
      return;
    }
    case 'del': {
      const map = collection(state, d.coll);
      if (d.coll === 'calls') unindexCall(state, map.get(d.key) as Call | undefined);
      else if (d.coll === 'agents') reindexAgent(state.readyByQueue, map.get(d.key) as Agent | undefined, undefined);
      else if (d.coll === 'queueEntries') reindexQueueEntry(state.queueIndex, d.key, map.get(d.key), undefined);
      map.delete(d.key);
      if (d.coll === 'dedup') compactDedupOrder(state);
      return;
    }
    case 'counters':
      state.seq = d.seq;
      state.connIdCounter = d.connIdCounter;
      state.appliedSwitchSeq = d.appliedSwitchSeq;
      return;
    case 'journal': {
      state.journal.push(d.entry);
      indexAppended(state.journalByDn, d.entry);
      const id = d.entry.commandId;
      if (id) {
        const list = state.journalByCommand.get(id);
        if (list) list.push(d.entry);
        else state.journalByCommand.set(id, [d.entry]);
      }
      return;
    }
    case 'journalTrim': {
      const n = firstIndexAfter(state.journal, d.upToSeq);
      for (let i = 0; i < n; i++) {
        indexTrimmed(state.journalByDn, state.journal[i]);
        const id = state.journal[i].commandId;
        const list = id ? state.journalByCommand.get(id) : undefined;
        if (!list) continue;
        while (list.length > 0 && list[0].seq <= d.upToSeq) list.shift();
        if (list.length === 0) state.journalByCommand.delete(id!);
      }
      if (n > 0) state.journal.splice(0, n);
      return;
    }
    default: {
      const never: never = d;
      throw new Error(`unknown delta ${JSON.stringify(never)}`);
    }
  }
}

/** The oldest de-dup record and its key (O(1) amortized: keys deleted since are skipped once). */
export function oldestDedup(state: CoreState): { key: string; record: DedupRecord } | undefined {
  const o = state.dedupOrder;
  while (o.head < o.keys.length) {
    const key = o.keys[o.head]!;
    const record = state.dedup.get(key);
    if (record !== undefined) return { key, record };
    o.head++;
  }
  if (o.head > 0) {
    o.keys = [];
    o.head = 0;
  }
  return undefined;
}

/**
 * After a de-dup record was deleted: skips the deleted keys at the front (records are trimmed oldest
 * first, so the head keeps up) and drops the consumed head once it is half the array. Done here, in
 * applyDelta, so a backup (which never trims by itself: it applies the primary's deletions) does not
 * keep every key it ever saw: it did, ~50 B per request for the life of the process.
 */
function compactDedupOrder(state: CoreState): void {
  const o = state.dedupOrder;
  while (o.head < o.keys.length && !state.dedup.has(o.keys[o.head]!)) o.head++;
  if (o.head > 1024 && o.head * 2 > o.keys.length) {
    o.keys = o.keys.slice(o.head);
    o.head = 0;
  }
}

/** Index of the first journal entry with seq > afterSeq (journal.length when none). */
export function firstIndexAfter(journal: readonly JournalEntry[], afterSeq: number): number {
  let lo = 0;
  let hi = journal.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (journal[mid].seq <= afterSeq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The Map of a collection. A switch, not `state[coll]`: a keyed load with a different key per call is
 * megamorphic and was a good part of applyDelta's own time (called for every delta, twice on a pair).
 */
function collection(state: CoreState, coll: CollectionName): Map<string, unknown> {
  switch (coll) {
    case 'calls': return state.calls;
    case 'dedup': return state.dedup;
    case 'agents': return state.agents;
    case 'pending': return state.pending;
    case 'queueEntries': return state.queueEntries;
    case 'routeRequests': return state.routeRequests;
    case 'queues': return state.queues;
    case 'registrations': return state.registrations;
    case 'devices': return state.devices;
    default: {
      const never: never = coll;
      throw new Error(`unknown collection ${String(never)}`);
    }
  }
}

function indexCall(state: CoreState, call: Call): void {
  state.bySwitchCall.set(call.switchCallId, call.connId);
  for (const p of call.parties) {
    let set = state.callsByDN.get(p.dn);
    if (!set) state.callsByDN.set(p.dn, (set = new Set()));
    set.add(call.connId);
  }
}

/** Same switch call and the same party DNs in the same order: indexCall would change nothing. */
function sameParties(a: Call | undefined, b: Call): boolean {
  if (!a || a.switchCallId !== b.switchCallId || a.connId !== b.connId) return false;
  if (a.parties === b.parties) return true;
  if (a.parties.length !== b.parties.length) return false;
  for (let i = 0; i < a.parties.length; i++) if (a.parties[i]!.dn !== b.parties[i]!.dn) return false;
  return true;
}

function unindexCall(state: CoreState, call: Call | undefined): void {
  if (!call) return;
  if (state.bySwitchCall.get(call.switchCallId) === call.connId) state.bySwitchCall.delete(call.switchCallId);
  for (const p of call.parties) {
    const set = state.callsByDN.get(p.dn);
    if (!set) continue;
    set.delete(call.connId);
    if (set.size === 0) state.callsByDN.delete(p.dn);
  }
}

const COLLECTIONS: CollectionName[] = ['devices', 'calls', 'agents', 'registrations', 'routeRequests', 'queues', 'queueEntries', 'pending', 'dedup'];

/** The deltas that rebuild `state` from createState() (full resync of a backup). */
export function snapshotDeltas(state: CoreState): Delta[] {
  const out: Delta[] = [{ op: 'counters', seq: state.seq, connIdCounter: state.connIdCounter, appliedSwitchSeq: state.appliedSwitchSeq }];
  for (const coll of COLLECTIONS) {
    for (const [key, value] of collection(state, coll)) out.push({ op: 'put', coll, key, value });
  }
  for (const entry of state.journal) out.push({ op: 'journal', entry });
  return out;
}

/**
 * Deterministic JSON of the replicated part of the state (derived indexes left out): equal states,
 * equal strings. Queue entries are shown inside their queue, oldest first (`queues[dn].waiting`, as
 * an operator reads a queue in /debug/state), ordered from their own `order` fields, not the index.
 */
export function canonicalState(state: CoreState): string {
  const obj: Record<string, unknown> = {
    seq: state.seq,
    connIdCounter: state.connIdCounter,
    appliedSwitchSeq: state.appliedSwitchSeq,
    journal: state.journal,
  };
  for (const coll of COLLECTIONS) {
    if (coll === 'queues' || coll === 'queueEntries') continue;
    obj[coll] = Object.fromEntries([...collection(state, coll)].sort(([a], [b]) => compare(a, b)));
  }
  obj.queues = canonicalQueues(state);
  return canonicalJson(obj);
}

/**
 * The journal after `afterSeq` with the state's seq and the oldest seq still kept: a tail an operator
 * (or the chaos drill's checker) can poll cheaply, where canonicalState serializes everything.
 */
export function journalTail(state: CoreState, afterSeq: number): string {
  const journal = state.journal.slice(firstIndexAfter(state.journal, afterSeq));
  return JSON.stringify({ seq: state.seq, oldestSeq: state.journal.length ? state.journal[0].seq : state.seq + 1, journal });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every queue record with its waiting callers; an entry whose key is not its ConnID (never written by the core) keeps its key. */
function canonicalQueues(state: CoreState): Record<string, unknown> {
  const waiting = new Map<string, [string, unknown][]>();
  for (const [key, e] of state.queueEntries as Map<string, unknown>) {
    const dn = isQueueEntry(e) ? e.queue : '';
    let list = waiting.get(dn);
    if (!list) waiting.set(dn, (list = []));
    list.push([key, e]);
  }
  const out: Record<string, unknown> = {};
  for (const dn of [...new Set([...state.queues.keys(), ...waiting.keys()])].sort(compare)) {
    const list = (waiting.get(dn) ?? []).sort(([ka, a], [kb, b]) => orderOf(a) - orderOf(b) || compare(ka, kb));
    const q = state.queues.get(dn) as unknown;
    out[dn] = {
      ...(q !== null && typeof q === 'object' ? q : { value: q }),
      waiting: list.map(([key, e]) => (isQueueEntry(e) && e.connId === key ? e : { key, entry: e })),
    };
  }
  return out;
}

function orderOf(e: unknown): number {
  return isQueueEntry(e) ? e.order : Number.MAX_SAFE_INTEGER;
}

/** JSON with object keys sorted and undefined members dropped (as JSON.stringify drops them). */
export function canonicalJson(value: unknown): string {
  const fast = canonical(value);
  return fast === SLOW ? slowCanonicalJson(value) : (fast as string);
}

/** JSON.stringify with every object's keys sorted: the definition (and the fallback of canonical()). */
function slowCanonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/** canonical() met something it does not render itself: slowCanonicalJson renders the whole value. */
const SLOW = Symbol('slow');

/**
 * The same text as slowCanonicalJson without building a sorted copy of every object (requestFingerprint
 * runs it per request): plain objects and arrays of strings, finite numbers, booleans, null and
 * undefined. Anything else (toJSON, integer-like keys, whose order JSON.stringify does not take from
 * insertion, non-finite numbers, bigint) answers SLOW. undefined means "left out" as in JSON.
 */
function canonical(v: unknown): string | undefined | typeof SLOW {
  switch (typeof v) {
    case 'string': return JSON.stringify(v);
    case 'number': return Number.isFinite(v) ? JSON.stringify(v) : SLOW;
    case 'boolean': return v ? 'true' : 'false';
    case 'undefined': case 'function': case 'symbol': return undefined;
    case 'object': {
      if (v === null) return 'null';
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function' || v instanceof String || v instanceof Number || v instanceof Boolean) return SLOW;
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const x = canonical(v[i]);
          if (x === SLOW) return SLOW;
          out += (i > 0 ? ',' : '') + (x === undefined ? 'null' : x);
        }
        return `${out}]`;
      }
      const keys = Object.keys(v).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const c = k.charCodeAt(0);
        if (c >= 48 && c <= 57) return SLOW; // may be an array index: JSON.stringify orders those first
        const x = canonical((v as Record<string, unknown>)[k]);
        if (x === SLOW) return SLOW;
        if (x === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(k)}:${x}`;
        first = false;
      }
      return `${out}}`;
    }
    default: return SLOW;
  }
}

const digests = new WeakMap<CoreState, { version: number; digest: string }>();

/**
 * A short digest of canonicalState (FNV-1a, 32 bits, hex): cheap to log and compare, not to compute
 * (it serializes the whole state, ~1 s at 100k journal events), so it is kept per state version.
 */
export function stateDigest(state: CoreState): string {
  const cached = digests.get(state);
  if (cached && cached.version === state.version) return cached.digest;
  const digest = fnv1a(canonicalState(state));
  digests.set(state, { version: state.version, digest });
  return digest;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

// Delta (src/core/api.ts) <-> sync.proto Delta. Routing fields are typed protobuf fields; entity
// values are JSON bytes, so the TypeScript entity types stay their one definition and a new field on
// a Call needs no proto change. The collection table is a Record over CollectionName: adding a
// collection to the core without adding it here fails to compile.
import type { CollectionName, Delta, JournalEntry } from '../core/api.js';
import { sy } from '../common/sync-proto.js';

const COLL_TO_WIRE: Record<CollectionName, sy.Collection> = {
  devices: sy.Collection.DEVICES,
  calls: sy.Collection.CALLS,
  agents: sy.Collection.AGENTS,
  registrations: sy.Collection.REGISTRATIONS,
  routeRequests: sy.Collection.ROUTE_REQUESTS,
  queues: sy.Collection.QUEUES,
  pending: sy.Collection.PENDING,
  dedup: sy.Collection.DEDUP,
};
const WIRE_TO_COLL = new Map<number, CollectionName>(
  (Object.entries(COLL_TO_WIRE) as [CollectionName, sy.Collection][]).map(([k, v]) => [v, k]),
);

/** A delta the backup cannot apply: a bug or version skew on the primary, never silently skipped. */
export class BadDeltaError extends Error {
  readonly code = 'BadDelta';
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');
}

export function deltaToWire(d: Delta): sy.Delta.$Properties {
  switch (d.op) {
    case 'put': return { op: sy.Op.PUT, coll: COLL_TO_WIRE[d.coll], key: d.key, value: json(d.value) };
    case 'del': return { op: sy.Op.DEL, coll: COLL_TO_WIRE[d.coll], key: d.key };
    case 'counters': return { op: sy.Op.COUNTERS, seq: d.seq, connIdCounter: d.connIdCounter, appliedSwitchSeq: d.appliedSwitchSeq };
    case 'journal': return { op: sy.Op.JOURNAL, value: json(d.entry) };
    case 'journalTrim': return { op: sy.Op.JOURNAL_TRIM, upToSeq: d.upToSeq };
    default: {
      const never: never = d;
      throw new BadDeltaError(`unknown delta op ${(never as { op: string }).op}`);
    }
  }
}

/** Rough encoded size, for chunking and backlog accounting without encoding twice. */
export function wireSize(w: sy.Delta.$Properties): number {
  return 24 + (w.key?.length ?? 0) + (w.value?.length ?? 0);
}

function coll(w: sy.Delta): CollectionName {
  const c = WIRE_TO_COLL.get(w.coll);
  if (!c) throw new BadDeltaError(`delta with unknown collection ${w.coll}`);
  return c;
}

function parse(w: sy.Delta): unknown {
  try {
    return JSON.parse(Buffer.from(w.value.buffer, w.value.byteOffset, w.value.byteLength).toString('utf8'));
  } catch (err) {
    throw new BadDeltaError(`delta value is not JSON: ${(err as Error).message}`);
  }
}

export function deltaFromWire(w: sy.Delta): Delta {
  switch (w.op) {
    case sy.Op.PUT: return { op: 'put', coll: coll(w), key: w.key, value: parse(w) };
    case sy.Op.DEL: return { op: 'del', coll: coll(w), key: w.key };
    case sy.Op.COUNTERS: return { op: 'counters', seq: w.seq, connIdCounter: w.connIdCounter, appliedSwitchSeq: w.appliedSwitchSeq };
    case sy.Op.JOURNAL: return { op: 'journal', entry: parse(w) as JournalEntry };
    case sy.Op.JOURNAL_TRIM: return { op: 'journalTrim', upToSeq: w.upToSeq };
    default: throw new BadDeltaError(`delta with unknown op ${w.op}`);
  }
}

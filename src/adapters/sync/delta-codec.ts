// Delta (src/core/api.ts) <-> sync.proto Delta. Routing fields are typed protobuf fields; entity
// values are JSON bytes, so the TypeScript entity types stay their one definition and a new field on
// a Call needs no proto change. The collection table is a Record over CollectionName: adding a
// collection to the core without adding it here fails to compile.
import type { CollectionName, Delta, JournalEntry } from '../../core/api.js';
import { sy } from '../../wire/sync-proto.js';
import { entryText } from '../../core/journal-text.js';

const COLL_TO_WIRE: Record<CollectionName, sy.Collection> = {
  devices: sy.Collection.DEVICES,
  calls: sy.Collection.CALLS,
  agents: sy.Collection.AGENTS,
  registrations: sy.Collection.REGISTRATIONS,
  routeRequests: sy.Collection.ROUTE_REQUESTS,
  queues: sy.Collection.QUEUES,
  queueEntries: sy.Collection.QUEUE_ENTRIES,
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

/**
 * PrimaryToBackup{deltaBatch} encoded straight from the deltas: the same bytes as
 * encodePrimary({ deltaBatch: { firstOffset, lastOffset, deltas: deltas.map(deltaToWire) } }) (a test
 * holds it to that) in one buffer, without a wire object, a Buffer per value and protobufjs's writer
 * (which cost as much as the JSON itself). Two passes: sizes, then bytes. Proto3 leaves out default
 * values, so does this. Field numbers: proto/sync.proto (PrimaryToBackup.delta_batch = 3; DeltaBatch
 * first_offset 1, last_offset 2, deltas 3; Delta op 1, coll 2, key 3, value 4, seq 5,
 * conn_id_counter 6, applied_switch_seq 7, up_to_seq 8).
 */
export function encodeDeltaBatch(firstOffset: number, lastOffset: number, deltas: readonly Delta[]): Buffer {
  const texts: string[] = [];
  const textBytes: number[] = [];
  const sizes: number[] = [];
  let batchSize = (firstOffset !== 0 ? 1 + varintSize(firstOffset) : 0) + (lastOffset !== 0 ? 1 + varintSize(lastOffset) : 0);
  for (const d of deltas) {
    let size = 2; // op
    let text = '';
    let bytes = 0;
    switch (d.op) {
      case 'put':
      case 'del':
        size += 2 + (d.key !== '' ? lenSize(Buffer.byteLength(d.key)) : 0);
        if (d.op === 'put') size += lenSize((bytes = Buffer.byteLength((text = JSON.stringify(d.value) ?? 'null'))));
        break;
      case 'counters':
        size += (d.seq !== 0 ? 1 + varintSize(d.seq) : 0) + (d.connIdCounter !== 0 ? 1 + varintSize(d.connIdCounter) : 0) + (d.appliedSwitchSeq !== 0 ? 1 + varintSize(d.appliedSwitchSeq) : 0);
        break;
      case 'journal':
        // The entry's event text is made once and sent to the desktops too (journal-text.ts).
        size += lenSize((bytes = Buffer.byteLength((text = entryText(d.entry)))));
        break;
      case 'journalTrim':
        size += d.upToSeq !== 0 ? 1 + varintSize(d.upToSeq) : 0;
        break;
      default: {
        const never: never = d;
        throw new BadDeltaError(`unknown delta op ${(never as { op: string }).op}`);
      }
    }
    texts.push(text);
    textBytes.push(bytes);
    sizes.push(size);
    batchSize += lenSize(size);
  }
  // Not from the shared 8 KiB pool: the backlog keeps this frame for minutes, and a pooled slice would
  // pin its whole slab (with whatever else was allocated there): ~4.8 KiB retained per 0.6 KiB frame,
  // so the backlog's byte bound never bound (docs/capacity.md).
  const buf = Buffer.allocUnsafeSlow(lenSize(batchSize));
  let pos = writeVarint(buf, writeVarint(buf, 0, 26), batchSize);
  if (firstOffset !== 0) pos = writeVarint(buf, writeVarint(buf, pos, 8), firstOffset);
  if (lastOffset !== 0) pos = writeVarint(buf, writeVarint(buf, pos, 16), lastOffset);
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i]!;
    pos = writeVarint(buf, writeVarint(buf, pos, 26), sizes[i]!);
    buf[pos++] = 8;
    switch (d.op) {
      case 'put':
      case 'del':
        buf[pos++] = d.op === 'put' ? sy.Op.PUT : sy.Op.DEL;
        buf[pos++] = 16;
        buf[pos++] = COLL_TO_WIRE[d.coll];
        if (d.key !== '') pos = writeText(buf, pos, 26, d.key, Buffer.byteLength(d.key));
        if (d.op === 'put') pos = writeText(buf, pos, 34, texts[i]!, textBytes[i]!);
        break;
      case 'counters':
        buf[pos++] = sy.Op.COUNTERS;
        if (d.seq !== 0) pos = writeVarint(buf, writeVarint(buf, pos, 40), d.seq);
        if (d.connIdCounter !== 0) pos = writeVarint(buf, writeVarint(buf, pos, 48), d.connIdCounter);
        if (d.appliedSwitchSeq !== 0) pos = writeVarint(buf, writeVarint(buf, pos, 56), d.appliedSwitchSeq);
        break;
      case 'journal':
        buf[pos++] = sy.Op.JOURNAL;
        pos = writeText(buf, pos, 34, texts[i]!, textBytes[i]!);
        break;
      case 'journalTrim':
        buf[pos++] = sy.Op.JOURNAL_TRIM;
        if (d.upToSeq !== 0) pos = writeVarint(buf, writeVarint(buf, pos, 64), d.upToSeq);
        break;
    }
  }
  if (pos !== buf.length) throw new Error(`encodeDeltaBatch: wrote ${pos} of ${buf.length} bytes`);
  return buf;
}

/** Bytes of a varint (non-negative integer up to 2^53). */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of a length-delimited field of `len` bytes: tag, length, payload (tags here are one byte). */
function lenSize(len: number): number {
  return 1 + varintSize(len) + len;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function writeText(buf: Buffer, pos: number, tag: number, text: string, len: number): number {
  pos = writeVarint(buf, writeVarint(buf, pos, tag), len);
  return pos + buf.write(text, pos, len, 'utf8');
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

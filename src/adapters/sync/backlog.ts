// The primary's bounded backlog of recent delta batches, each kept as the encoded frame that went to
// the live stream. A backup that comes back with (replicationId, offset) still covered here resumes
// with a partial resync (the frames after its offset); anything else gets a full snapshot.
import type { EncodedFrame } from '../../wire/sync-service.js';

export interface BacklogEntry {
  firstOffset: number;
  lastOffset: number;
  frame: EncodedFrame;
  /** performance.now() at publish: for the lag in ms. */
  publishedAt: number;
}

export interface BacklogLimits {
  /** Keep at most this many batches. */
  maxBatches: number;
  /** Keep at most this many bytes of encoded batches (the newest batch is always kept). */
  maxBytes: number;
}

/** ~25 s of history at 1,000 calls/s (a sync blip resyncs partially); the memory budget is in docs/capacity.md. */
export const DEFAULT_BACKLOG: BacklogLimits = { maxBatches: 50_000, maxBytes: 16 * 1024 * 1024 };

export class Backlog {
  private entries: BacklogEntry[] = [];
  private head = 0; // entries before head are trimmed (compacted lazily)
  private totalBytes = 0;
  /** Offset just before the oldest kept batch: a backup at `base` can still continue. */
  private base: number;
  private end: number;

  constructor(private readonly limits: BacklogLimits, startOffset: number) {
    if (!(limits.maxBatches >= 1) || !(limits.maxBytes >= 1)) throw new Error('backlog limits must be at least 1 batch and 1 byte');
    this.base = this.end = startOffset;
  }

  /** Appends the next batch (contiguous offsets) and trims the oldest beyond the limits. */
  append(e: BacklogEntry): void {
    if (e.firstOffset !== this.end + 1 || e.lastOffset < e.firstOffset) {
      throw new Error(`backlog: batch ${e.firstOffset}..${e.lastOffset} does not follow offset ${this.end}`);
    }
    this.entries.push(e);
    this.totalBytes += e.frame.bytes.length;
    this.end = e.lastOffset;
    while (this.size > 1 && (this.size > this.limits.maxBatches || this.totalBytes > this.limits.maxBytes)) {
      const old = this.entries[this.head++]!;
      this.totalBytes -= old.frame.bytes.length;
      this.base = old.lastOffset;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** True when every delta after `offset` is still here, from a batch boundary (or `offset` is the newest). */
  canContinueFrom(offset: number): boolean {
    return offset === this.end || (offset >= this.base && offset < this.end && this.indexAfter(offset) >= 0);
  }

  /** The batch that starts right after `offset`; undefined when none yet. Throws when trimmed away. */
  batchAfter(offset: number): BacklogEntry | undefined {
    if (offset === this.end) return undefined;
    const i = offset >= this.base && offset < this.end ? this.indexAfter(offset) : -1;
    // Mid-batch offsets cannot happen (a backup applies and acks whole batches): treated as lost.
    if (i < 0) throw new BacklogOverflowError(offset, this.base, this.end);
    return this.entries[i];
  }

  private indexAfter(offset: number): number {
    let lo = this.head;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const first = this.entries[mid]!.firstOffset;
      if (first === offset + 1) return mid;
      if (first <= offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** publishedAt of the oldest batch after `offset` (for the lag in ms), if any. */
  publishedAfter(offset: number): number | undefined {
    try { return this.batchAfter(offset)?.publishedAt; } catch { return undefined; }
  }

  get size(): number { return this.entries.length - this.head; }
  get bytes(): number { return this.totalBytes; }
  get startOffset(): number { return this.base; }
  get endOffset(): number { return this.end; }
}

export class BacklogOverflowError extends Error {
  readonly code = 'ResyncOverflow';
  constructor(readonly offset: number, readonly base: number, readonly end: number) {
    super(`offset ${offset} is no longer in the backlog (holds ${base}..${end}): the backup needs a full resync; raise sync.backlog limits if this repeats`);
  }
}

export type ResyncDecision =
  | { mode: 'partial'; fromOffset: number }
  | { mode: 'full'; reason: 'new-backup' | 'other-replication' | 'offset-not-in-backlog' };

/** A predecessor's replication this primary continues (after a promotion): PSYNC2-style. */
export interface InheritedReplication { replicationId: string; offset: number }

/**
 * Partial when the backup followed this replication (or the one this primary continued after its
 * promotion, up to the promotion offset) and its offset is still in the backlog; else full.
 */
export function decideResync(
  hello: { replicationId: string; offset: number; truncatableTo?: number },
  own: { replicationId: string; inherited?: InheritedReplication; backlog: Backlog },
): ResyncDecision {
  if (!hello.replicationId) return { mode: 'full', reason: 'new-backup' };
  // A demoted primary that went further than what we inherited (batches never acknowledged, so no
  // desktop saw them) and can roll back to our promotion offset: it truncates, then continues.
  const inh = own.inherited;
  if (inh && hello.replicationId === inh.replicationId && hello.offset > inh.offset && (hello.truncatableTo ?? 0) > 0
    && hello.truncatableTo! <= inh.offset && own.backlog.canContinueFrom(inh.offset)) {
    return { mode: 'partial', fromOffset: inh.offset };
  }
  const ours = hello.replicationId === own.replicationId;
  const inherited = own.inherited && hello.replicationId === own.inherited.replicationId && hello.offset <= own.inherited.offset;
  if (!ours && !inherited) return { mode: 'full', reason: 'other-replication' };
  if (!own.backlog.canContinueFrom(hello.offset)) return { mode: 'full', reason: 'offset-not-in-backlog' };
  return { mode: 'partial', fromOffset: hello.offset };
}

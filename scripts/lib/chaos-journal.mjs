// The chaos drill's copy of the event journal. The servers run their default bounded journal
// (tserver.journalEvents, 30,000: a few seconds at drill load), so the drill reads the serving
// primary's journal tail (/debug/state?journalAfter=N) twice a second and keeps what the checker
// needs for the current and the previous cycle. A drill that instead raised the servers' bound to
// hold a whole run made every restarted backup resync tens of MB, which was the drill's own fault.
//
// JournalWindow is pure (what a tail read means); JournalTap is the poller around it.

/**
 * The journal as the drill knows it: entries by seq, the seqs it could not collect (gaps), and
 * which server (name@epoch) it last read.
 */
export class JournalWindow {
  constructor() {
    this.entries = new Map();
    this.maxSeq = 0;
    /** [from, to] ranges of seqs the drill never saw: not judged. */
    this.gaps = [];
    this.source = '';
    this.resets = 0;
  }

  /** Where the next read from `source` starts: after the last seq, or a margin back on a new primary. */
  nextAfter(source, marginBack = 5000) {
    return source === this.source ? this.maxSeq : Math.max(0, this.maxSeq - marginBack);
  }

  /**
   * Merges a tail read from `source` that asked for the entries after `after`:
   * `tail` = {seq, oldestSeq, journal}. A new primary's history replaces what a deposed one had past
   * it (entries it never replicated were never released to desktops: a desktop that saw one fails).
   * Returns 'reset' when the state started over (its seq is behind where the read started).
   */
  merge(source, after, tail) {
    if (tail.seq < after) {
      // A fresh state (both copies lost by design): seqs begin again.
      this.entries.clear(); this.gaps = []; this.maxSeq = 0; this.source = ''; this.resets++;
      return 'reset';
    }
    if (tail.oldestSeq > after + 1) {
      const from = after + 1, to = tail.oldestSeq - 1;
      let missing = false;
      for (let s = from; s <= to && !missing; s++) if (!this.entries.has(s)) missing = true;
      if (missing) this.gaps.push([from, to]);
    }
    for (const e of tail.journal) this.entries.set(e.seq, e);
    if (source !== this.source) for (const s of this.entries.keys()) if (s > tail.seq) this.entries.delete(s);
    this.maxSeq = source !== this.source ? tail.seq : Math.max(this.maxSeq, tail.seq);
    this.source = source;
    return 'ok';
  }

  /** The seq is collected (not in a gap) and not past what the drill read. */
  judgeable(seq) {
    if (seq > this.maxSeq) return false;
    for (const [a, b] of this.gaps) if (seq >= a && seq <= b) return false;
    return true;
  }

  /** Entries after `fromSeq`, in seq order. */
  after(fromSeq) {
    return [...this.entries.values()].filter((e) => e.seq > fromSeq).sort((a, b) => a.seq - b.seq);
  }

  /** Forgets entries and gaps at or before `seq` (the cycle before the previous one). */
  prune(seq) {
    for (const s of this.entries.keys()) if (s <= seq) this.entries.delete(s);
    this.gaps = this.gaps.filter(([, b]) => b > seq);
  }
}

/**
 * Polls the serving primary's journal tail every `everyMs` into a JournalWindow. `servers()` gives
 * the current server handles ({name, http, health()}); `onReset` runs when the state started over.
 */
export class JournalTap {
  constructor({ servers, everyMs = 500, timeoutMs = 1500, onReset = () => {} }) {
    this.o = { servers, everyMs, timeoutMs, onReset };
    this.window = new JournalWindow();
    this.reads = 0;
    this.failedReads = 0;
    this.timer = undefined;
    this.running = undefined;
  }

  start() {
    const loop = async () => {
      await this.readOnce().catch(() => { this.failedReads++; });
      if (this.timer !== null) this.timer = setTimeout(() => { this.running = loop(); }, this.o.everyMs);
    };
    this.running = loop();
  }

  /** One read from whichever server is the serving primary now (none: nothing read). */
  async readOnce() {
    for (const s of this.o.servers()) {
      const h = await s.health().catch(() => undefined);
      if (!h || h.role !== 'primary' || !h.serving) continue;
      const source = `${s.name}@${h.epoch}`;
      let after = this.window.nextAfter(source);
      let tail = await this.fetchTail(s, after);
      if (this.window.merge(source, after, tail) === 'reset') {
        this.o.onReset();
        after = 0;
        tail = await this.fetchTail(s, after);
        this.window.merge(source, after, tail);
      }
      this.reads++;
      return;
    }
  }

  async fetchTail(server, after) {
    const res = await fetch(`${server.http}/debug/state?journalAfter=${after}`, { signal: AbortSignal.timeout(this.o.timeoutMs) });
    if (!res.ok) throw new Error(`journal tail from ${server.name}: HTTP ${res.status}`);
    return res.json();
  }

  /** Reads once more now (the system is quiesced) and waits for any read in progress. */
  async flush() {
    await this.running;
    await this.readOnce();
  }

  async stop() {
    clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }
}

// Promises waiting for "the backup acked offset X". Kept sorted by offset so an ack releases a prefix.
// Released all at once when the primary runs alone (no backup in sync): never left hanging.

interface Waiter { offset: number; resolve: () => void; since: number }

export class AckWaiters {
  private waiters: Waiter[] = [];

  add(offset: number, now: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const w = { offset, resolve, since: now };
      const list = this.waiters;
      // Offsets almost always arrive in order: append; else insert at its place.
      if (list.length === 0 || list[list.length - 1]!.offset <= offset) list.push(w);
      else list.splice(list.findIndex((x) => x.offset > offset), 0, w);
    });
  }

  /** Releases every waiter with offset <= acked; returns how many. */
  releaseUpTo(acked: number): number {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.offset <= acked) this.waiters[n++]!.resolve();
    if (n > 0) this.waiters = this.waiters.slice(n);
    return n;
  }

  releaseAll(): number {
    const list = this.waiters;
    this.waiters = [];
    for (const w of list) w.resolve();
    return list.length;
  }

  /** When the oldest waiter started waiting, if any. */
  get oldestSince(): number | undefined { return this.waiters[0]?.since; }
  get size(): number { return this.waiters.length; }
}

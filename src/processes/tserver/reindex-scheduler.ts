// The backup's gateway index follows the replicated registrations: reindexed once per turn however
// many delta batches arrived in it, and only for the clients whose registrations they changed (a
// reset or a rollback reindexes every client).
import type { Delta } from '../../core/api.js';

export interface Reindexable {
  reindexAll(): void;
  reindex(names: ReadonlySet<string>): void;
}

export class ReindexScheduler {
  private scheduled = false;
  /** Clients to reindex at the next turn; undefined = every client. */
  private names: Set<string> | undefined = new Set();

  constructor(private readonly gateway: () => Reindexable) {}

  /** After applying `deltas`: their clients' registrations changed. */
  applied(deltas: readonly Delta[]): void { this.schedule(registrationsIn(deltas)); }

  /** The whole state was replaced or rolled back. */
  all(): void { this.schedule(undefined); }

  private schedule(names: readonly string[] | undefined): void {
    if (!names) this.names = undefined;
    else if (this.names) for (const n of names) this.names.add(n);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const due = this.names;
      this.names = new Set();
      if (!due) this.gateway().reindexAll();
      else if (due.size > 0) this.gateway().reindex(due);
    });
  }
}

/** The clients whose registration the deltas put or delete. */
export function registrationsIn(deltas: readonly Delta[]): string[] {
  const names: string[] = [];
  for (const d of deltas) if ((d.op === 'put' || d.op === 'del') && d.coll === 'registrations') names.push(d.key);
  return names;
}

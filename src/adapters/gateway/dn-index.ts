// Which clients get the events of which DN: the in-memory mirror of the core's registrations
// (kept per client name, not per connection, so a reconnecting desktop is found again at once).
import type { Registration } from '../../core/index.js';

export class DnIndex {
  private readonly byDn = new Map<string, Set<string>>();
  private readonly byClient = new Map<string, ReadonlySet<string>>();
  /** Per client, the registration value its entry was last built from by reindexAll/reindex. */
  private readonly builtFrom = new Map<string, Registration>();

  /** Sets a client's DNs from a request (replacing what it had): the next reindexAll re-reads it. */
  set(clientName: string, dns: Iterable<string>): void {
    this.builtFrom.delete(clientName);
    this.put(clientName, dns);
  }

  /**
   * Re-reads every client's registrations from the state (after promotion, a resync, and on a backup
   * after every applied batch). Registration values are immutable, so a client whose value is the
   * one the index was built from is skipped: O(clients) identity checks, not a rebuild of every set.
   */
  reindexAll(regs: ReadonlyMap<string, Registration>): void {
    // (Deleting the entry being visited is safe in a Map iteration.)
    for (const name of this.byClient.keys()) if (!regs.has(name)) this.put(name, []);
    for (const name of this.builtFrom.keys()) if (!regs.has(name)) this.builtFrom.delete(name);
    for (const [name, reg] of regs) this.rebuild(name, reg);
  }

  /**
   * Re-reads the registrations of these clients only (a backup, after each applied batch: the clients
   * whose registration deltas it carried), so a batch costs O(its registrations), not O(clients).
   */
  reindex(regs: ReadonlyMap<string, Registration>, names: Iterable<string>): void {
    for (const name of names) {
      const reg = regs.get(name);
      if (reg !== undefined) this.rebuild(name, reg);
      else {
        this.put(name, []);
        this.builtFrom.delete(name);
      }
    }
  }

  private rebuild(name: string, reg: Registration): void {
    if (this.builtFrom.get(name) === reg) return;
    this.put(name, reg.dns);
    this.builtFrom.set(name, reg);
  }

  private put(clientName: string, dns: Iterable<string>): void {
    const next = new Set(dns);
    const before = this.byClient.get(clientName);
    if (before) for (const dn of before) if (!next.has(dn)) this.remove(dn, clientName);
    for (const dn of next) {
      let s = this.byDn.get(dn);
      if (!s) this.byDn.set(dn, (s = new Set()));
      s.add(clientName);
    }
    if (next.size === 0) this.byClient.delete(clientName);
    else this.byClient.set(clientName, next);
  }

  clients(dn: string): ReadonlySet<string> | undefined { return this.byDn.get(dn); }

  dns(clientName: string): ReadonlySet<string> { return this.byClient.get(clientName) ?? new Set(); }

  /** Clients with at least one DN. */
  clientNames(): IterableIterator<string> { return this.byClient.keys(); }

  clear(): void { this.byDn.clear(); this.byClient.clear(); this.builtFrom.clear(); }

  private remove(dn: string, clientName: string): void {
    const s = this.byDn.get(dn);
    if (!s) return;
    s.delete(clientName);
    if (s.size === 0) this.byDn.delete(dn);
  }
}

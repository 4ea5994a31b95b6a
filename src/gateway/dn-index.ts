// Which clients get the events of which DN: the in-memory mirror of the core's registrations
// (kept per client name, not per connection, so a reconnecting desktop is found again at once).
export class DnIndex {
  private readonly byDn = new Map<string, Set<string>>();
  private readonly byClient = new Map<string, ReadonlySet<string>>();

  /** Sets a client's DNs (replacing what it had). */
  set(clientName: string, dns: Iterable<string>): void {
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

  clear(): void { this.byDn.clear(); this.byClient.clear(); }

  private remove(dn: string, clientName: string): void {
    const s = this.byDn.get(dn);
    if (!s) return;
    s.delete(clientName);
    if (s.size === 0) this.byDn.delete(dn);
  }
}

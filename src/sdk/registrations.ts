// The DNs a desktop follows: registered with every server it is connected to (again after each
// reconnect), and register() answered with the primary's EventRegistered (its snapshot of the DN).
import type { EventOf, TEvent } from '../protocol/messages.js';
import { TandemError } from './errors.js';
import type { ServerLink } from './server-link.js';

type Registered = EventOf<'EventRegistered'>;
interface Waiter { resolve: (ev: Registered) => void; reject: (e: TandemError) => void }

/** What the registrations read of their client. */
export interface RegistrationHost {
  closed(): boolean;
  /** The primary's link, or null during a failover. */
  primaryLink(): ServerLink | null;
  /** The client has a lastSeq: a primary chosen from now on replays what happened after it. */
  hasHistory(): boolean;
  readonly links: readonly ServerLink[];
}

export class Registrations {
  private readonly dns = new Set<string>();
  /** register() calls waiting for a primary's EventRegistered, by DN. */
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly host: RegistrationHost) {}

  /** Follows `dn` on every open link; resolves with the primary's EventRegistered. */
  register(dn: string): Promise<Registered> {
    this.dns.add(dn);
    const p = new Promise<Registered>((resolve, reject) => {
      const list = this.waiters.get(dn) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(dn, list);
    });
    for (const l of this.host.links) if (l.isOpen) this.registerOn(l, dn);
    return p;
  }

  async unregister(dn: string): Promise<void> {
    this.dns.delete(dn);
    await Promise.allSettled(this.host.links.filter((l) => l.isOpen).map((l) => l.call({ request: 'RequestUnregisterAddress', thisDN: dn })));
  }

  /** A link (re)opened: every DN again. */
  linkOpened(link: ServerLink): void {
    for (const dn of this.dns) this.registerOn(link, dn);
  }

  /** A new primary: register() calls still waiting for a snapshot ask it. */
  primaryChosen(link: ServerLink): void {
    for (const dn of this.waiters.keys()) this.registerOn(link, dn);
  }

  /** The client closed: every waiting register() is rejected. */
  rejectAll(err: TandemError): void {
    for (const [, ws] of this.waiters) for (const w of ws) w.reject(err);
    this.waiters.clear();
  }

  private registerOn(link: ServerLink, dn: string): void {
    link.call({ request: 'RequestRegisterAddress', thisDN: dn }).then(
      (ev) => this.registered(link, ev),
      (err: TandemError) => {
        if (err.errorCode === 'ConnectionLost') return; // registered again on reconnect
        if (err.errorCode === 'Overloaded') {
          // Not run (a reconnect storm of a whole floor sheds load): ask again after the hint, with
          // jitter, while the link is open. Dropping the DN here left it unregistered on that server.
          const hint = err.event?.retryAfterMs ?? 100;
          setTimeout(() => { if (!this.host.closed() && link.isOpen && this.dns.has(dn)) this.registerOn(link, dn); }, hint + Math.floor(Math.random() * hint));
          return;
        }
        this.dns.delete(dn);
        const ws = this.waiters.get(dn) ?? [];
        this.waiters.delete(dn);
        for (const w of ws) w.reject(err);
      },
    );
  }

  /** The primary's EventRegistered answers register(); a backup's is only a confirmation. */
  private registered(link: ServerLink, ev: TEvent): void {
    if (ev.event !== 'EventRegistered' || !ev.thisDN) return;
    // Without a primary (mid-failover) any server's snapshot will do rather than leave the caller
    // waiting: the next primary's replay after lastSeq brings what the DN missed meanwhile. Before the
    // first primary there is no lastSeq to replay from, so only a primary's answer counts: a backup's
    // (its link opened first) let the caller act on the DN before the primary sent it the DN's events.
    const primary = this.host.primaryLink();
    if (primary === null ? !this.host.hasHistory() : link !== primary) return;
    const ws = this.waiters.get(ev.thisDN) ?? [];
    this.waiters.delete(ev.thisDN);
    for (const w of ws) w.resolve(ev);
  }
}

// Sockets that have not (yet) sent a valid RequestOpen. They hold a server slot without any
// credential, so they are bounded twice: in time (closed `openTimeoutMs` after the upgrade with close
// code 4002) and in number per remote address (`maxUnopenedPerAddress`; one more upgrade from that
// address is refused 503). Opened desktops are not counted: a NAT or proxy may put many agents
// behind one address, and each of them opens within milliseconds.
// Loopback addresses have their own cap (`maxUnopenedPerLoopbackAddress`, default 0 = none): on
// loopback everything is this machine — the embedded `tandem pair`, a local TLS proxy in front of
// the server (then every agent arrives from 127.0.0.1), tests and benches that open hundreds of
// desktops at once.
import { isLoopbackAddress } from '../../auth/loopback.js';

export interface UnopenedLimits {
  /** ms a socket may stay without a valid RequestOpen before it is closed (4002). 0 = no deadline. */
  openTimeoutMs: number;
  /** Unopened sockets per remote address; one more upgrade is refused 503. 0 = no cap. */
  maxUnopenedPerAddress: number;
  /** The same for loopback remote addresses (127.0.0.0/8, ::1). 0 = no cap. */
  maxUnopenedPerLoopbackAddress: number;
}

export const DEFAULT_UNOPENED_LIMITS: UnopenedLimits = {
  openTimeoutMs: 5_000,
  maxUnopenedPerAddress: 64,
  maxUnopenedPerLoopbackAddress: 0,
};

/** Per-address counts of unopened sockets; memory is O(addresses with an unopened socket now). */
export class UnopenedSockets {
  private readonly byAddress = new Map<string, number>();
  private all = 0;

  constructor(private readonly limits: UnopenedLimits) {}

  /** Why an upgrade from `address` is refused now, or undefined to admit it. */
  refusal(address: string): string | undefined {
    const loopback = isLoopbackAddress(address);
    const cap = loopback ? this.limits.maxUnopenedPerLoopbackAddress : this.limits.maxUnopenedPerAddress;
    const n = this.byAddress.get(address) ?? 0;
    if (cap <= 0 || n < cap) return undefined;
    const setting = loopback ? 'tserver.maxUnopenedPerLoopbackAddress' : 'tserver.maxUnopenedPerAddress';
    return `${n} connections from ${address} have not sent RequestOpen yet (${setting} ${cap}): send RequestOpen right after connecting, then connect again`;
  }

  /** A socket from `address` was upgraded. */
  add(address: string): void {
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    this.all += 1;
  }

  /** That socket opened or closed (call once per add). */
  remove(address: string): void {
    const had = this.byAddress.get(address) ?? 0;
    if (had === 0) return;
    this.all -= 1;
    const n = had - 1;
    if (n > 0) this.byAddress.set(address, n);
    else this.byAddress.delete(address);
  }

  /** The session no longer counts as unopened (it opened, or it closed): once only; its deadline is off. */
  settle(session: { openTimer: ReturnType<typeof setTimeout> | undefined; countedUnopened: boolean; address: string }): void {
    clearTimeout(session.openTimer);
    session.openTimer = undefined;
    if (!session.countedUnopened) return;
    session.countedUnopened = false;
    this.remove(session.address);
  }

  count(address: string): number { return this.byAddress.get(address) ?? 0; }

  get total(): number { return this.all; }
}

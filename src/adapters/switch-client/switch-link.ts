// The T-Server's side of the switch link: connect, Hello, claim the lease, heartbeat, feed switch
// events and command results into the core, stamp the epoch on commands, rebuild from a snapshot
// when the state has nothing to redeliver from. Reconnects with backoff while the switch is away.
// Semantics of the link: docs/switch.md. States: link-state.ts.
import type { sw } from '../../wire/switch-proto.js';
import type { SwitchCommand } from '../../core/api.js';
import { HolderLease } from './holder-lease.js';
import { CONNECTED, createLinkMachine, LIVE, type LinkState, type LinkStateMachine } from './link-state.js';
import { Backoff } from '../../lib/backoff.js';
import { CommandHold } from './command-hold.js';

export type { LinkTransport, TransportHandlers, OpenTransport, LeaseLoss, SwitchLinkHandlers, LeaseNotice, LeaseRenewer, ClaimOptions, SwitchLinkOptions } from './switch-link-types.js';
import { SWITCH_RECONNECT, type LinkTransport, type SwitchLinkHandlers, type ClaimOptions, type SwitchLinkOptions } from './switch-link-types.js';

const SNAPSHOT_REQUEST_ID = 1;
/** Leases of silence from the switch, past our own deadline, before the link is taken for dead. */
const SILENT_LINK_LEASES = 4;

export class SwitchLink {
  readonly machine: LinkStateMachine;
  private transport: LinkTransport | undefined;
  /** Invariant: set iff state is down and not stopped (a reconnect is scheduled). */
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Invariant: set iff a transport is open and Welcome was received. */
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private welcome: sw.IWelcome | undefined;
  /** Until when we may act as the lease holder (holder-lease.ts). */
  private readonly lease: HolderLease;
  /** Highest lease epoch the switch told us about (Welcome, Refused, Deposed, HeartbeatAck). */
  private seenEpoch = 0;
  /** Whether the outstanding claim asked for redelivery (else the grant must rebuild from a snapshot). */
  private claimRedeliver = false;
  private releaseWaiter: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private buffered: sw.ISwitchEvent[] = [];
  private readonly backoff: Backoff;
  private lastDownReason = '';
  /** Commands issued while the lease was uncertain: sent on renewal, dropped if the link leaves up (command-hold.ts). */
  private readonly held = new CommandHold();

  constructor(private readonly opts: SwitchLinkOptions, private readonly h: SwitchLinkHandlers) {
    this.backoff = opts.backoff ?? new Backoff(SWITCH_RECONNECT);
    this.lease = new HolderLease(opts.renewer);
    this.machine = createLinkMachine(opts.log, ({ to, from, reason }) => this.enter(to, from, reason));
    opts.renewer?.onRenewal(() => {
      const s = this.machine.state;
      if (s === 'up' || s === 'resyncing') this.renewed();
    });
  }

  get state(): LinkState { return this.machine.state; }
  get isUp(): boolean { return this.machine.state === 'up'; }
  get heartbeatMs(): number { return this.welcome?.heartbeatMs ?? 0; }
  get leaseMs(): number { return this.welcome?.leaseMs ?? 0; }
  /** Highest epoch known from the switch. */
  get switchEpoch(): number { return this.seenEpoch; }
  /** Switch messages waiting for a later turn on the current stream (0 without one). */
  get inboundBacklog(): number { return this.transport?.inboundQueued?.() ?? 0; }
  /** The current holder named by the last Welcome ('' = none). */
  get welcomeInfo(): sw.IWelcome | undefined { return this.welcome; }

  /**
   * True while we hold the lease and it cannot have lapsed at the switch yet. Checked synchronously
   * on every request and command, so a process resumed after SIGSTOP serves nothing before it
   * notices (its timers may run after the socket reads that carry requests).
   */
  leaseValid(now = Date.now()): boolean {
    const s = this.machine.state;
    return (s === 'up' || s === 'resyncing') && now < this.lease.deadline();
  }

  start(): void { this.connect(); }

  stop(): void {
    this.machine.transition(LIVE, 'stopped', 'process stopping');
  }

  /**
   * Sends call-control commands stamped with the current epoch. When the link is not up they are
   * dropped: the core keeps each client request pending and answers SwitchUnavailable after its
   * pending timeout, or re-sends the same command id when the client retries once the link is back
   * (the switch runs a command id at most once). While the lease is only uncertain (renewal late, not
   * deposed) they are held and sent on renewal (command-hold.ts).
   */
  send(commands: SwitchCommand[]): void {
    if (this.isUp && this.transport && this.opts.ha && !this.leaseValid()) {
      if (this.held.size === 0) this.opts.log.warn({ commands: commands.length }, 'switch lease uncertain: commands held until it is renewed');
      this.held.add(commands);
      return;
    }
    if (!this.isUp || !this.transport) {
      this.opts.log.warn({ commands: commands.map((c) => c.commandId), linkState: this.state }, 'switch link not up: commands not sent');
      return;
    }
    for (const c of commands) this.transport.send({ command: { ...c, epoch: this.opts.role.epoch } });
  }

  /** Overload control (overload-control.ts): only while we hold a valid lease, stamped with our epoch. */
  overloadControl(admitPermille: number, validMs: number): boolean {
    if (!this.isUp || !this.transport || !this.leaseValid()) return false;
    this.transport.send({ overloadControl: { epoch: this.opts.role.epoch, admitPermille, validMs } });
    return true;
  }

  /**
   * Asks for the lease (the HA layer, after a promotion decision). False when the link cannot
   * claim now (not connected, or a claim is already out): the caller retries.
   */
  claim(opts?: ClaimOptions): boolean {
    const s = this.machine.state;
    if (s !== 'following' && s !== 'deposed' && s !== 'connecting') return false;
    return this.sendClaim(opts);
  }

  /** HA: after a refusal or deposition, keep the link as a backup's (events not applied). */
  follow(why: string): void {
    this.machine.transition(['deposed'], 'following', why);
  }

  /**
   * Graceful handover: gives the lease up (ReleaseLease) and resolves once the switch confirmed
   * (Deposed{Released}); rejects when the link is not up or the switch does not answer in time.
   */
  release(timeoutMs = 2_000): Promise<void> {
    if (!this.transport || (this.machine.state !== 'up' && this.machine.state !== 'resyncing')) {
      return Promise.reject(new Error(`cannot release the lease: switch link ${this.machine.state}`));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.releaseWaiter = undefined; reject(new Error(`the switch did not confirm the lease release within ${timeoutMs} ms`)); }, timeoutMs);
      this.releaseWaiter = { resolve, reject, timer };
      this.transport!.send({ releaseLease: { epoch: this.opts.role.epoch } });
    });
  }

  // ---------------------------------------------------------------- stream life cycle

  private connect(): void {
    if (!this.machine.transition(['down'], 'connecting', 'connecting')) return;
    let closed = false;
    const transport = this.opts.open({
      onMessage: (msg) => { if (this.transport === transport) this.onMessage(msg); },
      onClose: (reason) => {
        if (closed) return;
        closed = true;
        if (this.transport !== transport) return;
        this.transport = undefined;
        this.lastDownReason = reason;
        this.machine.transition(CONNECTED, 'down', reason);
      },
    });
    this.transport = transport;
    // Live events only as lease holder: following (backup) they are dropped anyway (onEvents).
    transport.send({ hello: { serverName: this.opts.serverName, ...(this.opts.secret ? { secret: this.opts.secret } : {}), eventsAsHolderOnly: true } });
  }

  private drop(why: string): void {
    const t = this.transport;
    this.transport = undefined;
    this.lastDownReason = why;
    this.machine.transition(CONNECTED, 'down', why);
    t?.close();
  }

  /** The lease was renewed: held commands go out first, in order, then the HA layer hears of it. */
  private renewed(): void {
    if (this.held.size > 0 && this.isUp && this.leaseValid()) {
      const { commands, overflowed } = this.held.take();
      this.opts.log.info({ commands: commands.length, overflowed }, 'switch lease renewed: held commands sent');
      this.send(commands);
    }
    this.h.renewed?.();
  }

  private enter(to: LinkState, from: LinkState, why: string): void {
    if (to !== 'up' && this.held.size > 0) {
      const { commands, overflowed } = this.held.take();
      this.opts.log.warn({ commands: commands.length, overflowed, linkState: to }, 'switch link left up with commands held: dropped (the core re-issues them or answers SwitchUnavailable)');
    }
    switch (to) {
      case 'connecting':
      case 'claiming':
      case 'following':
        return;
      case 'resyncing':
        this.buffered = [];
        this.transport?.send({ snapshotQuery: { requestId: SNAPSHOT_REQUEST_ID } });
        return;
      case 'up':
        this.backoff.reset();
        this.h.linkUp(true, why);
        return;
      case 'deposed':
        if (from === 'up') this.h.linkUp(false, why);
        return;
      case 'down':
      case 'stopped': {
        clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = undefined;
        this.welcome = undefined;
        this.buffered = [];
        this.lease.linkGone();
        if (this.releaseWaiter) {
          clearTimeout(this.releaseWaiter.timer);
          this.releaseWaiter.reject(new Error(`switch link ${to}: ${why}`));
          this.releaseWaiter = undefined;
        }
        if (from === 'up') this.h.linkUp(false, why);
        if (to === 'stopped') {
          clearTimeout(this.reconnectTimer);
          const t = this.transport;
          this.transport = undefined;
          t?.close();
          return;
        }
        const delay = this.backoff.next();
        this.opts.log.debug({ delayMs: delay, attempt: this.backoff.attempts }, 'switch link: reconnecting after delay');
        this.reconnectTimer = setTimeout(() => { this.reconnectTimer = undefined; this.connect(); }, delay);
        return;
      }
      default: {
        const never: never = to;
        throw new Error(`unhandled link state ${String(never)}`);
      }
    }
  }

  // ---------------------------------------------------------------- messages from the switch

  private onMessage(m: sw.ILinkDown): void {
    if (m.welcome) return this.onWelcome(m.welcome);
    if (m.granted) return this.onGranted(m.granted);
    if (m.refused) return this.onRefused(m.refused);
    if (m.deposed) return this.onDeposed(m.deposed);
    if (m.heartbeatAck) return this.onHeartbeatAck(m.heartbeatAck);
    if (m.events) return this.onEvents(m.events.events ?? []);
    if (m.snapshot) return this.onSnapshot(m.snapshot);
    if (m.commandResult) return this.onCommandResult(m.commandResult);
    if (m.overloadStatus) return this.h.overloadStatus?.(m.overloadStatus);
    if (m.leaseNotice) {
      const n = m.leaseNotice;
      this.seenEpoch = Math.max(this.seenEpoch, n.epoch ?? 0);
      this.h.leaseChanged?.({ epoch: n.epoch ?? 0, holder: n.holder ?? '', reason: n.reason ?? '' });
      return;
    }
    if (m.error) {
      this.opts.log.error({ code: m.error.code, message: m.error.message }, 'switch link: error from the switch');
      return;
    }
  }

  private onWelcome(w: sw.IWelcome): void {
    this.welcome = w;
    this.seenEpoch = Math.max(this.seenEpoch, w.epoch ?? 0);
    this.opts.log.info({ switchName: w.switchName, epoch: w.epoch, holder: w.holder, leaseMs: w.leaseMs, heartbeatMs: w.heartbeatMs, lastSeq: w.lastSeq },
      'switch link: welcome');
    clearInterval(this.heartbeatTimer);
    const every = Math.max(10, w.heartbeatMs || 500);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), every);
    if (w.renewToken) this.opts.renewer?.attach(w.renewToken, w.leaseMs ?? 0, w.heartbeatMs ?? 0);
    if (this.opts.ha) {
      this.machine.transition(['connecting'], 'following', 'HA: the controller decides whether to claim');
      this.h.welcome?.(w);
      return;
    }
    if (this.opts.role.role === 'primary') this.sendClaim();
    else this.machine.transition(['connecting'], 'following', `role ${this.opts.role.role}`);
  }

  private sendClaim(opts?: ClaimOptions): boolean {
    const w = this.welcome;
    if (!w || !this.transport) return false;
    const applied = this.opts.appliedSeq();
    // Redelivery is only possible when we applied something and the switch still remembers it. The
    // switch judges that (Granted.gap: its log no longer holds appliedSeq+1, or ends before it: a
    // restarted switch). Not the Welcome: a backup's is as old as its link, and judging by its
    // lastSeq made every promotion rebuild from a snapshot, which applies call changes silently (no
    // EventRinging for an offer, no answer for a pending request: a stuck call and agent).
    const redeliver = (opts?.redeliver ?? true) && applied > 0;
    const epoch = Math.max(this.opts.role.epoch, w.epoch ?? 0, this.seenEpoch) + 1;
    const force = opts?.force === true;
    if (!this.machine.transition(['connecting', 'following', 'deposed'], 'claiming', `claim epoch ${epoch}, appliedSeq ${applied}, redeliver ${redeliver}${force ? ', force' : ''}`)) return false;
    this.lease.claimSent(Date.now());
    this.claimRedeliver = redeliver;
    this.transport.send({ claim: force ? { epoch, appliedSeq: redeliver ? applied : 0, redeliver, force } : { epoch, appliedSeq: redeliver ? applied : 0, redeliver } });
    return true;
  }

  private onGranted(g: sw.IGranted): void {
    if (this.machine.state !== 'claiming') return;
    const epoch = g.epoch ?? 0;
    this.seenEpoch = Math.max(this.seenEpoch, epoch);
    this.lease.granted(epoch, g.leaseMs ?? this.welcome?.leaseMs ?? 0);
    if (!this.opts.ha) this.opts.role.set({ epoch, serving: true });
    const applied = this.opts.appliedSeq();
    const needSnapshot = applied === 0 || g.gap === true || !this.claimRedeliver || (g.lastSeq ?? 0) < applied;
    if (needSnapshot) this.machine.transition(['claiming'], 'resyncing', `lease granted, epoch ${epoch}; rebuilding from a snapshot${g.gap ? ' (switch log gap)' : ''}`);
    else this.machine.transition(['claiming'], 'up', `lease granted, epoch ${epoch}; redelivery from seq ${applied + 1}`);
    // HA: the controller becomes primary with the link already usable (its lease check reads the state).
    if (this.opts.ha) this.h.granted?.(g);
  }

  private onRefused(r: sw.IRefused): void {
    this.seenEpoch = Math.max(this.seenEpoch, r.currentEpoch ?? 0);
    this.machine.transition(['claiming'], 'deposed', `claim refused: ${r.code ?? '?'} (${r.message ?? ''})`);
    this.h.leaseLost({ kind: 'refused', code: r.code ?? '', currentEpoch: r.currentEpoch ?? 0, holder: r.holder ?? '' });
  }

  private onDeposed(d: sw.IDeposed): void {
    this.seenEpoch = Math.max(this.seenEpoch, d.newEpoch ?? 0);
    this.lease.deposed();
    const rw = this.releaseWaiter;
    if (rw && d.reason === 'Released') {
      this.releaseWaiter = undefined;
      clearTimeout(rw.timer);
      this.machine.transition(['resyncing', 'up'], 'deposed', 'lease released (handover)');
      rw.resolve();
      return;
    }
    if (!this.machine.transition(['claiming', 'resyncing', 'up'], 'deposed', `deposed: ${d.reason ?? '?'} (new epoch ${d.newEpoch ?? 0}, holder ${d.newHolder || 'none'})`)) return;
    this.h.leaseLost({ kind: 'deposed', code: d.reason ?? '', currentEpoch: d.newEpoch ?? 0, holder: d.newHolder ?? '' });
  }

  private heartbeat(): void {
    if (!this.transport || !this.welcome) return;
    const s = this.machine.state;
    // A holder that cannot renew must stop before the switch may grant the lease to someone else.
    // (Requests and commands check leaseValid() synchronously; this is the link-level consequence.)
    // Past the deadline we already serve nothing (leaseValid() is false). The link itself is dropped
    // only after SILENT_LINK_LEASES more leases of silence (a dead, half-open stream): dropping it
    // at once turned a switch that stalled for ~0.4 s into a failover, since a closed link frees the
    // lease at the switch (chaos: an unplanned failover), while the stalled switch would have kept
    // it (its lease clock does not count its own stall) and our queued renewals renewed it.
    const leaseMs = this.welcome.leaseMs ?? 0;
    if ((s === 'up' || s === 'resyncing') && this.lease.deadSilent(Date.now(), leaseMs, SILENT_LINK_LEASES)) {
      this.drop(`lease not renewed for ${SILENT_LINK_LEASES + 1} × ${leaseMs} ms (switch silent): reconnecting`);
      return;
    }
    this.lease.heartbeatSent(Date.now());
    // After the watchdog gave this epoch up, a resumed main thread must not renew it again: keepalive only.
    const epoch = this.lease.tripped ? 0 : this.opts.role.epoch;
    this.transport.send({ heartbeat: { epoch } });
  }

  private onHeartbeatAck(a: sw.IHeartbeatAck): void {
    this.seenEpoch = Math.max(this.seenEpoch, a.epoch ?? 0);
    const s = this.machine.state;
    if (s !== 'up' && s !== 'resyncing') { this.lease.heartbeatAcked(false, 0); return; }
    if (this.lease.heartbeatAcked(a.holder === true, this.welcome?.leaseMs || a.leaseRemainingMs || 0)) this.renewed();
  }

  private onEvents(events: sw.ISwitchEvent[]): void {
    switch (this.machine.state) {
      case 'up': {
        const applied = this.opts.appliedSeq();
        const fresh = events.filter((e) => (e.seq ?? 0) > applied);
        if (fresh.length > 0 && (fresh[0]!.seq ?? 0) !== applied + 1) {
          this.opts.log.warn({ appliedSeq: applied, firstSeq: fresh[0]!.seq }, 'switch link: event seq gap');
        }
        if (fresh.length > 0) this.h.events(fresh);
        return;
      }
      case 'resyncing':
        this.buffered.push(...events);
        if (this.buffered.length > (this.opts.maxBufferedEvents ?? 100_000)) this.drop('too many events while waiting for the snapshot');
        return;
      default:
        // claiming: redelivery after Granted covers these; following/deposed: not ours to apply.
        return;
    }
  }

  /**
   * Only a lease holder's core takes results. One that arrives after Deposed answers a command sent
   * just before the deposition (refused NotLeaseHolder): the new primary holds that pending request
   * or offer (replicated) and re-sends the same command id; run here, it would change a backup's
   * state (the backup's core runs on the primary's deltas only) and answer a client from it.
   */
  private onCommandResult(r: sw.ICommandResult): void {
    const s = this.machine.state;
    if (s !== 'up' && s !== 'resyncing') {
      this.opts.log.debug({ commandId: r.commandId, ok: r.ok, errorCode: r.errorCode, linkState: s }, 'switch link: command result after the lease was lost: not applied');
      return;
    }
    this.h.commandResult(r);
  }

  private onSnapshot(s: sw.ISnapshot): void {
    if (this.machine.state !== 'resyncing') return;
    this.opts.log.info({ lastSeq: s.lastSeq, devices: s.devices?.length ?? 0, calls: s.calls?.length ?? 0 }, 'switch link: snapshot received');
    this.h.snapshot(s);
    const after = Math.max(this.opts.appliedSeq(), s.lastSeq ?? 0);
    const rest = this.buffered.filter((e) => (e.seq ?? 0) > after);
    this.buffered = [];
    if (!this.machine.transition(['resyncing'], 'up', `snapshot applied at switch seq ${s.lastSeq ?? 0}`)) return;
    if (rest.length > 0) this.h.events(rest);
  }

  get downReason(): string { return this.lastDownReason; }
}

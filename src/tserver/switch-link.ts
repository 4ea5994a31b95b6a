// The T-Server's side of the switch link: connect, Hello, claim the lease, heartbeat, feed switch
// events and command results into the core, stamp the epoch on commands, rebuild from a snapshot
// when the state has nothing to redeliver from. Reconnects with backoff while the switch is away.
// Semantics of the link: docs/switch.md. States: link-state.ts.
import type { Logger } from '../common/log.js';
import type { sw } from '../common/switch-proto.js';
import type { SwitchCommand } from '../core/api.js';
import { LinkStateMachine, type LinkState } from './link-state.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import type { ServerRole } from './role.js';

/** One open stream to the switch (link-binding.ts adapts the gRPC link client to this). */
export interface LinkTransport {
  send(msg: sw.ILinkUp): void;
  close(): void;
}

export interface TransportHandlers {
  onMessage(msg: sw.ILinkDown): void;
  /** Called once when the stream ends, whoever ended it. */
  onClose(reason: string): void;
}

export type OpenTransport = (handlers: TransportHandlers) => LinkTransport;

export interface LeaseLoss {
  kind: 'refused' | 'deposed';
  code: string;
  currentEpoch: number;
  holder: string;
}

/** What the link tells the process. Called synchronously from stream callbacks. */
export interface SwitchLinkHandlers {
  events(events: sw.ISwitchEvent[]): void;
  commandResult(result: sw.ICommandResult): void;
  snapshot(snapshot: sw.ISnapshot): void;
  /** The link became usable for call control (state `up`), or stopped being usable. */
  linkUp(up: boolean, why: string): void;
  /** The switch refused our claim or took the lease away. Single server: stop serving. */
  leaseLost(loss: LeaseLoss): void;
}

export interface SwitchLinkOptions {
  serverName: string;
  /** Shared secret for Hello when the switch requires one. */
  secret?: string;
  role: ServerRole;
  /** Last switch event seq applied to the core state (0 = nothing: rebuild from a snapshot). */
  appliedSeq: () => number;
  open: OpenTransport;
  log: Logger;
  backoff?: ReconnectBackoff;
  /** Events buffered while a snapshot is awaited; beyond this the link restarts. */
  maxBufferedEvents?: number;
}

const SNAPSHOT_REQUEST_ID = 1;

export class SwitchLink {
  readonly machine: LinkStateMachine;
  private transport: LinkTransport | undefined;
  /** Invariant: set iff state is down and not stopped (a reconnect is scheduled). */
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Invariant: set iff a transport is open and Welcome was received. */
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private welcome: sw.IWelcome | undefined;
  /** When the lease we hold runs out unless renewed (ms); checked on every heartbeat. */
  private leaseUntil = 0;
  private buffered: sw.ISwitchEvent[] = [];
  private readonly backoff: ReconnectBackoff;
  private lastDownReason = '';

  constructor(private readonly opts: SwitchLinkOptions, private readonly h: SwitchLinkHandlers) {
    this.backoff = opts.backoff ?? new ReconnectBackoff();
    this.machine = new LinkStateMachine(opts.log, (to, from, why) => this.enter(to, from, why));
  }

  get state(): LinkState { return this.machine.state; }
  get isUp(): boolean { return this.machine.state === 'up'; }
  get heartbeatMs(): number { return this.welcome?.heartbeatMs ?? 0; }

  start(): void { this.connect(); }

  stop(): void {
    this.machine.transition(['down', 'connecting', 'claiming', 'resyncing', 'up', 'following', 'deposed'], 'stopped', 'process stopping');
  }

  /**
   * Sends call-control commands stamped with the current epoch. When the link is not up they are
   * dropped: the core keeps each client request pending and answers SwitchUnavailable after its
   * pending timeout, or re-sends the same command id when the client retries once the link is back
   * (the switch runs a command id at most once).
   */
  send(commands: SwitchCommand[]): void {
    if (!this.isUp || !this.transport) {
      this.opts.log.warn({ commands: commands.map((c) => c.commandId), linkState: this.state }, 'switch link not up: commands not sent');
      return;
    }
    for (const c of commands) this.transport.send({ command: { ...c, epoch: this.opts.role.epoch } });
  }

  /** Asks for the lease again (the HA layer, after a promotion decision). */
  claim(): void {
    if (this.machine.state !== 'following' && this.machine.state !== 'deposed') return;
    this.sendClaim();
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
        this.machine.transition(['connecting', 'claiming', 'resyncing', 'up', 'following', 'deposed'], 'down', reason);
      },
    });
    this.transport = transport;
    transport.send({ hello: this.opts.secret ? { serverName: this.opts.serverName, secret: this.opts.secret } : { serverName: this.opts.serverName } });
  }

  private drop(why: string): void {
    const t = this.transport;
    this.transport = undefined;
    this.lastDownReason = why;
    this.machine.transition(['connecting', 'claiming', 'resyncing', 'up', 'following', 'deposed'], 'down', why);
    t?.close();
  }

  private enter(to: LinkState, from: LinkState, why: string): void {
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
    if (m.commandResult) return this.h.commandResult(m.commandResult);
    if (m.error) {
      this.opts.log.error({ code: m.error.code, message: m.error.message }, 'switch link: error from the switch');
      return;
    }
  }

  private onWelcome(w: sw.IWelcome): void {
    this.welcome = w;
    this.opts.log.info({ switchName: w.switchName, epoch: w.epoch, holder: w.holder, leaseMs: w.leaseMs, heartbeatMs: w.heartbeatMs, lastSeq: w.lastSeq },
      'switch link: welcome');
    clearInterval(this.heartbeatTimer);
    const every = Math.max(10, w.heartbeatMs || 500);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), every);
    if (this.opts.role.role === 'primary') this.sendClaim();
    else this.machine.transition(['connecting'], 'following', `role ${this.opts.role.role}`);
  }

  private sendClaim(): void {
    const w = this.welcome;
    if (!w || !this.transport) return;
    const applied = this.opts.appliedSeq();
    // Redelivery is only possible when we applied something and the switch still remembers it; a
    // switch whose log ends before our seq was restarted: only a snapshot can tell what is true now.
    const redeliver = applied > 0 && (w.lastSeq ?? 0) >= applied;
    const epoch = Math.max(this.opts.role.epoch, w.epoch ?? 0) + 1;
    if (!this.machine.transition(['connecting', 'following', 'deposed'], 'claiming', `claim epoch ${epoch}, appliedSeq ${applied}, redeliver ${redeliver}`)) return;
    this.transport.send({ claim: { epoch, appliedSeq: redeliver ? applied : 0, redeliver } });
  }

  private onGranted(g: sw.IGranted): void {
    if (this.machine.state !== 'claiming') return;
    const epoch = g.epoch ?? 0;
    this.leaseUntil = Date.now() + (g.leaseMs ?? this.welcome?.leaseMs ?? 0);
    this.opts.role.set({ epoch, serving: true });
    const applied = this.opts.appliedSeq();
    const needSnapshot = applied === 0 || g.gap === true || (this.welcome?.lastSeq ?? 0) < applied;
    if (needSnapshot) this.machine.transition(['claiming'], 'resyncing', `lease granted, epoch ${epoch}; rebuilding from a snapshot${g.gap ? ' (switch log gap)' : ''}`);
    else this.machine.transition(['claiming'], 'up', `lease granted, epoch ${epoch}; redelivery from seq ${applied + 1}`);
  }

  private onRefused(r: sw.IRefused): void {
    this.machine.transition(['claiming'], 'deposed', `claim refused: ${r.code ?? '?'} (${r.message ?? ''})`);
    this.h.leaseLost({ kind: 'refused', code: r.code ?? '', currentEpoch: r.currentEpoch ?? 0, holder: r.holder ?? '' });
  }

  private onDeposed(d: sw.IDeposed): void {
    if (!this.machine.transition(['claiming', 'resyncing', 'up'], 'deposed', `deposed: ${d.reason ?? '?'} (new epoch ${d.newEpoch ?? 0}, holder ${d.newHolder || 'none'})`)) return;
    this.h.leaseLost({ kind: 'deposed', code: d.reason ?? '', currentEpoch: d.newEpoch ?? 0, holder: d.newHolder ?? '' });
  }

  private heartbeat(): void {
    if (!this.transport || !this.welcome) return;
    const s = this.machine.state;
    // A holder that cannot renew must stop before the switch may grant the lease to someone else.
    if ((s === 'up' || s === 'resyncing') && Date.now() > this.leaseUntil) {
      this.drop(`lease not renewed for ${this.welcome.leaseMs} ms (switch silent)`);
      return;
    }
    this.transport.send({ heartbeat: { epoch: this.opts.role.epoch } });
  }

  private onHeartbeatAck(a: sw.IHeartbeatAck): void {
    const s = this.machine.state;
    if (s !== 'up' && s !== 'resyncing') return;
    if (a.holder) this.leaseUntil = Date.now() + (a.leaseRemainingMs || this.welcome?.leaseMs || 0);
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

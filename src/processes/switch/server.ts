// The simulated switch as a gRPC server: one handler per link, wiring the pure parts (pbx, lease,
// event log, command ids, auto-answer) to streams and timers. Never crashes on a peer: every bad
// frame or message becomes an Error or a result on that link, and the switch stays up.
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { sw } from '../../wire/switch-proto.js';
import { oneof, unhandled } from '../../lib/oneof.js';
import type { LinkUpFrame } from '../../wire/switch-service.js';
import type { Logger } from '../../lib/log.js';
import { JunkLog } from '../../lib/junk-log.js';
import { peerAuthMode, type PeerAuthMode } from '../../lib/peer-auth.js';
import type { SwitchConfig } from './config.js';
import { DialPlan } from './dial-plan.js';
import { Pbx, type PbxOutcome } from './pbx.js';
import type { CallModel, SwitchHooks } from './call-model.js';
import { Lease, leaseNotice, type DeposedNotice } from './lease.js';
import { LeaseClock } from './lease-clock.js';
import { EventLog } from './event-log.js';
import { CommandIds, CommandRecord } from './command-ids.js';
import { AutoAnswer, type TimerRequest } from './auto-answer.js';
import { SwitchLinkPeer, MAX_BATCH, admitHello } from './link.js';
import { describeGateTransition, OverloadGate } from './overload-gate.js';
import { simulate } from './simulate.js';
import { ClaimHold, CLAIM_HOLD_MS } from './claim-hold.js';

/** Builds the call model; default: the simulated PBX. The SIP switch passes its own (src/processes/switch/sip/). */
export type CallModelFactory = (plan: DialPlan, hooks: SwitchHooks) => CallModel;

type Stream = grpc.ServerDuplexStream<LinkUpFrame, sw.ILinkDown>;

export class SimulatedSwitch {
  readonly plan: DialPlan;
  /** The calls: the simulated PBX, or the SIP B2BUA (which also publishes events by itself through the hooks). */
  readonly model: CallModel;
  /** True for the simulated PBX: Simulate (simulated callers, auto-answer) is its alone. */
  readonly simulated: boolean;
  readonly lease: Lease;
  readonly log: EventLog;
  /** New inbound calls shed at the primary's request (OverloadControl; overload-gate.ts). */
  readonly overload: OverloadGate;
  private readonly commandIds: CommandIds;
  private readonly record: CommandRecord;
  private readonly autoAnswer: AutoAnswer;
  private readonly links = new Map<number, SwitchLinkPeer>();
  /** Commands the model runs later (CommandOutcome pending): who asked, and which links wait for the result. */
  private readonly pending = new Map<string, { epoch: number; serverName: string; link: number; repeats: Set<number> }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private nextLinkId = 1;
  private flushScheduled = false;
  private leaseTimer?: NodeJS.Timeout;
  /** Lease time: stall-tolerant (lease-clock.ts). Every lease decision reads it, never the raw clock. */
  private readonly clock: LeaseClock;
  /** LeaseNotices of this turn's transitions, sent to every welcomed link once the handler is done. */
  private pendingNotices: sw.ILeaseNotice[] = [];
  /** Junk at the link port (undecodable frames, wrong secrets): one line per peer host per window. */
  readonly junk: JunkLog;
  /** What a link must present: shown in the ready line. */
  readonly peerAuth: PeerAuthMode;
  /** LeaseHeld claims waiting (claim-hold.ts) for the holder's link to close or its lease to lapse. */
  private readonly claimHold = new ClaimHold(CLAIM_HOLD_MS, () => this.lease.state.kind === 'free', (id, c) => {
    const link = this.links.get(id);
    if (link && !link.closed) { this.onClaim(link, c, this.clock.read(performance.now()), true); this.sendLeaseNotices(); }
  });

  constructor(readonly cfg: SwitchConfig, private readonly logger: Logger, modelFactory?: CallModelFactory) {
    this.plan = new DialPlan(cfg.dialPlan);
    this.simulated = !modelFactory;
    this.model = modelFactory
      ? modelFactory(this.plan, {
        publish: (o) => this.publish(o),
        commandDone: (id, o) => this.commandDone(id, o),
        admit: () => {
          const g = this.overload.admit(performance.now());
          return g.admit ? { admit: true } : { admit: false, message: g.message };
        },
      })
      : new Pbx(this.plan);
    this.lease = new Lease(cfg.leaseMs, (t) => {
      logger.info({ component: 'lease', ...t }, `lease ${t.from} -> ${t.to} (${t.reason}): epoch ${t.oldEpoch} -> ${t.newEpoch}, holder "${t.oldHolder}" -> "${t.newHolder}"`);
      this.pendingNotices.push(leaseNotice(t));
      // A new holder (or none) starts at admit-all: gapping is the old holder's judgement of its own load.
      this.overload.leaseChanged(performance.now());
    });
    this.overload = new OverloadGate((t) => {
      const d = describeGateTransition(t);
      logger[d.level]({ component: 'overload', reason: t.reason, oldPermille: t.oldPermille, admitPermille: t.newPermille, epoch: t.epoch, holder: t.holder, ...(t.episode ?? {}) }, d.msg);
    });
    // A gap longer than two check periods means this loop was blocked: it counts as two periods.
    this.clock = new LeaseClock(2 * this.tickPeriodMs, performance.now());
    this.log = new EventLog(cfg.eventLogSize);
    this.commandIds = new CommandIds(cfg.commandIdsSize);
    this.record = new CommandRecord(cfg.commandLogSize);
    this.autoAnswer = new AutoAnswer(cfg.autoAnswer, cfg.externalAnswerMs);
    this.junk = new JunkLog(logger.child({ component: 'link' }));
    this.peerAuth = peerAuthMode(cfg.secret, cfg.tls);
  }

  private get tickPeriodMs(): number { return Math.max(5, Math.floor(this.cfg.leaseMs / 10)); }

  /** Lapse checks run often enough that a silent holder is dropped within ~leaseMs + leaseMs/10. */
  start(): void {
    this.leaseTimer = setInterval(() => this.tickLease(), this.tickPeriodMs);
  }

  stop(): void {
    clearInterval(this.leaseTimer);
    this.claimHold.stop();
    this.junk.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const l of this.links.values()) l.end();
    this.links.clear();
  }

  /** The grpc-js handler for one Link stream. */
  readonly handleLink = (stream: Stream): void => {
    const link = new SwitchLinkPeer(this.nextLinkId++, stream.getPeer(), stream);
    this.links.set(link.id, link);
    this.logger.info({ component: 'link', link: link.id, peer: link.peer }, 'link opened');
    stream.on('data', (frame: LinkUpFrame) => {
      try { this.onFrame(link, frame); } catch (err) {
        this.logger.error({ component: 'link', link: link.id, err }, 'internal error handling a link message');
        this.send(link, { error: { code: 'Internal', message: `the switch failed on this message: ${(err as Error).message}` } });
      }
      // After the handler: a grantee gets Granted (and its redelivery) before the notice of its grant.
      this.claimHold.leaseMayBeFree();
      this.sendLeaseNotices();
    });
    const gone = (why: string) => {
      if (!this.links.has(link.id)) return;
      this.links.delete(link.id);
      link.closed = true;
      this.logger.info({ component: 'link', link: link.id, peerName: link.serverName, why, ...(link.renewsFor !== undefined ? { renewsFor: link.renewsFor } : {}) }, `link closed (${why})`);
      this.claimHold.drop(link.id);
      this.lease.linkGone(link.id);
      this.claimHold.leaseMayBeFree();
      this.sendLeaseNotices();
      // Its renewer links have nothing left to renew: end them (their owner opens new ones for its next link).
      for (const r of this.links.values()) {
        if (r.renewsFor !== link.id) continue;
        this.links.delete(r.id);
        r.queue({ error: { code: 'RenewedLinkGone', message: `the link this renewer renews (${link.label}) closed: open a renewer for its new link` } });
        r.end();
      }
    };
    stream.on('end', () => { gone('end'); try { stream.end(); } catch { /* gone */ } });
    stream.on('cancelled', () => gone('cancelled'));
    stream.on('error', (err: Error) => gone(`error: ${err.message}`));
    stream.on('close', () => gone('close'));
  };

  private onFrame(link: SwitchLinkPeer, frame: LinkUpFrame): void {
    if (link.closed) return;
    if (!frame.ok) {
      this.junk.report(link.peer, { link: link.id, err: frame.error }, 'undecodable frame');
      return this.send(link, { error: { code: 'BadMessage', message: `could not decode a LinkUp message (${frame.error}): send protobuf tandem.switchlink.LinkUp` } });
    }
    this.onLinkUp(link, frame.msg, false);
  }

  /** One LinkUp, or each of a batch's in order (after Welcome only; a batch in a batch is refused). */
  private onLinkUp(link: SwitchLinkPeer, msg: sw.LinkUp, inBatch: boolean): void {
    const m = oneof(msg, 'msg');
    const kind = m.case;
    if (!kind) return this.send(link, { error: { code: 'BadMessage', message: 'empty LinkUp: set one of hello, claim, heartbeat, command, snapshotQuery, simulate, releaseLease, commandLogQuery' } });
    if (!link.welcomed && kind !== 'hello') return this.send(link, { error: { code: 'NotHello', message: `got ${kind} before Hello: send Hello{serverName} first` } });
    if (link.renewsFor !== undefined && (kind === 'claim' || kind === 'command' || kind === 'overloadControl')) {
      return this.send(link, { error: { code: 'BadMessage', message: `${kind} on a renewer link: a renewer only heartbeats and releases; claim and command on the main link` } });
    }
    const now = this.clock.read(performance.now());
    switch (m.case) {
      case 'hello': return this.onHello(link, m.value);
      case 'claim': return this.onClaim(link, m.value, now);
      case 'heartbeat': return this.onHeartbeat(link, m.value, now);
      case 'releaseLease': return this.onRelease(link, m.value, now);
      case 'command': return this.onCommand(link, m.value, now);
      case 'snapshotQuery':
        return this.send(link, { snapshot: { requestId: m.value.requestId, lastSeq: this.log.lastSeq, devices: this.model.devices(), calls: this.model.snapshotCalls(), trunkPrefix: this.plan.trunkPrefix } });
      case 'commandLogQuery': return this.send(link, { commandLog: this.record.query(m.value.requestId) });
      case 'simulate': return this.onSimulate(link, m.value);
      case 'overloadControl': return this.onOverloadControl(link, m.value, now);
      case 'batch': {
        if (inBatch) return this.send(link, { error: { code: 'BadMessage', message: 'a LinkUpBatch inside a LinkUpBatch: send the messages in one flat batch' } });
        for (const inner of m.value.msgs) {
          if (link.closed) return;
          if (inner.hello) this.send(link, { error: { code: 'BadMessage', message: 'Hello inside a LinkUpBatch: send Hello alone, first' } });
          else this.onLinkUp(link, inner, true);
        }
        return;
      }
      default: return unhandled(m);
    }
  }

  private onHello(link: SwitchLinkPeer, hello: sw.IHello): void {
    if (link.welcomed) return this.send(link, { error: { code: 'BadMessage', message: 'Hello was already received on this link: send it once' } });
    if (!admitHello(link, hello, { secret: this.cfg.secret, links: this.links.values(), junk: this.junk, logger: this.logger })) return;
    link.serverName = hello.serverName || `link#${link.id}`;
    link.batches = hello.batches === true;
    link.eventsAsHolderOnly = hello.eventsAsHolderOnly === true;
    link.welcomed = true;
    this.logger.info({ component: 'link', link: link.id, serverName: link.serverName, ...(link.renewsFor !== undefined ? { renewsFor: link.renewsFor } : {}) }, link.renewsFor !== undefined ? 'hello (renewer link)' : 'hello');
    this.send(link, { welcome: {
      switchName: this.cfg.name, epoch: this.lease.epoch, holder: this.lease.holderName, leaseMs: this.cfg.leaseMs,
      heartbeatMs: this.cfg.heartbeatMs, lastSeq: this.log.lastSeq, oldestSeq: this.log.oldestSeq,
      renewToken: link.renewsFor === undefined ? link.renewToken : '', batches: true,
    } });
  }

  /** `final`: a held claim's last decision (claim-hold.ts); else a LeaseHeld claim is held first. */
  private onClaim(link: SwitchLinkPeer, c: sw.IClaim, now: number, final = false): void {
    this.deliverNotices(this.lease.tick(now));
    const epoch = c.epoch ?? 0;
    const r = this.lease.claim({ linkId: link.id, serverName: link.serverName }, epoch, !!c.force, now);
    if (!r.granted && r.code === 'LeaseHeld' && !final) return this.claimHold.hold(link.id, c);
    if (!r.granted) {
      this.logger.info({ component: 'lease', peerName: link.serverName, epoch, code: r.code, currentEpoch: r.currentEpoch, holder: r.holder }, `claim refused: ${r.code}`);
      return this.send(link, { refused: { epoch, currentEpoch: r.currentEpoch, holder: r.holder, code: r.code, message: r.message } });
    }
    this.deliverNotices(r.notices);
    const applied = c.appliedSeq ?? 0;
    // applied 0 = nothing applied: the claimer rebuilds from a snapshot (proto/switch.proto).
    const redelivery = c.redeliver && applied > 0 ? this.log.since(applied) : { gap: false, events: [] };
    link.queue({ granted: { epoch, leaseMs: this.cfg.leaseMs, lastSeq: this.log.lastSeq, gap: redelivery.gap, oldestSeq: this.log.oldestSeq } });
    // The link is live, so every event up to lastSeq was queued to it before this point; what is
    // queued now is the redelivery, and only events appended later follow it: no gap, no duplicate.
    for (let i = 0; i < redelivery.events.length; i += MAX_BATCH) link.queue({ events: { events: redelivery.events.slice(i, i + MAX_BATCH) } });
    this.flushAll(); // now, not at the turn's end (after a kill -9: the dead holder's links closing, 0.3-1.2 ms)
    this.logger.info({ component: 'lease', peerName: link.serverName, epoch, appliedSeq: applied, lastSeq: this.log.lastSeq, redeliver: !!c.redeliver, redelivered: redelivery.events.length, gap: redelivery.gap }, 'claim granted');
  }

  /**
   * Renew first, then tick: a renewal that waited in our socket while this loop was blocked keeps a
   * lease that our (late) clock would otherwise lapse. Safe: nobody else was granted it meanwhile,
   * since every grant ticks first. A renewer link renews the link it renews for.
   */
  private onHeartbeat(link: SwitchLinkPeer, h: sw.IHeartbeat, now: number): void {
    const r = this.lease.heartbeat(link.renewsFor ?? link.id, h.epoch ?? 0, now);
    this.deliverNotices(this.lease.tick(now));
    this.send(link, { heartbeatAck: { epoch: this.lease.epoch, holder: r.holder, leaseRemainingMs: r.remainingMs } });
  }

  private onRelease(link: SwitchLinkPeer, rl: sw.IReleaseLease, now: number): void {
    this.deliverNotices(this.lease.tick(now));
    const r = this.lease.release(link.renewsFor ?? link.id, rl.epoch ?? 0);
    if (r.ok && link.renewsFor !== undefined) this.logger.warn({ component: 'lease', renewer: link.id, link: link.renewsFor, peerName: link.serverName, epoch: rl.epoch }, 'lease released by a renewer link (its owner\'s watchdog: the main link\'s process stopped making progress)');
    if (r.ok) this.deliverNotices([r.notice]);
    else this.send(link, { error: { code: 'NotLeaseHolder', message: r.message } });
  }

  private onCommand(link: SwitchLinkPeer, cmd: sw.ICommand, now: number): void {
    this.deliverNotices(this.lease.tick(now));
    const commandId = cmd.commandId ?? '';
    const epoch = cmd.epoch ?? 0;
    if (!commandId) return this.send(link, { commandResult: { commandId, ok: false, errorCode: 'BadCommand', errorMessage: 'commandId is missing: every command needs a unique id (exactly-once key)', epoch: this.lease.epoch } });
    const fence = this.lease.fence(link.id, epoch);
    if (!fence.ok) {
      this.record.refuse();
      this.logger.warn({ component: 'command', peerName: link.serverName, commandId, epoch, code: fence.code }, `command refused: ${fence.code}`);
      return this.send(link, { commandResult: { commandId, ok: false, errorCode: fence.code, errorMessage: fence.message, epoch: this.lease.epoch } });
    }
    const repeat = this.commandIds.repeat(commandId);
    if (repeat) {
      this.logger.info({ component: 'command', peerName: link.serverName, commandId }, 'duplicate command id: first result returned, nothing run');
      return this.send(link, { commandResult: repeat });
    }
    const waiting = this.pending.get(commandId);
    if (waiting) {
      // Still running (a remote answer waiting for the phone): this link gets the result too, once.
      this.logger.info({ component: 'command', peerName: link.serverName, commandId }, 'duplicate command id while it is still running: its result follows');
      waiting.repeats.add(link.id);
      return;
    }
    const outcome = this.model.command(cmd, Date.now());
    if ('pending' in outcome) {
      this.pending.set(commandId, { epoch, serverName: link.serverName, link: link.id, repeats: new Set() });
      return;
    }
    this.finish(commandId, epoch, link.serverName, outcome, [link]);
  }

  /** A pending command's outcome (SwitchHooks.commandDone): to every link that sent it and is still open. */
  private commandDone(commandId: string, outcome: PbxOutcome): void {
    const p = this.pending.get(commandId);
    if (!p) {
      this.logger.error({ component: 'command', commandId }, 'internal error: a result for a command that is not pending (dropped)');
      return;
    }
    this.pending.delete(commandId);
    const result = this.finish(commandId, p.epoch, p.serverName, outcome, [this.links.get(p.link)].filter((l): l is SwitchLinkPeer => !!l));
    // A repeat is answered as a repeat after the run would have been: the first result, marked duplicate.
    for (const id of p.repeats) {
      const l = this.links.get(id);
      if (l) this.send(l, { commandResult: { ...result, duplicate: true } });
    }
  }

  /** Events first, then the result (remembered for the id, recorded), as one turn's batch. */
  private finish(commandId: string, epoch: number, serverName: string, outcome: PbxOutcome, links: SwitchLinkPeer[]): sw.ICommandResult {
    this.publish(outcome);
    const result: sw.ICommandResult = outcome.ok
      ? { commandId, ok: true, callId: outcome.callId, epoch }
      : { commandId, ok: false, errorCode: outcome.error.code, errorMessage: outcome.error.message, epoch };
    this.commandIds.remember(commandId, result);
    this.record.accept({ commandId, epoch, serverName, timeMs: Date.now(), seqAfter: this.log.lastSeq });
    if (!outcome.ok) this.logger.info({ component: 'command', peerName: serverName, commandId, code: outcome.error.code }, outcome.error.message);
    for (const l of links) this.send(l, { commandResult: result });
    return result;
  }

  /** The primary's share of new inbound calls to admit: fenced like a command, answered with the gate's status. */
  private onOverloadControl(link: SwitchLinkPeer, oc: sw.IOverloadControl, now: number): void {
    this.deliverNotices(this.lease.tick(now));
    const epoch = oc.epoch ?? 0;
    const r = this.overload.control({ epoch, admitPermille: oc.admitPermille ?? 0, validMs: oc.validMs ?? 0 }, this.lease.fence(link.id, epoch), link.serverName, performance.now());
    if (!r.ok) {
      this.logger.warn({ component: 'overload', peerName: link.serverName, epoch, code: r.code }, r.message);
      return this.send(link, { error: { code: r.code, message: r.message } });
    }
    this.send(link, { overloadStatus: { epoch, admitPermille: r.admitPermille, callsGapped: this.overload.gapped, callsAdmittedWhileGapping: this.overload.admittedWhileGapping } });
  }

  private onSimulate(link: SwitchLinkPeer, s: sw.Simulate): void {
    const requestId = s.requestId ?? 0;
    const o = simulate(s, { simulated: this.simulated, model: this.model, plan: this.plan, overload: this.overload, autoAnswer: this.autoAnswer,
      logger: this.logger, publish: (x) => this.publish(x), startTimer: (t, run) => this.startTimer(t, run) });
    this.send(link, { simulateResult: o.ok
      ? { requestId, ok: true, callId: o.callId }
      : { requestId, ok: false, errorCode: o.error.code, errorMessage: o.error.message } });
  }

  /** Numbers the events, queues them to every welcomed link and starts the timers they call for. */
  publish(o: PbxOutcome): void {
    if (!o.ok || o.events.length === 0) return;
    const events = this.log.append(o.events);
    // A holder-only link that claims later gets what it lacks as the Granted's redelivery.
    for (const l of this.links.values()) if (l.welcomed && l.renewsFor === undefined && (!l.eventsAsHolderOnly || this.lease.holds(l.id))) l.queueEvents(events);
    for (const t of this.autoAnswer.timersFor(events)) {
      this.startTimer(t, () => t.kind === 'answer' ? this.model.autoAnswer(t.callId, t.dn, Date.now()) : this.model.release(t.callId, t.dn, Date.now()));
    }
    this.scheduleFlush();
  }

  private startTimer(t: TimerRequest, run: () => PbxOutcome): void {
    if (this.timers.has(t.key)) return;
    this.timers.set(t.key, setTimeout(() => {
      this.timers.delete(t.key);
      const o = run();
      // The call may have moved on (answered by hand, released): then the timer has nothing to do.
      if (!o.ok) this.logger.debug({ component: 'timer', key: t.key, code: o.error.code }, 'timer found nothing to do');
      this.publish(o);
    }, t.afterMs));
  }

  /** A late check (this loop was blocked) decides nothing: the poll phase first reads what waited. */
  private tickLease(): void {
    const now = this.clock.read(performance.now());
    this.overload.tick(performance.now());
    if (this.clock.late) return;
    this.deliverNotices(this.lease.tick(now));
    this.claimHold.leaseMayBeFree();
    this.sendLeaseNotices();
  }

  /** Every welcomed link (renewers too) hears of every lease change, after any Deposed. */
  private sendLeaseNotices(): void {
    if (this.pendingNotices.length === 0) return;
    const notices = this.pendingNotices;
    this.pendingNotices = [];
    for (const n of notices) for (const l of this.links.values()) if (l.welcomed) l.queue({ leaseNotice: n });
    this.scheduleFlush();
  }

  private deliverNotices(notices: DeposedNotice[]): void {
    for (const n of notices) {
      const l = this.links.get(n.linkId);
      if (l) this.send(l, { deposed: n.deposed });
    }
  }

  private send(link: SwitchLinkPeer, msg: sw.ILinkDown): void {
    link.queue(msg);
    this.scheduleFlush();
  }

  /** One write per link per event-loop turn: events of one turn travel as one EventBatch. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushAll();
    });
  }

  /** Every outbox, in order: a Deposed from this turn goes out before the Granted. */
  private flushAll(): void { for (const l of this.links.values()) if (l.pending) l.flush(); }
}

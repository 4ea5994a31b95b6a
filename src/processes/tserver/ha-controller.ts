// The HA shell: runs the pure role machine (src/ha/machine.ts) and carries out its effects with the
// switch link, the sync library and the T-Server. Every decision is the machine's; this file turns
// switch and sync callbacks into machine inputs, and effects into I/O. Semantics: docs/ha.md.
//
// Invariants:
// - `primary` (SyncPrimary) and `releaser` are set iff the machine is primary or demoting;
// - `backup` (SyncBackup) is set iff the machine is backup or promoting (after its first follow);
// - the backup's core never runs on switch events or requests: its state comes only from the
//   primary's deltas (the switch link is 'following');
// - inputs are processed one at a time: an input raised while effects run (a claim that could not
//   be sent) is queued and processed after them, so effects always see the state they were made for.
import type { Logger } from '../../lib/log.js';
import type { sw } from '../../wire/switch-proto.js';
import { createState, snapshotDeltas } from '../../core/index.js';
import { commandsInFlight } from '../../core/in-flight.js';
import {
  DEFAULT_PARAMS, initialState, roleName, step, willNotClaim, type HaEffect, type HaInput, type HaParams, type HaState, type RoleName, type TimerName,
} from '../../ha/machine.js';
import { SyncBackup, type ReplicationPosition } from '../../adapters/sync/backup.js';
import { SyncPrimary } from '../../adapters/sync/primary.js';
import { UndoLog } from '../../adapters/sync/undo-log.js';
import type { SyncServer } from '../../adapters/sync/server.js';
import type { HaSettings } from './config.js';
import { ImmediateReleaser } from '../../pipeline/releaser.js';
import type { LeaseLoss } from '../../adapters/switch-client/switch-link.js';
import { mayRelease, SyncReleaser } from '../../pipeline/sync-releaser.js';
import { ReindexScheduler } from './reindex-scheduler.js';
import type { TServer } from './tserver.js';
import { systemClock, type Clock, type ClockTimer } from '../../lib/clock.js';
import { RunToCompletion } from '../../lib/run-to-completion.js';

/** How long the preferred backup leaves a new pair's first claim to the preferred primary. */
const STANDBY_START_MS = 2_000;

export interface RoleChange { from: RoleName; to: RoleName; epoch: number; previousEpoch: number; reason: string }

export class HaController {
  private s: HaState = initialState();
  readonly params: HaParams;
  primary: SyncPrimary | undefined;
  backup: SyncBackup | undefined;
  releaser: SyncReleaser | undefined;
  promotions = 0;
  readonly resyncs = { partial: 0, full: 0 };
  private readonly timers: Record<TimerName, ClockTimer | undefined> = { claim: undefined, force: undefined };
  /** One machine input at a time (the invariant above): effects that raise an input see it queued. */
  private readonly inputs = new RunToCompletion<HaInput>((i) => this.run(i));
  /** Where a demoted primary rejoins from (set by drop-primary, read by follow-primary). */
  private rejoinAt: ReplicationPosition | undefined;
  /**
   * The before-images of what this server published as primary (src/adapters/sync/undo-log.ts): recorded
   * while primary, kept after a demotion until the rejoined stream's first Welcome, so a diverged
   * old primary truncates to the divergence point instead of taking a full snapshot.
   */
  private undo: UndoLog | undefined;
  private readonly reindex = new ReindexScheduler(() => this.ts.gateway);
  /** Set iff a primary waits for the switch's snapshot before re-running desktops' registrations. */
  private registrationsAfterSnapshot = false;
  private readonly changeListeners = new Set<(c: RoleChange) => void>();

  /** `clock` drives the role machine's time and timers (tests pass a manual one). */
  constructor(private readonly ts: TServer, private readonly ha: HaSettings, private readonly syncServer: SyncServer, private readonly log: Logger, private readonly clock: Clock = systemClock) {
    this.params = {
      ...DEFAULT_PARAMS,
      claimWindowMs: 1_000, // raised to max(1 s, 3 × lease) once the switch told us the lease
      standbyStartMs: ha.preferredRole === 'backup' ? STANDBY_START_MS : 0,
      selfName: ts.cfg.serverName,
      ...(ts.cfg.peer?.serverName ? { peerName: ts.cfg.peer.serverName } : {}),
    };
    // A primary that stopped serving for a while (its lease renewal late) kept the registrations
    // that came meanwhile (gateway: local while not serving): they run once it serves again.
    ts.role.onChange((now, before) => {
      if (now.role !== 'primary' || !now.serving || before.serving || this.s.kind !== 'primary') return;
      if (this.registrationsAfterSnapshot || ts.link.state === 'resyncing') return;
      if (this.rerunLocalRegistrations() > 0) ts.gateway.reindexAll();
    });
    syncServer.willNotClaim = () => willNotClaim(this.s);
    ts.role.setFence(() => ts.link.leaseValid(), () => {
      this.log.error({ leaseMs: ts.link.leaseMs, linkState: ts.link.state }, 'switch lease not renewed in time: not serving (NotPrimary) until it is renewed or the switch deposes us');
    });
  }

  /** The machine's state (read-only view for status and tests). */
  get state(): HaState { return this.s; }
  get role(): RoleName { return roleName(this.s); }
  get epoch(): number { return this.s.epoch; }
  /** True from the start of a graceful handover until this server is backup again. */
  get handingOver(): boolean { return this.s.kind === 'demoting'; }

  onChange(fn: (c: RoleChange) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  start(): void { this.ts.link.start(); }

  /** Feeds one input to the machine (queued when effects are running) and runs the effects. */
  input(i: HaInput): void {
    this.inputs.submit(i);
  }

  private run(i: HaInput): void {
    const before = this.s;
    const r = step(before, i, this.clock.now(), this.params);
    this.s = r.state;
    // Effects first, then the served view: a new primary is wired (sync, releaser) before desktops
    // hear of it, and a demoted one has dropped its primary side before it says backup.
    for (const e of r.effects) this.effect(e);
    const from = roleName(before), to = roleName(r.state);
    if (from !== to) this.roleChanged({ from, to, epoch: r.state.epoch, previousEpoch: before.epoch, reason: r.reason || i.type });
    else if (r.state.epoch !== before.epoch && r.state.kind !== 'primary' && r.state.kind !== 'demoting') this.ts.role.set({ epoch: r.state.epoch });
  }

  private roleChanged(c: RoleChange): void {
    // The fields of every machine's transition line (common/fsm.ts); the message stays 'role changed',
    // which the chaos drill and the benchmarks read.
    this.log.info({ machine: 'role', from: c.from, to: c.to, oldEpoch: c.previousEpoch, epoch: c.epoch, reason: c.reason }, 'role changed');
    if (c.to === 'stopping') this.ts.role.set({ serving: false });
    else {
      const primaryLike = c.to === 'primary' || c.to === 'demoting';
      this.ts.role.set({ role: primaryLike ? 'primary' : 'backup', epoch: c.epoch, serving: c.to === 'primary' });
    }
    for (const fn of this.changeListeners) fn(c);
  }

  // ---------------------------------------------------------------- inputs from the switch link

  onWelcome(w: sw.IWelcome): void {
    if (w.leaseMs) this.params.claimWindowMs = Math.max(1_000, 3 * w.leaseMs);
    this.input({ type: 'welcome', epoch: w.epoch ?? 0, holder: w.holder ?? '' });
  }

  onGranted(g: sw.IGranted): void { this.input({ type: 'granted', epoch: g.epoch ?? 0 }); }

  onLeaseLost(loss: LeaseLoss): void {
    this.input({ type: loss.kind, epoch: loss.currentEpoch, code: loss.code, holder: loss.holder });
  }

  /** The switch told every link who holds the lease now ('' = free). */
  onLeaseNotice(n: { epoch: number; holder: string; reason: string }): void {
    this.input({ type: 'lease-notice', epoch: n.epoch, holder: n.holder, reason: n.reason });
  }

  /**
   * The switch link is up. After a promotion that rebuilt from a snapshot, this is when commands can
   * go out again. (A grant with redelivery is handled by become-primary / serve-again, which run after
   * this and stamp the new epoch first: re-sent now, commands would carry the old one and be refused.)
   */
  onLinkUp(): void {
    if (this.s.kind !== 'primary' || this.ts.role.epoch < this.ts.link.switchEpoch) return;
    this.resendInFlight('switch link up');
  }

  /** A fresh primary waiting for the switch's snapshot: desktops' registrations are kept and re-run after it. */
  get awaitingSwitchSnapshot(): boolean { return this.registrationsAfterSnapshot; }

  /** The switch's snapshot was applied (a fresh start, or a redelivery gap): devices are known now. */
  onSwitchSnapshot(): void {
    if (!this.registrationsAfterSnapshot || this.s.kind !== 'primary') return;
    this.registrationsAfterSnapshot = false;
    this.rerunLocalRegistrations();
    this.ts.gateway.reindexAll();
  }

  /** A HeartbeatAck renewed the lease: serve again if only the local lease check had stopped us. */
  onRenewed(): void {
    if (this.s.kind !== 'primary') return;
    if (!this.ts.role.serving && this.ts.link.leaseValid()) {
      this.log.info('switch lease renewed: serving again');
      this.ts.role.set({ serving: true });
    }
    this.releaser?.pump();
  }

  // ---------------------------------------------------------------- effects

  private effect(e: HaEffect): void {
    switch (e.type) {
      case 'claim': return this.claim(e.why === 'fresh', e.force);
      case 'follow-primary':
        if (!e.fromPrimary) this.undo = undefined;
        return this.startBackupStream(e.fromPrimary ? this.rejoinAt : this.backup?.position);
      case 'become-primary': return this.becomePrimary(e.epoch, e.why);
      case 'drop-primary': return this.dropPrimary(e.reason);
      case 'link-follow': return this.ts.link.follow(e.reason);
      case 'release-lease': { void this.ts.link.release().catch(() => undefined); return; }
      case 'serve-again':
        this.ts.role.set({ epoch: Math.max(this.ts.role.epoch, this.s.epoch), serving: true });
        this.releaser?.pump();
        return;
      case 'resend-in-flight': return this.resendInFlight(e.why);
      case 'request-handover':
        if (!this.backup?.requestHandover('operator promotion')) this.log.warn('promote refused: the sync stream is not in sync');
        return;
      case 'seed-fresh': return this.seedFreshCounters();
      case 'set-timer': {
        this.clock.clearTimeout(this.timers[e.name]);
        const name = e.name;
        this.timers[name] = this.clock.setTimeout(() => { this.timers[name] = undefined; this.input({ type: 'timer', name }); }, e.ms);
        return;
      }
      case 'cancel-timer':
        this.clock.clearTimeout(this.timers[e.name]);
        this.timers[e.name] = undefined;
        return;
      case 'stop-streams':
        this.backup?.stop('stopping');
        this.backup = undefined;
        this.primary?.close('stopping');
        this.primary = undefined;
        this.syncServer.serve(null);
        return;
      case 'log': { this.log[e.level](e.data ?? {}, e.msg); return; }
      default: {
        const never: never = e;
        throw new Error(`unhandled HA effect ${JSON.stringify(never)}`);
      }
    }
  }

  private claim(fresh: boolean, force: boolean): void {
    // A fresh primary has nothing to redeliver from: it rebuilds from the switch's snapshot.
    if (this.ts.link.claim({ redeliver: !fresh, force })) return;
    if (this.ts.link.state === 'claiming') return; // one is out already: its answer decides
    this.log.debug({ linkState: this.ts.link.state }, 'claim not sent now (switch link not connected): retried');
    this.input({ type: 'claim-unsent' });
  }

  private startBackupStream(position?: ReplicationPosition): void {
    this.backup?.stop('replaced');
    const ts = this.ts;
    const b = new SyncBackup({
      serverName: ts.cfg.serverName,
      primaryAddress: this.ha.peerSync,
      log: this.log,
      secret: this.ha.syncSecret,
      addp: this.ha.addp,
      ...(ts.peerTls ? { tls: ts.peerTls } : {}),
      ...(position && position.replicationId ? { position } : {}),
      ...(this.undo && position && this.undo.offset === position.offset ? { undo: this.undoHooks(this.undo) } : {}),
      reset: () => { ts.core.replaceState(createState()); this.reindex.all(); },
      apply: (deltas) => { ts.core.applyRemote(deltas); this.reindex.applied(deltas); },
    });
    this.backup = b;
    b.on('state', ({ to }) => { if (this.backup === b) this.input({ type: 'sync-state', to }); });
    b.on('welcome', (w) => {
      if (this.backup !== b) return;
      this.undo = undefined; // used (or not needed): the new primary's stream is authoritative now
      this.resyncs[w.mode] += 1;
      this.input({ type: 'sync-welcome', mode: w.mode, primaryName: w.primary.serverName, epoch: w.primary.epoch });
    });
    b.on('refused', (r) => { if (this.backup === b && r.code === 'NOT_PRIMARY_WILL_NOT_CLAIM') this.input({ type: 'peer-will-not-claim' }); });
    b.on('lost', (ev) => { if (this.backup === b) this.input({ type: 'primary-lost', reason: `${ev.reason}: ${ev.detail}` }); });
    b.on('handoverReady', (h) => { if (this.backup === b) this.input({ type: 'handover-ready', finalOffset: h.finalOffset, epoch: h.epoch }); });
    b.start();
  }

  private undoHooks(undo: UndoLog): { truncatableTo(): number; rollback(toOffset: number): boolean } {
    return {
      truncatableTo: () => undo.truncatableTo,
      rollback: (toOffset) => {
        const ok = undo.rollback(this.ts.core.state, toOffset);
        if (ok) this.reindex.all();
        return ok;
      },
    };
  }

  private becomePrimary(epoch: number, why: string): void {
    const ts = this.ts;
    const inherit = this.backup?.position;
    this.backup?.stop(`promoted to primary (epoch ${epoch})`);
    this.backup = undefined;
    const undo = new UndoLog(inherit && inherit.replicationId ? inherit.offset : 0);
    this.undo = undo;
    ts.core.beforeApply = undo.beforeApply;
    const primary = new SyncPrimary({
      serverName: ts.cfg.serverName,
      epoch: () => this.ts.role.epoch,
      // The core's state runs ahead of the sync stream by the batch not sealed yet this turn (it is
      // sealed in a setImmediate): seal and flush it first, so the snapshot is the state at exactly
      // the backlog's end offset. Otherwise those deltas are in the snapshot AND after its offset,
      // and the backup appends their journal entries twice.
      snapshotDeltas: () => { ts.batch.flush(); primary.flush(); return snapshotDeltas(ts.core.state); },
      log: this.log,
      mode: this.ha.syncMode,
      ...(this.ha.syncSecret ? { secret: this.ha.syncSecret } : {}),
      ...(this.ha.backlogBatches ? { backlog: { maxBatches: this.ha.backlogBatches } } : {}),
      addp: this.ha.addp,
      ...(inherit && inherit.replicationId ? { inherit } : {}),
      undo,
    });
    primary.on('handoverRequested', (r) => { void this.handoverHook(`backup ${r.peer} asked for the primary role (${r.reason})`); });
    primary.on('link', () => this.releaser?.pump());
    this.primary = primary;
    this.releaser = new SyncReleaser(primary, (b) => ts.gateway.deliver(b), () => mayRelease(ts.link.leaseValid(), this.handingOver, primary.alone), this.log.child({ component: 'sync-releaser' }));
    ts.releaser.use(this.releaser);
    this.syncServer.serve(primary);
    ts.role.set({ role: 'primary', epoch, serving: true });
    // Desktops hear "serving" (EventServerInfo) now, through the releaser just wired, not after the
    // rest of this turn, the other I/O callbacks and the batch's setImmediate (1-3 ms of a kill -9
    // failover on 2 cores: they send their requests here only once they hear it).
    ts.batch.flush();
    if (why !== 'fresh') {
      this.promotions += 1;
      this.log.info({ epoch, why, appliedSwitchSeq: ts.core.state.appliedSwitchSeq }, 'promoted: redelivery of switch events after our applied seq');
    }
    // A fresh start knows no devices until the switch's snapshot is in: registrations re-run before
    // it would be refused as unknown DNs, and those desktops would never hear of their calls.
    if (ts.link.state === 'resyncing') this.registrationsAfterSnapshot = true;
    else this.rerunLocalRegistrations();
    ts.gateway.reindexAll();
    this.resendInFlight(`promoted (epoch ${epoch})`);
    ts.core.input({ kind: 'tick' });
  }

  /**
   * Re-sends every command in flight (pending requests, ACD offers) with its command id: one dropped
   * while the lease could not be trusted, or whose result went down with the old stream, would
   * otherwise wait for the pending timeout. The switch runs each id at most once.
   */
  private resendInFlight(why: string): void {
    if (this.s.kind !== 'primary' || !this.ts.link.isUp) return;
    const commands = commandsInFlight(this.ts.core.state);
    if (commands.length === 0) return;
    this.log.info({ commands: commands.length, why }, 're-sending the commands in flight (same command ids: the switch runs each at most once)');
    this.ts.link.send(commands);
  }

  /** Registrations desktops made here while we were backup, that the replicated state lacks. */
  private rerunLocalRegistrations(): number {
    const state = this.ts.core.state;
    let n = 0;
    for (const [name, dns] of this.ts.gateway.takeLocalRegistrations()) {
      // Every desktop of a floor registered here while backup (5,000 at promotion, most with one DN,
      // already in the replicated state): no Set per client unless it holds many DNs.
      const held = state.registrations.get(name)?.dns ?? [];
      const have: { has(dn: string): boolean } = held.length > 16 ? new Set(held) : { has: (dn) => held.includes(dn) };
      const missing = dns.filter((dn) => !have.has(dn));
      if (missing.length === 0) continue;
      n += missing.length;
      this.ts.core.registerQuietly(name, missing);
    }
    if (n > 0) this.log.info({ registrations: n }, 'registrations made while backup re-run through the core');
    return n;
  }

  /** A fresh pair: never let seq go below what a client may have seen from an earlier life. */
  private seedFreshCounters(): void {
    const s = this.ts.core.state;
    const seq = Math.max(s.seq, Date.now() * 1000);
    if (seq === s.seq) return;
    this.ts.core.applyRemote([{ op: 'counters', seq, connIdCounter: s.connIdCounter, appliedSwitchSeq: s.appliedSwitchSeq }]);
    this.log.info({ seq }, 'fresh state: event seq starts from the clock');
  }

  /**
   * Stops being primary at the sync level. Seals this turn's batch into the ack releaser first: switch
   * events read in the same turn as a Deposed were applied as primary; sealed after the swap, the
   * ImmediateReleaser would hand their events to desktops without publishing the deltas, and our
   * partial rejoin would keep a state the new primary never had. Held batches are then dropped.
   */
  private dropPrimary(reason: string): void {
    const p = this.primary;
    this.ts.batch.flush();
    this.releaser?.abandon(reason);
    this.rejoinAt = p ? { replicationId: p.replicationId, offset: p.offset } : undefined;
    this.ts.core.beforeApply = undefined;
    p?.close(reason);
    this.primary = undefined;
    this.releaser = undefined;
    this.syncServer.serve(null);
    this.ts.releaser.use(new ImmediateReleaser((b) => this.ts.gateway.deliver(b)));
  }

  /** Set by ha-handover.ts (kept apart: the graceful switchover is its own sequence). */
  handoverHook: (reason: string) => Promise<boolean> = () => Promise.resolve(false);

  stop(reason: string): void {
    this.input({ type: 'stop', reason });
    this.clock.clearTimeout(this.timers.claim);
    this.clock.clearTimeout(this.timers.force);
  }

  /** SIGHUP: addp.trace is reloadable. */
  setTrace(trace: boolean): void {
    this.ha.addp.trace = trace;
    this.primary?.setTrace(trace);
    this.backup?.setTrace(trace);
  }
}

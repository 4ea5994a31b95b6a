// The HA controller: the one place that decides this T-Server's role in a hot-standby pair. It drives
// the RoleMachine (src/ha/role.ts) from the switch link (Welcome, Granted, Refused, Deposed) and the
// sync library (SyncBackup lost / in sync / handover ready, SyncPrimary handover requested), and
// mirrors it into ServerRole (role, epoch, serving) so the gateway pushes EventServerInfo on every
// change. Semantics and the reasons behind each rule: docs/ha.md ("The T-Server process").
//
// Invariants:
// - `primary` (SyncPrimary) and `releaser` are set iff the role is primary or demoting;
// - `backup` (SyncBackup) is set iff the role is backup-syncing, backup-in-sync or promoting;
// - the backup's core never runs on switch events or requests: its state comes only from the
//   primary's deltas (the switch link is 'following');
// - a claim for promotion is only sent with a state that was in sync when the primary was lost
//   (`promotable`), and only within `claimWindowMs` of the loss (after that a primary still holding
//   the lease is alive and running alone: our state is stale until we resync).
import type { Logger } from '../common/log.js';
import type { sw } from '../common/switch-proto.js';
import { createState, snapshotDeltas } from '../core/index.js';
import { commandsInFlight } from '../core/in-flight.js';
import { RoleMachine, type Role as HaRole, type RoleChange } from '../ha/role.js';
import { SyncBackup, type ReplicationPosition } from '../sync/backup.js';
import { SyncPrimary } from '../sync/primary.js';
import type { SyncServer } from '../sync/server.js';
import type { HaSettings } from './config.js';
import { ImmediateReleaser } from './releaser.js';
import type { LeaseLoss } from './switch-link.js';
import { mayRelease, SyncReleaser } from './sync-releaser.js';
import type { TServer } from './tserver.js';

/** Why the outstanding claim was sent: decides what a grant or a refusal means. */
type ClaimWhy = 'fresh' | 'promote' | 'handover' | 'reclaim';

const CLAIM_RETRY_MS = [5, 10, 20, 50];

export class HaController {
  readonly machine: RoleMachine;
  primary: SyncPrimary | undefined;
  backup: SyncBackup | undefined;
  releaser: SyncReleaser | undefined;
  /** True from the start of a graceful handover until this server is backup again. */
  handingOver = false;
  promotions = 0;
  readonly resyncs = { partial: 0, full: 0 };
  private claimWhy: ClaimWhy | undefined;
  private claimForce = false;
  private claimTimer: NodeJS.Timeout | undefined;
  private claimAttempts = 0;
  /** Our state held everything the lost primary released (it was in sync when lost). */
  private promotable = false;
  private lostAt = 0;
  private windowWarned = false;
  private reindexScheduled = false;
  private forceTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly ts: TServer, private readonly ha: HaSettings, private readonly syncServer: SyncServer, private readonly log: Logger) {
    this.machine = new RoleMachine(log.child({ component: 'role' }));
    this.machine.onChange((c) => this.mirror(c));
    ts.role.setFence(() => ts.link.leaseValid(), () => {
      this.log.error({ leaseMs: ts.link.leaseMs, linkState: ts.link.state }, 'switch lease not renewed in time: not serving (NotPrimary) until it is renewed or the switch deposes us');
    });
  }

  get role(): HaRole { return this.machine.role; }
  private get serverName(): string { return this.ts.cfg.serverName; }
  /** A primary that still holds the lease after this long since the loss is alive: stop claiming. */
  private get claimWindowMs(): number { return Math.max(1_000, 3 * (this.ts.link.leaseMs || 400)); }

  start(): void { this.ts.link.start(); }

  // ---------------------------------------------------------------- switch link

  onWelcome(w: sw.IWelcome): void {
    this.observeEpoch(w.epoch ?? 0);
    switch (this.machine.role) {
      case 'starting':
        if (w.holder) {
          this.toBackup(['starting'], `the switch says ${w.holder} holds the lease (epoch ${w.epoch ?? 0}): following it`);
        } else if (this.machine.transition(['starting'], 'promoting', 'no primary anywhere: claiming the switch with a fresh state')) {
          this.seedFreshCounters();
          this.sendClaim('fresh');
        }
        return;
      case 'primary':
        // Our link came back (switch restart, blip): reclaim with redelivery of what we missed.
        this.sendClaim('reclaim');
        return;
      case 'promoting':
        // The claim went down with the old stream: send it again.
        this.sendClaim(this.claimWhy ?? 'promote', this.claimForce);
        return;
      default:
        return;
    }
  }

  onGranted(g: sw.IGranted): void {
    const epoch = g.epoch ?? 0;
    const why = this.claimWhy;
    this.claimWhy = undefined;
    this.claimAttempts = 0;
    if (this.machine.role === 'primary') {
      this.machine.observeEpoch(epoch);
      this.ts.role.set({ epoch: this.machine.epoch, serving: true });
      this.log.info({ epoch }, 'lease granted again after the switch link came back: serving');
      this.resendInFlight('lease granted again');
      return;
    }
    if (this.machine.role !== 'promoting') {
      this.log.error({ epoch, role: this.machine.role }, 'unexpected lease grant: releasing it');
      void this.ts.link.release().catch(() => undefined);
      return;
    }
    this.becomePrimary(epoch, why ?? 'promote', g);
  }

  onLeaseLost(loss: LeaseLoss): void {
    this.observeEpoch(loss.currentEpoch);
    const role = this.machine.role;
    if (loss.kind === 'refused') {
      if (role === 'promoting') {
        const why = this.claimWhy;
        this.claimWhy = undefined;
        this.ts.link.follow(`claim refused (${loss.code})`);
        if (!this.backup) this.toBackup(['promoting'], `claim refused (${loss.code}): ${loss.holder || 'another server'} holds the lease (epoch ${loss.currentEpoch})`);
        else this.machine.transition(['promoting'], 'backup-syncing', `claim refused (${loss.code}): ${loss.holder || 'another server'} holds the lease (epoch ${loss.currentEpoch})`);
        if (why === 'promote' || why === 'handover') this.scheduleClaimRetry();
        return;
      }
      if (role === 'primary') return this.demote(`our reclaim was refused (${loss.code}): ${loss.holder || 'another server'} is primary under epoch ${loss.currentEpoch}`);
      this.ts.link.follow('claim refused');
      return;
    }
    // Deposed: whoever holds the lease now, we no longer command.
    this.ts.role.set({ serving: false });
    if (role === 'primary' || role === 'demoting') {
      this.demote(`deposed by the switch (${loss.code}): new epoch ${loss.currentEpoch}, holder ${loss.holder || 'none'}`);
      // Our own lease lapsed (this process stalled) and nobody took it: the peer is the primary we
      // replaced (hung or dead), so our state is the newest there is. Claim again, as a backup that
      // lost its primary would; else the pair stays without a primary until the hung peer resumes.
      // The switch arbitrates: a peer that claims first wins, and we follow it.
      if (role === 'primary' && loss.code === 'LeaseLapsed' && !loss.holder) {
        this.log.warn({ epoch: loss.currentEpoch }, 'our lease lapsed and nobody holds it: claiming it back with our state');
        this.promotable = true;
        this.lostAt = Date.now();
        this.scheduleClaimRetry();
      }
    } else {
      this.ts.link.follow(`deposed (${loss.code})`);
    }
  }

  /**
   * The switch link is up. After a promotion that rebuilt from a snapshot, this is when commands can
   * go out again. (A grant with redelivery is handled in becomePrimary / onGranted, which run after
   * this and stamp the new epoch first: re-sent now, commands would carry the old one and be refused.)
   */
  onLinkUp(): void {
    if (this.machine.role !== 'primary' || this.ts.role.epoch < this.ts.link.switchEpoch) return;
    this.resendInFlight('switch link up');
  }

  /**
   * Re-sends every command in flight (pending requests, ACD offers) with its command id: one dropped
   * while the lease could not be trusted, or whose result went down with the old stream, would
   * otherwise wait for the pending timeout. The switch runs each id at most once.
   */
  private resendInFlight(why: string): void {
    if (this.machine.role !== 'primary' || !this.ts.link.isUp) return;
    const commands = commandsInFlight(this.ts.core.state);
    if (commands.length === 0) return;
    this.log.info({ commands: commands.length, why }, 're-sending the commands in flight (same command ids: the switch runs each at most once)');
    this.ts.link.send(commands);
  }

  /** A HeartbeatAck renewed the lease: serve again if only the local check had stopped us. */
  onRenewed(): void {
    if (this.machine.role !== 'primary') return;
    if (!this.ts.role.serving && this.ts.link.leaseValid()) {
      this.log.info('switch lease renewed: serving again');
      this.ts.role.set({ serving: true });
    }
    this.releaser?.pump();
  }

  private sendClaim(why: ClaimWhy, force = false): void {
    this.claimWhy = why;
    this.claimForce = force;
    // A fresh primary has nothing to redeliver from: it rebuilds from the switch's snapshot.
    if (!this.ts.link.claim({ redeliver: why !== 'fresh', force })) {
      this.log.debug({ why, linkState: this.ts.link.state }, 'claim not sent now (switch link busy or down): it is sent at the next Welcome or retry');
    }
  }

  // ---------------------------------------------------------------- backup

  private toBackup(from: HaRole[], reason: string, position?: ReplicationPosition): void {
    if (!this.machine.transition(from, 'backup-syncing', reason)) return;
    this.startBackupStream(position);
  }

  private startBackupStream(position?: ReplicationPosition): void {
    this.backup?.stop('replaced');
    const ts = this.ts;
    const b = new SyncBackup({
      serverName: this.serverName,
      primaryAddress: this.ha.peerSync,
      log: this.log,
      secret: this.ha.syncSecret,
      addp: this.ha.addp,
      ...(ts.peerTls ? { tls: ts.peerTls } : {}),
      ...(position && position.replicationId ? { position } : {}),
      reset: () => { ts.core.replaceState(createState()); this.scheduleReindex(); },
      apply: (deltas) => { ts.core.applyRemote(deltas); this.scheduleReindex(); },
    });
    this.backup = b;
    b.on('state', ({ from, to, reason }) => {
      if (this.backup !== b) return;
      if (to === 'in-sync') {
        this.promotable = true;
        this.windowWarned = false;
        this.cancelClaimRetry();
        this.machine.transition(['backup-syncing'], 'backup-in-sync', `sync: ${reason}`);
      } else if (from === 'in-sync') {
        this.machine.transition(['backup-in-sync'], 'backup-syncing', `sync: ${reason}`);
      }
    });
    b.on('welcome', (w) => {
      if (this.backup !== b) return;
      this.observeEpoch(w.primary.epoch);
      this.resyncs[w.mode] += 1;
      // A full resync empties the state: until it is in sync again nothing may be promoted.
      if (w.mode === 'full') this.promotable = false;
      this.cancelClaimRetry();
    });
    b.on('lost', (ev) => {
      if (this.backup !== b) return;
      if (!ev.inSync) {
        this.log.error({ reason: ev.reason, detail: ev.detail, position: ev.position }, 'primary lost while this backup was NOT in sync: not promoting (the state is incomplete); reconnecting');
        return;
      }
      this.lostAt = Date.now();
      this.windowWarned = false;
      this.tryPromote(`primary lost (${ev.reason}: ${ev.detail})`);
    });
    b.on('handoverReady', (h) => {
      if (this.backup !== b) return;
      this.cancelForceTimer();
      this.cancelClaimRetry();
      this.lostAt = Date.now();
      this.promotable = true;
      if (this.machine.transition(['backup-in-sync', 'backup-syncing'], 'promoting', `primary handed over at offset ${h.finalOffset} (epoch ${h.epoch})`)) {
        this.sendClaim('handover');
      }
    });
    b.start();
  }

  private scheduleReindex(): void {
    if (this.reindexScheduled) return;
    this.reindexScheduled = true;
    setImmediate(() => { this.reindexScheduled = false; this.ts.gateway.reindexAll(); });
  }

  /** Backup → promoting → claim epoch+1 with redelivery from the applied switch seq. */
  tryPromote(reason: string, force = false): void {
    if (this.stopped || !this.backup) return;
    if (!this.promotable && !force) {
      this.log.error({ reason }, 'not promoting: this backup has not been in sync since its last resync');
      return;
    }
    if (!this.machine.transition(['backup-syncing', 'backup-in-sync'], 'promoting', reason)) return;
    this.sendClaim('promote', force);
    if (this.claimWhy === 'promote' && this.ts.link.state !== 'claiming') {
      // Link not connected: back to backup, retry shortly (the next Welcome does not claim by itself).
      this.machine.transition(['promoting'], 'backup-syncing', `switch link ${this.ts.link.state}: claim postponed`);
      this.scheduleClaimRetry();
    }
  }

  private scheduleClaimRetry(): void {
    if (this.stopped || this.claimTimer || !this.promotable) return;
    if (this.backup?.state === 'in-sync') return;
    if (Date.now() - this.lostAt > this.claimWindowMs) {
      if (!this.windowWarned) {
        this.windowWarned = true;
        this.promotable = false;
        this.log.warn({ windowMs: this.claimWindowMs }, 'the primary still holds the switch lease: it is alive and runs alone; not promoting (our state is now stale) until the sync link is back and in sync');
      }
      return;
    }
    const delay = CLAIM_RETRY_MS[Math.min(this.claimAttempts, CLAIM_RETRY_MS.length - 1)]!;
    this.claimAttempts += 1;
    this.claimTimer = setTimeout(() => {
      this.claimTimer = undefined;
      this.tryPromote(`retry claim ${this.claimAttempts} (sync stream not in sync)`);
    }, delay);
  }

  private cancelClaimRetry(): void {
    clearTimeout(this.claimTimer);
    this.claimTimer = undefined;
    this.claimAttempts = 0;
  }

  cancelForceTimer(): void {
    clearTimeout(this.forceTimer);
    this.forceTimer = undefined;
  }

  /** SIGUSR1 fallback: the old primary did not hand over in time: take the lease by force. */
  armForceTimer(ms: number): void {
    this.cancelForceTimer();
    this.forceTimer = setTimeout(() => {
      this.forceTimer = undefined;
      if (this.machine.role !== 'backup-in-sync' && this.machine.role !== 'backup-syncing') return;
      this.log.warn({ ms }, 'the primary did not hand over in time: claiming the switch with force');
      this.lostAt = Date.now();
      this.tryPromote('operator promotion (SIGUSR1): no handover answer, forced claim', true);
    }, ms);
  }

  // ---------------------------------------------------------------- primary

  private becomePrimary(epoch: number, why: ClaimWhy, g: sw.IGranted): void {
    const ts = this.ts;
    this.cancelClaimRetry();
    this.cancelForceTimer();
    const inherit = this.backup?.position;
    this.backup?.stop(`promoted to primary (epoch ${epoch})`);
    this.backup = undefined;
    const primary = new SyncPrimary({
      serverName: this.serverName,
      epoch: () => this.machine.epoch,
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
    });
    primary.on('handoverRequested', (r) => { void this.onHandoverRequested(r.peer, r.reason); });
    primary.on('link', () => this.releaser?.pump());
    this.primary = primary;
    this.releaser = new SyncReleaser(primary, (b) => ts.gateway.deliver(b), () => mayRelease(ts.link.leaseValid(), this.handingOver, primary.alone), this.log.child({ component: 'sync-releaser' }));
    ts.releaser.use(this.releaser);
    this.syncServer.serve(primary);
    const reason = why === 'fresh' ? `switch granted epoch ${epoch} (fresh start, snapshot from the switch)`
      : `switch granted epoch ${epoch} (${why}; redelivery after switch seq ${ts.core.state.appliedSwitchSeq}, switch at ${g.lastSeq ?? 0})`;
    this.machine.transition(['promoting'], 'primary', reason, epoch);
    if (why !== 'fresh') this.promotions += 1;
    this.rerunLocalRegistrations();
    ts.gateway.reindexAll();
    this.resendInFlight(`promoted (epoch ${epoch})`);
    ts.core.input({ kind: 'tick' });
  }

  /** Registrations desktops made here while we were backup, that the replicated state lacks. */
  private rerunLocalRegistrations(): void {
    const state = this.ts.core.state;
    let n = 0;
    for (const [name, dns] of this.ts.gateway.takeLocalRegistrations()) {
      const have = new Set(state.registrations.get(name)?.dns ?? []);
      const missing = dns.filter((dn) => !have.has(dn));
      if (missing.length === 0) continue;
      n += missing.length;
      this.ts.core.registerQuietly(name, missing);
    }
    if (n > 0) this.log.info({ registrations: n }, 'registrations made while backup re-run through the core');
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
   * Primary → backup after a deposition (or a refused reclaim): batches still waiting for acks are
   * dropped, the sync port refuses streams, and we follow the new primary from our replication
   * position (a full resync when our history went further than what the new primary inherited).
   */
  demote(reason: string): void {
    const p = this.primary;
    // Seal this turn's batch into the ack releaser first: switch events read in the same turn as the
    // Deposed were applied as primary. Sealed after the swap, the ImmediateReleaser would hand their
    // events to desktops (seqs the new primary gives to other events) without publishing the deltas,
    // and our partial rejoin would keep a state the new primary never had.
    this.ts.batch.flush();
    this.releaser?.abandon(reason);
    const position = p ? { replicationId: p.replicationId, offset: p.offset } : undefined;
    this.dropPrimary(reason);
    this.ts.link.follow(reason);
    this.handingOver = false;
    this.promotable = false;
    this.toBackup(['primary', 'demoting'], reason, position);
  }

  /** Stops being primary at the sync level (the role machine is moved by the caller). */
  dropPrimary(reason: string): void {
    this.primary?.close(reason);
    this.primary = undefined;
    this.releaser = undefined;
    this.syncServer.serve(null);
    this.ts.releaser.use(new ImmediateReleaser((b) => this.ts.gateway.deliver(b)));
  }

  /** Handover finished or failed after the lease was released: rejoin as backup from `position`. */
  rejoinAsBackup(reason: string, position: ReplicationPosition, mayReclaim: boolean): void {
    this.dropPrimary(reason);
    this.ts.link.follow(reason);
    this.handingOver = false;
    this.toBackup(['demoting'], reason, position);
    if (mayReclaim) {
      // Our state is complete and nobody took the lease: claim it back unless the peer does.
      this.promotable = true;
      this.lostAt = Date.now();
      this.scheduleClaimRetry();
    }
  }

  private onHandoverRequested(peer: string, reason: string): Promise<boolean> {
    return this.handoverHook(`backup ${peer} asked for the primary role (${reason})`);
  }

  /** Set by ha-handover.ts (kept apart: the graceful switchover is its own sequence). */
  handoverHook: (reason: string) => Promise<boolean> = () => Promise.resolve(false);

  // ---------------------------------------------------------------- shared

  private observeEpoch(epoch: number): void {
    if (epoch <= this.machine.epoch) return;
    this.machine.observeEpoch(epoch);
    if (this.machine.role !== 'primary') this.ts.role.set({ epoch: this.machine.epoch });
  }

  private mirror(c: RoleChange): void {
    this.log.info({ from: c.from, to: c.to, oldEpoch: c.previousEpoch, epoch: c.epoch, reason: c.reason }, 'role changed');
    const role = c.to === 'primary' || c.to === 'demoting' ? 'primary' : 'backup';
    if (c.to === 'stopping') this.ts.role.set({ serving: false });
    else this.ts.role.set({ role, epoch: c.epoch, serving: c.to === 'primary' });
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelClaimRetry();
    this.cancelForceTimer();
    this.machine.transition(['starting', 'backup-syncing', 'backup-in-sync', 'promoting', 'primary', 'demoting'], 'stopping', reason);
    this.backup?.stop(reason);
    this.backup = undefined;
    this.primary?.close(reason);
    this.primary = undefined;
    this.syncServer.serve(null);
  }

  /** SIGHUP: addp.trace is reloadable. */
  setTrace(trace: boolean): void {
    this.ha.addp.trace = trace;
    this.primary?.setTrace(trace);
    this.backup?.setTrace(trace);
  }
}

// A model of the whole pair for the HA machine's property tests: two servers running the real pure
// machine (src/ha/machine.ts), a switch lease with the real rules (src/processes/switch/lease.ts), the sync
// stream between them, timers on a simulated clock, and a foreign lease holder (a tool with the switch
// secret). Effects are interpreted the way the shell and the sync library carry them out; messages are
// delivered at once unless the receiver is stalled (SIGSTOP: queued until it resumes) or dead.
import { Lease } from '../../src/processes/switch/lease.js';
import type { BackupLinkState } from '../../src/adapters/sync/backup.js';
import {
  DEFAULT_PARAMS, initialState, step, willNotClaim, type HaEffect, type HaInput, type HaParams, type HaState, type TimerName,
} from '../../src/ha/machine.js';

export type Name = 'A' | 'B';
export const NAMES: readonly Name[] = ['A', 'B'];
const LINK: Record<Name | 'X', number> = { A: 1, B: 2, X: 3 };
const NAME_OF: Record<number, Name | 'X'> = { 1: 'A', 2: 'B', 3: 'X' };
export const LEASE_MS = 400;
export const ADDP_TIMEOUT_MS = 400;

interface Server { s: HaState; alive: boolean; stalled: boolean; inbox: HaInput[]; params: HaParams }
interface Timer { at: number; who: Name; name: TimerName }

export class World {
  now = 0;
  readonly servers: Record<Name, Server>;
  readonly lease = new Lease(LEASE_MS);
  syncCut = false;
  /** Each server's SyncBackup state: the stream's truth, which the machine learns only via inputs. */
  readonly stream: Record<Name, BackupLinkState | 'none'> = { A: 'none', B: 'none' };
  timers: Timer[] = [];
  /** Claims on their way to the switch: answered at the next 10 ms tick (a round trip). */
  private claims: { who: Name; force: boolean }[] = [];
  /** Every (server, epoch) that was ever primary while holding the lease (for split-brain checks). */
  readonly trace: string[] = [];

  constructor() {
    const params = (selfName: Name): HaParams => ({ ...DEFAULT_PARAMS, claimWindowMs: 1_200, selfName, peerName: selfName === 'A' ? 'B' : 'A' });
    this.servers = { A: this.fresh('A', params('A')), B: this.fresh('B', params('B')) };
  }

  private fresh(_who: Name, params: HaParams): Server {
    return { s: initialState(), alive: true, stalled: false, inbox: [], params };
  }

  peer(who: Name): Name { return who === 'A' ? 'B' : 'A'; }
  holderName(): Name | 'X' | '' { const st = this.lease.state; return st.kind === 'held' ? NAME_OF[st.holder.linkId]! : ''; }

  /** Both servers start and meet the switch (A first). */
  boot(): void {
    for (const n of NAMES) this.welcome(n);
  }

  welcome(who: Name): void {
    this.deliver(who, { type: 'welcome', epoch: this.lease.epoch, holder: this.holderName() });
  }

  deliver(who: Name, input: HaInput): void {
    const sv = this.servers[who];
    if (!sv.alive) return;
    if (sv.stalled) { sv.inbox.push(input); return; }
    const r = step(sv.s, input, this.now, sv.params);
    sv.s = r.state;
    if (r.state.kind === 'primary' && this.holderName() === who) this.trace.push(`${who}@${r.state.epoch}`);
    for (const e of r.effects) this.effect(who, e);
  }

  private noticeFree(reason: string, except?: Name | 'X'): void {
    for (const n of NAMES) if (n !== except) this.deliver(n, { type: 'lease-notice', epoch: this.lease.epoch, holder: '', reason });
  }

  private effect(who: Name, e: HaEffect): void {
    switch (e.type) {
      case 'claim': this.claims.push({ who, force: e.force }); return;
      case 'follow-primary': this.stream[who] = 'none'; return this.connect(who);
      case 'become-primary': this.stream[who] = 'none'; return;
      case 'drop-primary': return this.closeFollowerOf(who);
      case 'release-lease': {
        if (this.lease.release(LINK[who], this.lease.epoch).ok) this.noticeFree('Released', who);
        return;
      }
      case 'request-handover': return this.handover(this.peer(who));
      case 'set-timer':
        this.timers = this.timers.filter((t) => !(t.who === who && t.name === e.name));
        this.timers.push({ at: this.now + e.ms, who, name: e.name });
        return;
      case 'cancel-timer':
        this.timers = this.timers.filter((t) => !(t.who === who && t.name === e.name));
        return;
      case 'link-follow': case 'serve-again': case 'resend-in-flight': case 'seed-fresh': case 'stop-streams': case 'log':
        return;
      default: { const never: never = e; throw new Error(String(never)); }
    }
  }

  private claim(who: Name, force: boolean): void {
    this.tickLease();
    const s = this.servers[who].s;
    const epoch = Math.max(s.epoch, this.lease.epoch) + 1;
    const r = this.lease.claim({ linkId: LINK[who], serverName: who }, epoch, force, this.now);
    if (!r.granted) return this.deliver(who, { type: 'refused', epoch: r.currentEpoch, code: r.code, holder: r.holder });
    for (const n of r.notices) {
      const old = NAME_OF[n.linkId];
      if (old === 'A' || old === 'B') this.deliver(old, { type: 'deposed', epoch: epoch, code: 'Forced', holder: who });
    }
    this.deliver(who, { type: 'granted', epoch });
  }

  /** The follower's sync stream to its peer, when the peer serves as primary and is reachable. */
  connect(who: Name): void {
    const me = this.servers[who];
    const p = this.servers[this.peer(who)];
    if (me.s.kind !== 'backup' && me.s.kind !== 'promoting') return;
    if (!p.alive || p.stalled || p.s.kind !== 'primary' || this.syncCut) {
      this.setStream(who, 'connecting');
      // A live peer that is not primary refuses the Hello; a backup that will not claim says so.
      if (p.alive && !p.stalled && !this.syncCut && willNotClaim(p.s)) this.deliver(who, { type: 'peer-will-not-claim' });
      return;
    }
    if (this.stream[who] === 'in-sync') return;
    this.setStream(who, 'connecting');
    this.deliver(who, { type: 'sync-welcome', mode: me.s.trusted ? 'partial' : 'full', primaryName: this.peer(who), epoch: p.s.epoch });
    this.setStream(who, 'resyncing');
    this.setStream(who, 'in-sync');
  }

  private setStream(who: Name, to: BackupLinkState): void {
    if (this.stream[who] === to) return;
    this.stream[who] = to;
    this.deliver(who, { type: 'sync-state', to });
  }

  /** The follower's stream ends (primary gone, cut): 'lost', and primary-lost when it had a primary. */
  private streamLost(f: Name, why: string): void {
    const st = this.stream[f];
    if (st !== 'in-sync' && st !== 'resyncing' && st !== 'suspect') return;
    this.setStream(f, 'lost');
    if (st !== 'suspect') this.deliver(f, { type: 'primary-lost', reason: why });
  }

  /** `who` stopped being primary (or died): the peer's stream to it ends. */
  private closeFollowerOf(who: Name): void {
    this.streamLost(this.peer(who), 'closed');
  }

  /** The primary `who` hands over to its in-sync peer (SIGUSR2, or a HandoverRequest after SIGUSR1). */
  handover(who: Name): void {
    const sv = this.servers[who];
    const b = this.peer(who);
    const bs = this.servers[b].s;
    if (!sv.alive || sv.stalled || sv.s.kind !== 'primary' || this.syncCut || bs.kind !== 'backup' || this.stream[b] !== 'in-sync') return;
    this.deliver(who, { type: 'handover-start', reason: 'test' });
    if (this.servers[who].s.kind !== 'demoting') return;
    if (this.lease.release(LINK[who], this.lease.epoch).ok) this.noticeFree('Released', who);
    this.setStream(b, 'handover');
    this.deliver(b, { type: 'handover-ready', finalOffset: 1, epoch: this.lease.epoch });
    this.deliver(who, { type: 'handover-done', reason: 'handed over' });
  }

  // ---------------------------------------------------------------- faults

  kill(who: Name): void {
    const sv = this.servers[who];
    if (!sv.alive) return;
    sv.alive = false;
    sv.stalled = false;
    sv.inbox = [];
    this.stream[who] = 'none';
    this.timers = this.timers.filter((t) => t.who !== who);
    this.claims = this.claims.filter((c) => c.who !== who);
    const wasHolder = this.holderName() === who;
    this.lease.linkGone(LINK[who]);
    if (sv.s.kind === 'primary' || sv.s.kind === 'demoting') this.closeFollowerOf(who);
    if (wasHolder) this.noticeFree('LinkGone', who);
  }

  restart(who: Name): void {
    const sv = this.servers[who];
    if (sv.alive) return;
    Object.assign(sv, { s: initialState(), alive: true, stalled: false, inbox: [] });
    this.stream[who] = 'none';
    this.welcome(who);
  }

  /** SIGSTOP: inputs queue; the peer's ADDP makes it suspect; a holder's lease lapses after LEASE_MS. */
  stall(who: Name): void {
    const sv = this.servers[who];
    if (!sv.alive || sv.stalled) return;
    sv.stalled = true;
    const f = this.peer(who);
    if (sv.s.kind === 'primary' && (this.stream[f] === 'in-sync' || this.stream[f] === 'resyncing')) {
      this.setStream(f, 'suspect');
      this.deliver(f, { type: 'primary-lost', reason: 'addp-timeout' });
    }
  }

  /**
   * A stall past the hang-detection time: the liveness worker's watchdog releases the holder's lease
   * on its behalf (ReleaseLease); the switch deposes it with Released (queued until it resumes) and
   * tells everyone else the lease is free.
   */
  hang(who: Name): void {
    this.stall(who);
    if (this.holderName() !== who || !this.servers[who].alive) return;
    if (!this.lease.release(LINK[who], this.lease.epoch).ok) return;
    this.deliver(who, { type: 'deposed', epoch: this.lease.epoch, code: 'Released', holder: '' });
    this.noticeFree('Released', who);
  }

  /** SIGCONT: queued inputs run in order; a live follower hears the primary again. */
  resume(who: Name): void {
    const sv = this.servers[who];
    if (!sv.alive || !sv.stalled) return;
    sv.stalled = false;
    const inbox = sv.inbox;
    sv.inbox = [];
    for (const i of inbox) this.deliver(who, i);
    const f = this.peer(who);
    if (this.stream[f] === 'suspect' && this.servers[who].s.kind === 'primary') this.setStream(f, 'in-sync');
  }

  cutSync(): void {
    if (this.syncCut) return;
    this.syncCut = true;
    for (const n of NAMES) this.streamLost(n, 'closed');
  }

  healSync(): void { this.syncCut = false; }

  /** A tool with the switch secret claims epoch+1 with force. */
  foreignClaim(): void {
    this.tickLease();
    const r = this.lease.claim({ linkId: LINK.X, serverName: 'X' }, this.lease.epoch + 1, true, this.now);
    if (!r.granted) return;
    for (const n of r.notices) {
      const old = NAME_OF[n.linkId];
      if (old === 'A' || old === 'B') this.deliver(old, { type: 'deposed', epoch: this.lease.epoch, code: 'Forced', holder: 'X' });
    }
  }

  foreignLeave(): void {
    if (this.holderName() !== 'X') return;
    this.lease.linkGone(LINK.X);
    this.noticeFree('LinkGone');
  }

  sigusr1(who: Name): void { this.deliver(who, { type: 'operator-promote' }); }
  sigusr2(who: Name): void { this.handover(who); }

  // ---------------------------------------------------------------- time

  /** Renewals: a live, running holder renews; a stalled or dead one lets its lease lapse. */
  private tickLease(): void {
    const h = this.holderName();
    if (h === 'A' || h === 'B') {
      const sv = this.servers[h];
      if (sv.alive && !sv.stalled) this.lease.heartbeat(LINK[h], this.lease.epoch, this.now);
    } else if (h === 'X') {
      this.lease.heartbeat(LINK.X, this.lease.epoch, this.now);
    }
    for (const n of this.lease.tick(this.now)) {
      const old = NAME_OF[n.linkId];
      if (old === 'A' || old === 'B') this.deliver(old, { type: 'deposed', epoch: this.lease.epoch, code: 'LeaseLapsed', holder: '' });
      this.noticeFree('LeaseLapsed', old);
    }
  }

  /** Advances the clock in 10 ms steps: lease renewals and lapses, due timers, stream reconnects. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + 10);
      this.tickLease();
      const claims = this.claims;
      this.claims = [];
      for (const c of claims) if (this.servers[c.who].alive) this.claim(c.who, c.force);
      const due = this.timers.filter((t) => t.at <= this.now).sort((a, b) => a.at - b.at);
      this.timers = this.timers.filter((t) => t.at > this.now);
      for (const t of due) this.deliver(t.who, { type: 'timer', name: t.name });
      // SyncBackup reconnects with backoff while it has no primary.
      for (const n of NAMES) if (this.stream[n] === 'connecting' || this.stream[n] === 'lost') this.connect(n);
    }
  }

  /** Faults stop: everything resumes, heals, restarts, and the foreign holder goes away. */
  healAll(): void {
    for (const n of NAMES) this.resume(n);
    this.healSync();
    this.foreignLeave();
    for (const n of NAMES) this.restart(n);
  }

  /** One serving primary (holding the lease) and one in-sync backup. */
  healthy(): boolean {
    const ps = NAMES.filter((n) => this.servers[n].s.kind === 'primary');
    if (ps.length !== 1) return false;
    const p = ps[0]!;
    const b = this.servers[this.peer(p)].s;
    return this.holderName() === p && b.kind === 'backup' && b.sync === 'in-sync' && this.stream[this.peer(p)] === 'in-sync';
  }

  describe(): string {
    return NAMES.map((n) => { const s = this.servers[n].s; return `${n}:${s.kind}${'sync' in s ? `/${s.sync}/${s.trusted ? 't' : 'u'}` : ''}@${s.epoch}`; }).join(' ') + ` lease:${this.holderName() || '-'}@${this.lease.epoch}`;
  }
}

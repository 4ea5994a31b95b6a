// The HA role machine of one T-Server: role, claim, the backup's sync state, trust and handover in one
// pure function. `step(state, input, now, params)` returns the next state and the effects the shell
// (src/processes/tserver/ha-controller.ts) runs: claims, streams, timers, role mirroring. No I/O, no clock of its
// own: `now` comes in, so tests replay any interleaving with exact times (test/unit/ha-machine*.ts).
//
// Facts and where they live (each in one place):
// - `epoch`: the highest lease epoch this server holds or has seen; never goes down.
// - `sync` (backup, promoting): the backup stream's state, fed by SyncBackup. "Is the backup in sync?"
//   is `sync === 'in-sync'`, nothing else (the role name backup-in-sync is derived from it).
// - `trusted` (backup, promoting): our state holds everything the last primary released, so we may
//   claim the lease with it. True once in sync and for a deposed or failed-over primary; false from a
//   full resync's Welcome until in sync again, and once a claim window passed while a T-Server that is
//   not foreign (see `isForeign`) kept the lease (it serves alone: our state is stale).
// - `retry` (backup): the claim retry plan after a loss or a refusal; null when none is pending.
// - `lapses` (every state): times our own lease lapsed recently; damps our claim-back so that a server
//   that keeps stalling gives way to its peer instead of flapping.
import type { BackupLinkState, ClaimWhy, Common, Follower, HaEffect, HaInput, HaParams, HaState, Retry, RoleName, Step, TimerName } from './machine-types.js';
import { backoffDelay } from '../lib/backoff.js';

export * from './machine-types.js';

export const initialState = (epoch = 0): HaState => ({ kind: 'starting', epoch, lapses: [] });

export function roleName(s: HaState): RoleName {
  switch (s.kind) {
    case 'backup': return s.sync === 'in-sync' ? 'backup-in-sync' : 'backup-syncing';
    case 'starting': case 'promoting': case 'primary': case 'demoting': case 'stopping': return s.kind;
    default: { const never: never = s; throw new Error(`unknown HA state ${JSON.stringify(never)}`); }
  }
}

/** Serving desktops (the lease check comes on top of this, live, in the shell). */
export const isServingRole = (s: HaState): boolean => s.kind === 'primary';
/** Promotable now: a backup whose stream is in sync (an operator switchover is accepted). */
export const isPromotable = (s: HaState): boolean => s.kind === 'backup' && s.sync === 'in-sync';

/**
 * A backup that will not claim the lease by itself: its state is not trusted and no fresh start is
 * pending. A restarted peer waiting for it before a fresh start (freshStartWaitMs) need not wait.
 */
export const willNotClaim = (s: HaState): boolean => s.kind === 'backup' && !s.trusted && s.retry?.why !== 'fresh';

/**
 * A lease holder that is neither us nor our peer T-Server (a tool holding the switch secret). It does
 * not serve desktops, so while it holds the lease our state does not go stale. Without a configured
 * peer name every other holder counts as the peer (the safe side: trust decays).
 */
export function isForeign(holder: string, p: HaParams): boolean {
  return holder !== '' && p.peerName !== undefined && holder !== p.peerName && holder !== p.selfName;
}

export function step(s: HaState, input: HaInput, now: number, p: HaParams): Step {
  const epoch = Math.max(s.epoch, epochOf(input));
  const st = epoch === s.epoch ? s : { ...s, epoch };
  return dispatch(st, input, now, p);
}

function epochOf(i: HaInput): number {
  switch (i.type) {
    case 'welcome': case 'granted': case 'refused': case 'deposed': case 'lease-notice': case 'sync-welcome': case 'handover-ready':
      return i.epoch;
    default: return 0;
  }
}

const keep = (state: HaState, reason = ''): Step => ({ state, effects: [], reason });

function follower(s: HaState, over: Partial<Follower> = {}): Follower {
  const base: Follower = s.kind === 'backup' || s.kind === 'promoting'
    ? { epoch: s.epoch, lapses: s.lapses, sync: s.sync, trusted: s.trusted, primaryName: s.primaryName, retry: s.retry }
    : { epoch: s.epoch, lapses: s.lapses, sync: 'none', trusted: false, primaryName: '', retry: null };
  return { ...base, ...over };
}

const backup = (s: HaState, over: Partial<Follower> = {}): HaState => ({ kind: 'backup', ...follower(s, over) });

function promoting(s: HaState, why: ClaimWhy, force: boolean, over: Partial<Follower> = {}): Step {
  return {
    state: { kind: 'promoting', why, force, ...follower(s, over) },
    effects: [{ type: 'cancel-timer', name: 'claim' }, { type: 'claim', why, force }],
    reason: '',
  };
}

function recentLapses(lapses: readonly number[], now: number, p: HaParams): number[] {
  return lapses.filter((t) => now - t < p.lapseMemoryMs).slice(-8);
}

/** The claim-back delay after our own lapses: lapseDampMs doubling per recent lapse (at most 8 kept). */
function lapseDamping(lapses: readonly number[], p: HaParams): number {
  return backoffDelay({ initialMs: p.lapseDampMs, maxMs: Infinity }, lapses.length - 1);
}

/** A retry plan starting now, and the timer for its first attempt. */
function planRetry(why: ClaimWhy, force: boolean, now: number, p: HaParams, firstDelay?: number): { retry: Retry; timer: HaEffect } {
  const retry: Retry = { why, force, attempts: 0, windowUntil: now + p.claimWindowMs };
  return { retry, timer: { type: 'set-timer', name: 'claim', ms: firstDelay ?? p.retryMs[0]! } };
}

function nextRetry(r: Retry, now: number, p: HaParams): { retry: Retry; timer: HaEffect } {
  const attempts = r.attempts + 1;
  const ms = now < r.windowUntil ? p.retryMs[Math.min(attempts, p.retryMs.length - 1)]! : p.slowRetryMs;
  return { retry: { ...r, attempts }, timer: { type: 'set-timer', name: 'claim', ms } };
}

function dispatch(s: HaState, i: HaInput, now: number, p: HaParams): Step {
  if (s.kind === 'stopping') return keep(s, 'stopping: input ignored');
  switch (i.type) {
    case 'stop':
      return { state: { kind: 'stopping', epoch: s.epoch, lapses: s.lapses }, effects: [{ type: 'cancel-timer', name: 'claim' }, { type: 'cancel-timer', name: 'force' }, { type: 'stop-streams' }], reason: i.reason };
    case 'welcome': return onWelcome(s, i, now, p);
    case 'granted': return onGranted(s, i);
    case 'refused': return onRefused(s, i, now, p);
    case 'deposed': return onDeposed(s, i, now, p);
    case 'lease-notice': return onLeaseNotice(s, i, now, p);
    case 'claim-unsent': {
      if (s.kind !== 'promoting') return keep(s);
      const { retry, timer } = s.retry ? nextRetry(s.retry, now, p) : planRetry(s.why, s.force, now, p);
      return { state: backup(s, { retry }), effects: [timer], reason: 'switch link not connected: claim postponed' };
    }
    case 'sync-state': return onSyncState(s, i.to);
    case 'sync-welcome': {
      if (s.kind !== 'backup' && s.kind !== 'promoting') return keep(s);
      // A primary is alive and serving us: no claim is due. A full resync empties our state.
      const trusted = i.mode === 'full' ? false : s.trusted;
      const state: HaState = s.kind === 'backup' ? { ...s, trusted, primaryName: i.primaryName, retry: null } : { ...s, trusted, primaryName: i.primaryName };
      return { state, effects: s.kind === 'backup' ? [{ type: 'cancel-timer', name: 'claim' }] : [], reason: `${i.mode} resync from ${i.primaryName}` };
    }
    case 'peer-will-not-claim':
      // The wait before a fresh start is for a peer that may come back with newer state (a frozen
      // primary, a trusted backup about to claim); this one said it will not: start fresh now.
      if (s.kind !== 'backup' || s.retry?.why !== 'fresh') return keep(s);
      return freshStart(s, 'our peer is a backup that will not claim (its state is not trusted): fresh start without waiting', [{ type: 'cancel-timer', name: 'claim' }]);
    case 'primary-lost': {
      if (s.kind !== 'backup') return keep(s);
      if (!s.trusted) {
        return { state: s, effects: [{ type: 'log', level: 'error', msg: 'primary lost while this backup was NOT in sync: not promoting (the state is incomplete); following whoever is primary next', data: { reason: i.reason } }], reason: i.reason };
      }
      const step = promoting(s, 'promote', false, { retry: planRetry('promote', false, now, p).retry });
      return { ...step, reason: `primary lost (${i.reason})` };
    }
    case 'handover-ready': {
      if (s.kind !== 'backup') return keep(s);
      const step = promoting(s, 'handover', false, { trusted: true, retry: planRetry('handover', false, now, p).retry });
      return { ...step, effects: [{ type: 'cancel-timer', name: 'force' }, ...step.effects], reason: `primary handed over at offset ${i.finalOffset} (epoch ${i.epoch})` };
    }
    case 'operator-promote': {
      if (s.kind === 'primary') return { state: s, effects: [{ type: 'log', level: 'info', msg: 'promote requested: already primary' }], reason: '' };
      if (!isPromotable(s)) {
        return { state: s, effects: [{ type: 'log', level: 'warn', msg: 'promote refused: this backup is not in sync (promoting now would lose what the primary released)', data: { role: roleName(s) } }], reason: '' };
      }
      return { state: s, effects: [{ type: 'request-handover' }, { type: 'set-timer', name: 'force', ms: p.handoverAnswerMs }], reason: 'operator promotion: handover requested' };
    }
    case 'handover-start':
      if (s.kind !== 'primary') return keep(s);
      return { state: { kind: 'demoting', epoch: s.epoch, lapses: s.lapses }, effects: [], reason: `handover: ${i.reason}` };
    case 'handover-done':
      if (s.kind !== 'demoting') return keep(s);
      // We handed over: the new primary serves and resyncs us from our final offset.
      return { state: backup(s, { sync: 'none', trusted: false, retry: null }), effects: [{ type: 'drop-primary', reason: i.reason }, { type: 'link-follow', reason: i.reason }, { type: 'follow-primary', fromPrimary: true }], reason: i.reason };
    case 'handover-failed': {
      if (s.kind !== 'demoting') return keep(s);
      if (!i.leaseReleased && i.leaseValid) return { state: { kind: 'primary', epoch: s.epoch, lapses: s.lapses }, effects: [{ type: 'serve-again' }], reason: `handover failed before the lease was released (${i.reason}): serving again` };
      // The lease is gone and our state is complete: rejoin as backup, claim it back unless the peer does.
      const { retry, timer } = planRetry('reclaim', false, now, p);
      return { state: backup(s, { sync: 'none', trusted: true, retry }), effects: [{ type: 'drop-primary', reason: i.reason }, { type: 'link-follow', reason: i.reason }, { type: 'follow-primary', fromPrimary: true }, timer], reason: `handover failed after the lease was released (${i.reason})` };
    }
    case 'timer': return onTimer(s, i.name, now, p);
    default: {
      const never: never = i;
      throw new Error(`unknown HA input ${JSON.stringify(never)}`);
    }
  }
}

function onWelcome(s: HaState, w: { holder: string }, now: number, p: HaParams): Step {
  switch (s.kind) {
    case 'starting':
      if (w.holder) return { state: backup(s), effects: [{ type: 'follow-primary', fromPrimary: false }], reason: `the switch says ${w.holder} holds the lease (epoch ${s.epoch}): following it` };
      if (s.epoch > 0) {
        // The pair lived before (the switch granted epochs) and nobody holds the lease now: our peer
        // may be frozen or about to reclaim with the newest state. A fresh start would drop agent
        // states and user data, so give it the claim window first; follow it if it comes back.
        const { retry, timer } = planRetry('fresh', false, now, p, p.freshStartWaitMs);
        return { state: backup(s, { retry }), effects: [{ type: 'follow-primary', fromPrimary: false }, timer], reason: `nobody holds the lease (epoch ${s.epoch}): waiting ${p.freshStartWaitMs} ms for the peer before a fresh start` };
      }
      if (p.standbyStartMs > 0) {
        const { retry, timer } = planRetry('fresh', false, now, p, p.standbyStartMs);
        return { state: backup(s, { retry }), effects: [{ type: 'follow-primary', fromPrimary: false }, timer], reason: `first start, preferred role backup: waiting ${p.standbyStartMs} ms for the preferred primary to claim` };
      }
      return { state: { kind: 'promoting', why: 'fresh', force: false, ...follower(s) }, effects: [{ type: 'seed-fresh' }, { type: 'claim', why: 'fresh', force: false }], reason: 'no primary anywhere: claiming the switch with a fresh state' };
    case 'primary':
      // Our link came back (switch restart, blip): reclaim with redelivery of what we missed.
      return { state: s, effects: [{ type: 'claim', why: 'reclaim', force: false }], reason: 'switch link back: reclaiming' };
    case 'promoting':
      // The claim went down with the old stream: send it again.
      return { state: s, effects: [{ type: 'claim', why: s.why, force: s.force }], reason: 'switch link back: claim sent again' };
    case 'backup':
      // Nobody holds the lease (a restarted switch, a lapsed foreign claim): claim if our primary is
      // gone; a primary that still streams to us reclaims by itself.
      return w.holder === '' && s.sync !== 'in-sync' ? leaseFree(s, now, p, 'switch link welcome: nobody holds the lease') : keep(s);
    case 'demoting': case 'stopping':
      return keep(s);
    default: { const never: never = s; return never; }
  }
}

function onGranted(s: HaState, g: { epoch: number }): Step {
  if (s.kind === 'promoting') {
    return {
      state: { kind: 'primary', epoch: s.epoch, lapses: s.lapses },
      effects: [{ type: 'cancel-timer', name: 'claim' }, { type: 'cancel-timer', name: 'force' }, { type: 'become-primary', epoch: g.epoch, why: s.why }],
      reason: s.why === 'fresh' ? `switch granted epoch ${g.epoch} (fresh start, snapshot from the switch)` : `switch granted epoch ${g.epoch} (${s.why})`,
    };
  }
  if (s.kind === 'primary') {
    return { state: s, effects: [{ type: 'serve-again' }, { type: 'resend-in-flight', why: 'lease granted again' }], reason: 'lease granted again after the switch link came back' };
  }
  return { state: s, effects: [{ type: 'log', level: 'error', msg: 'unexpected lease grant: releasing it', data: { epoch: g.epoch, role: roleName(s) } }, { type: 'release-lease' }], reason: '' };
}

function onRefused(s: HaState, r: { code: string; holder: string }, now: number, p: HaParams): Step {
  const who = `${r.holder || 'another server'} holds the lease (epoch ${s.epoch})`;
  if (s.kind === 'primary') {
    return demote(s, `our reclaim was refused (${r.code}): ${who}`, false, now, p);
  }
  if (s.kind !== 'promoting') return { state: s, effects: [{ type: 'link-follow', reason: 'claim refused' }], reason: '' };
  const reason = `claim refused (${r.code}): ${who}`;
  const effects: HaEffect[] = [{ type: 'link-follow', reason }];
  // No stream (never started), or it ended with a HandoverReady: follow whoever holds the lease now.
  if (s.sync === 'none' || s.sync === 'handover') effects.push({ type: 'follow-primary', fromPrimary: false });
  // The stream to a live primary is in sync: nothing to claim. A fresh start follows the holder.
  if (s.sync === 'in-sync' || s.why === 'fresh' || s.why === 'reclaim' && !s.trusted) return { state: backup(s, { retry: null }), effects, reason };
  const plan = s.retry ?? planRetry(s.why, s.force, now, p).retry;
  if (now >= plan.windowUntil && !isForeign(r.holder, p) && s.trusted) {
    effects.push({ type: 'log', level: 'warn', msg: 'the primary still holds the switch lease: it is alive and runs alone; not promoting (our state is now stale) until the sync link is back and in sync', data: { windowMs: p.claimWindowMs, holder: r.holder } });
    return { state: backup(s, { trusted: false, retry: null }), effects, reason };
  }
  if (!s.trusted) return { state: backup(s, { retry: null }), effects, reason };
  const { retry, timer } = nextRetry(plan, now, p);
  effects.push(timer);
  return { state: backup(s, { retry }), effects, reason };
}

function onDeposed(s: HaState, d: { code: string; holder: string }, now: number, p: HaParams): Step {
  if (s.kind !== 'primary' && s.kind !== 'demoting') return { state: s, effects: [{ type: 'link-follow', reason: `deposed (${d.code})` }], reason: '' };
  const reason = `deposed by the switch (${d.code}): new epoch ${s.epoch}, holder ${d.holder || 'none'}`;
  // Our lease lapsed (this process stalled) and nobody took it: the peer is hung or dead and our state
  // is the newest there is, so claim it back, after a delay that grows with each recent lapse (a
  // server that keeps stalling gives its peer the first chance). A foreign holder (a tool's forced
  // claim) does not serve: keep our trust and claim once it is gone.
  // Released while we were primary (not handing over): our own liveness watchdog gave the lease up
  // after a stall of the main thread. The same as a lapse: nobody else was granted it, and the peer
  // may be untrusted (it saw us run alone) and never claim, so if we do not, nobody serves (chaos:
  // both servers backup for good after a 413 ms stall of the primary).
  const lapsed = d.code === 'LeaseLapsed' || (d.code === 'Released' && s.kind === 'primary');
  const mayReclaim = (lapsed && !d.holder) || isForeign(d.holder, p);
  return demote(s, reason, mayReclaim, now, p, lapsed);
}

function demote(s: HaState & Common, reason: string, mayReclaim: boolean, now: number, p: HaParams, lapsed = false): Step {
  const lapses = lapsed ? [...recentLapses(s.lapses, now, p), now] : recentLapses(s.lapses, now, p);
  const effects: HaEffect[] = [{ type: 'drop-primary', reason }, { type: 'link-follow', reason }, { type: 'follow-primary', fromPrimary: true }];
  if (!mayReclaim) return { state: backup({ ...s, lapses }, { sync: 'none', trusted: false, retry: null }), effects, reason };
  const { retry, timer } = planRetry('reclaim', false, now, p, lapsed ? lapseDamping(lapses, p) : undefined);
  effects.push(timer);
  return { state: backup({ ...s, lapses }, { sync: 'none', trusted: true, retry }), effects, reason };
}

function onLeaseNotice(s: HaState, n: { holder: string; reason: string }, now: number, p: HaParams): Step {
  if (s.kind !== 'backup') return keep(s);
  if (n.holder !== '') {
    // Someone took the lease: a fresh start we were waiting to make is not needed any more.
    return s.retry?.why === 'fresh' ? { state: { ...s, retry: null }, effects: [{ type: 'cancel-timer', name: 'claim' }], reason: `${n.holder} holds the lease: no fresh start` } : keep(s);
  }
  // Released = a handover: HandoverReady follows with the final offset (claiming before it could miss
  // deltas); if the primary dies instead, its stream closes and primary-lost claims.
  if (n.reason === 'Released') return keep(s, 'lease released: waiting for HandoverReady');
  // LeaseLapsed: the primary stopped renewing (hung, or its switch link went silent): it serves no
  // more, claim even while our stream still looks in sync. LinkGone with a live, in-sync stream is
  // a blip of the primary's switch link: it reclaims (if it crashed, its stream closes too).
  if (n.reason !== 'LeaseLapsed' && s.sync === 'in-sync') return keep(s, `lease free (${n.reason}) but our primary's stream is alive: it reclaims`);
  return leaseFree(s, now, p, `the switch says the lease is free (${n.reason})`);
}

/** The lease is free: a trusted backup claims (at once when it was following; damped after our own lapses). */
function leaseFree(s: Extract<HaState, { kind: 'backup' }>, now: number, p: HaParams, why: string): Step {
  if (!s.trusted) return keep(s, `${why}: not trusted, not claiming`);
  const lapses = recentLapses(s.lapses, now, p);
  if (lapses.length > 0) {
    const { retry, timer } = planRetry('lease-free', false, now, p, lapseDamping(lapses, p));
    return { state: { ...s, retry }, effects: [timer], reason: `${why}: claiming after the damping delay` };
  }
  const step = promoting(s, 'lease-free', false, { retry: s.retry ?? planRetry('lease-free', false, now, p).retry });
  return { ...step, reason: why };
}

function onSyncState(s: HaState, to: BackupLinkState): Step {
  if (s.kind !== 'backup' && s.kind !== 'promoting') return keep(s);
  if (to === 'in-sync') {
    // A live primary serves us and we hold everything it released: trusted, and no claim is due.
    const state: HaState = s.kind === 'backup' ? { ...s, sync: to, trusted: true, retry: null } : { ...s, sync: to, trusted: true };
    return { state, effects: s.kind === 'backup' ? [{ type: 'cancel-timer', name: 'claim' }] : [], reason: 'sync: caught up' };
  }
  return { state: { ...s, sync: to }, effects: [], reason: `sync: ${to}` };
}

function onTimer(s: HaState, name: TimerName, now: number, p: HaParams): Step {
  if (s.kind !== 'backup') return keep(s, `timer ${name}: stale`);
  if (name === 'force') {
    if (!s.trusted) return keep(s, 'force timer: not trusted');
    const step = promoting(s, 'promote', true, { retry: planRetry('promote', true, now, p).retry });
    return { ...step, effects: [{ type: 'log', level: 'warn', msg: 'the primary did not hand over in time: claiming the switch with force', data: { ms: p.handoverAnswerMs } }, ...step.effects], reason: 'operator promotion (SIGUSR1): no handover answer, forced claim' };
  }
  if (s.retry?.why === 'fresh') return freshStart(s, 'no primary came back within the claim window: fresh start');
  if (!s.retry || !s.trusted || s.sync === 'in-sync') return { state: { ...s, retry: null }, effects: [], reason: 'claim retry: not due' };
  const step = promoting(s, s.retry.why, s.retry.force);
  return { ...step, reason: `retry claim ${s.retry.attempts + 1} (${s.retry.why})` };
}

/** Nobody to follow: start fresh from the switch's snapshot (a peer that claims meanwhile wins, and we follow it). */
function freshStart(s: Extract<HaState, { kind: 'backup' }>, reason: string, first: HaEffect[] = []): Step {
  if (s.sync === 'in-sync' || s.sync === 'resyncing' || s.sync === 'suspect') return { state: { ...s, retry: null }, effects: [], reason: 'fresh start not needed: a primary serves us' };
  return { state: { kind: 'promoting', why: 'fresh', force: false, ...follower(s, { retry: null }) }, effects: [...first, { type: 'seed-fresh' }, { type: 'claim', why: 'fresh', force: false }], reason };
}

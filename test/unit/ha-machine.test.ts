// The pure HA machine: exact state and effect sequences for each rule, with exact times.
import t from 'tap';
import {
  DEFAULT_PARAMS, initialState, isPromotable, roleName, step, willNotClaim, type HaEffect, type HaInput, type HaParams, type HaState,
} from '../../src/ha/machine.js';

const P: HaParams = { ...DEFAULT_PARAMS, claimWindowMs: 1_200, selfName: 'A', peerName: 'B' };

/** Runs inputs at the given times; returns the final state and every step's role name and effects. */
function run(inputs: [number, HaInput][], s: HaState = initialState(), p: HaParams = P) {
  const trail: { role: string; effects: HaEffect[] }[] = [];
  for (const [now, i] of inputs) {
    const r = step(s, i, now, p);
    s = r.state;
    trail.push({ role: roleName(s), effects: r.effects });
  }
  return { s, trail, roles: trail.map((x) => x.role), kinds: trail.map((x) => x.effects.map((e) => e.type === 'set-timer' ? `timer:${e.ms}` : e.type)) };
}

const inSyncBackup = (): HaState => run([
  [0, { type: 'welcome', epoch: 1, holder: 'B' }],
  [10, { type: 'sync-welcome', mode: 'full', primaryName: 'B', epoch: 1 }],
  [20, { type: 'sync-state', to: 'in-sync' }],
]).s;

t.test('cold start with a holder: backup, follows, in sync; the stream closes: promotion claim', async (t) => {
  const r = run([
    [0, { type: 'welcome', epoch: 1, holder: 'B' }],
    [10, { type: 'sync-state', to: 'resyncing' }],
    [20, { type: 'sync-state', to: 'in-sync' }],
    [30, { type: 'sync-state', to: 'lost' }],
    [30, { type: 'primary-lost', reason: 'closed' }],
    [40, { type: 'granted', epoch: 2 }],
  ]);
  t.same(r.roles, ['backup-syncing', 'backup-syncing', 'backup-in-sync', 'backup-syncing', 'promoting', 'primary']);
  t.same(r.kinds, [['follow-primary'], [], ['cancel-timer'], [], ['cancel-timer', 'claim'], ['cancel-timer', 'cancel-timer', 'become-primary']]);
  t.equal(r.s.epoch, 2);
});

t.test('no holder at start: fresh claim; refused (the peer won the race): follows it, no retry', async (t) => {
  const r = run([[0, { type: 'welcome', epoch: 0, holder: '' }], [5, { type: 'refused', epoch: 1, code: 'LeaseHeld', holder: 'B' }]]);
  t.same(r.roles, ['promoting', 'backup-syncing']);
  t.same(r.kinds, [['seed-fresh', 'claim'], ['link-follow', 'follow-primary']]);
});

t.test('first start of a pair, preferred role backup: leaves the first claim to the peer, then starts fresh', async (t) => {
  const standby: HaParams = { ...P, standbyStartMs: 2_000 };
  const peerFirst = run([[0, { type: 'welcome', epoch: 0, holder: '' }], [700, { type: 'lease-notice', epoch: 1, holder: 'B', reason: 'Claimed' }]], initialState(), standby);
  t.same(peerFirst.kinds, [['follow-primary', 'timer:2000'], ['cancel-timer']], 'the preferred primary claimed: no claim of ours');
  t.equal(peerFirst.roles.at(-1), 'backup-syncing');
  const alone = run([[0, { type: 'welcome', epoch: 0, holder: '' }], [2_000, { type: 'timer', name: 'claim' }], [2_010, { type: 'granted', epoch: 1 }]], initialState(), standby);
  t.same(alone.roles, ['backup-syncing', 'promoting', 'primary'], 'the peer never came: this server starts the pair');
  t.same(alone.kinds[1], ['seed-fresh', 'claim']);
  const preferred = run([[0, { type: 'welcome', epoch: 0, holder: '' }]]);
  t.same(preferred.kinds, [['seed-fresh', 'claim']], 'standbyStartMs 0 (preferred primary): claims at once');
});

t.test('a restart with nobody holding the lease after the pair lived: waits the claim window for the peer, then starts fresh', async (t) => {
  const r = run([[0, { type: 'welcome', epoch: 5, holder: '' }], [3_000, { type: 'timer', name: 'claim' }], [3_010, { type: 'granted', epoch: 6 }]]);
  t.same(r.roles, ['backup-syncing', 'promoting', 'primary']);
  t.same(r.kinds, [['follow-primary', 'timer:3000'], ['seed-fresh', 'claim'], ['cancel-timer', 'cancel-timer', 'become-primary']]);
  const taken = run([[0, { type: 'welcome', epoch: 5, holder: '' }], [900, { type: 'lease-notice', epoch: 6, holder: 'B', reason: 'Claimed' }]]);
  t.same(taken.kinds[1], ['cancel-timer'], 'the peer reclaimed: no fresh start');
  const peerBack = run([[0, { type: 'welcome', epoch: 5, holder: '' }], [300, { type: 'sync-welcome', mode: 'full', primaryName: 'B', epoch: 6 }], [310, { type: 'sync-state', to: 'resyncing' }], [1_200, { type: 'timer', name: 'claim' }]]);
  t.equal(peerBack.roles.at(-1), 'backup-syncing', 'the peer came back and resyncs us: no fresh start');
  t.same(peerBack.kinds.at(-1), []);
});

t.test('a backup that was never in sync does not promote when its primary is lost', async (t) => {
  const r = run([[0, { type: 'welcome', epoch: 1, holder: 'B' }], [10, { type: 'primary-lost', reason: 'closed' }]]);
  t.same(r.roles, ['backup-syncing', 'backup-syncing']);
  t.same(r.kinds[1], ['log']);
});

t.test('refused while the primary still holds the lease: retries 5, 10, 20, 50 ms; trust decays after the window', async (t) => {
  let s = inSyncBackup();
  s = step(s, { type: 'sync-state', to: 'suspect' }, 100, P).state;
  s = step(s, { type: 'primary-lost', reason: 'addp-timeout' }, 100, P).state;
  t.equal(roleName(s), 'promoting');
  const delays: number[] = [];
  let now = 100;
  for (let k = 0; k < 4; k++) {
    const r = step(s, { type: 'refused', epoch: 1, code: 'LeaseHeld', holder: 'B' }, now, P);
    const timer = r.effects.find((e) => e.type === 'set-timer');
    delays.push(timer && timer.type === 'set-timer' ? timer.ms : -1);
    now += 60;
    s = step(r.state, { type: 'timer', name: 'claim' }, now, P).state;
    t.equal(roleName(s), 'promoting');
  }
  t.same(delays, [10, 20, 50, 50], 'the first retry was planned at the loss (5 ms), then 10, 20, 50');
  // Past the window (loss at 100 + 1200): the holder is our peer, alive and serving alone.
  const late = step(s, { type: 'refused', epoch: 1, code: 'LeaseHeld', holder: 'B' }, 1_400, P);
  t.equal(roleName(late.state), 'backup-syncing');
  t.match(late.state, { kind: 'backup', trusted: false, retry: null });
  t.ok(late.effects.some((e) => e.type === 'log' && e.level === 'warn'));
  t.notOk(isPromotable(late.state));
});

t.test('the in-sync fact has one place: a stream back in sync during a claim is kept through the refusal', async (t) => {
  let s = inSyncBackup();
  s = step(s, { type: 'sync-state', to: 'lost' }, 100, P).state;
  s = step(s, { type: 'primary-lost', reason: 'closed' }, 100, P).state;
  s = step(s, { type: 'sync-state', to: 'in-sync' }, 110, P).state; // reconnected while claiming
  const r = step(s, { type: 'refused', epoch: 1, code: 'LeaseHeld', holder: 'B' }, 115, P);
  t.equal(roleName(r.state), 'backup-in-sync');
  t.notOk(r.effects.some((e) => e.type === 'set-timer'), 'no retry: a live primary serves us');
  t.ok(isPromotable(r.state));
  t.ok(step(r.state, { type: 'operator-promote' }, 120, P).effects.some((e) => e.type === 'request-handover'));
});

t.test('a foreign holder (a tool) deposes the primary: trust kept, claims slowly until it is gone, at once on the free notice', async (t) => {
  const primary: HaState = { kind: 'primary', epoch: 3, lapses: [] };
  const d = step(primary, { type: 'deposed', epoch: 4, code: 'Forced', holder: 'tool' }, 0, P);
  t.match(d.state, { kind: 'backup', trusted: true, epoch: 4 });
  t.same(d.effects.map((e) => e.type), ['drop-primary', 'link-follow', 'follow-primary', 'set-timer']);
  let s = step(d.state, { type: 'timer', name: 'claim' }, 5, P).state;
  t.equal(roleName(s), 'promoting');
  const late = step(s, { type: 'refused', epoch: 4, code: 'LeaseHeld', holder: 'tool' }, 5_000, P);
  t.match(late.state, { kind: 'backup', trusted: true });
  t.same(late.effects.find((e) => e.type === 'set-timer'), { type: 'set-timer', name: 'claim', ms: 1_000 }, 'slow retry after the window, trust kept');
  s = step(late.state, { type: 'lease-notice', epoch: 4, holder: '', reason: 'LinkGone' }, 5_100, P).state;
  t.equal(roleName(s), 'promoting', 'the free notice claims at once');
});

t.test('the same deposition by our peer: follows it, never claims', async (t) => {
  const d = step({ kind: 'primary', epoch: 3, lapses: [] }, { type: 'deposed', epoch: 4, code: 'Forced', holder: 'B' }, 0, P);
  t.match(d.state, { kind: 'backup', trusted: false, retry: null });
  t.notOk(d.effects.some((e) => e.type === 'set-timer'));
});

t.test('our own watchdog released the lease (Released while primary): a lapse, claimed back damped; a handover is not', async (t) => {
  const r = step({ kind: 'primary', epoch: 15, lapses: [] }, { type: 'deposed', epoch: 15, code: 'Released', holder: '' }, 0, P);
  t.match(r.state, { kind: 'backup', trusted: true, retry: { why: 'reclaim' } }, 'chaos: an untrusted peer never claims, so we must');
  t.same(r.effects.find((e) => e.type === 'set-timer'), { type: 'set-timer', name: 'claim', ms: 100 });
  const handingOver = step({ kind: 'demoting', epoch: 15, lapses: [] } as HaState, { type: 'deposed', epoch: 15, code: 'Released', holder: '' }, 0, P);
  t.notOk(handingOver.effects.some((e) => e.type === 'set-timer' && e.name === 'claim'), 'a handover\'s own release: the peer claims, not us');
});

t.test('our own lease lapsed: claim-back damped 100, 200, 400 ms for repeated lapses', async (t) => {
  let s: HaState = { kind: 'primary', epoch: 3, lapses: [] };
  const delays: number[] = [];
  for (let k = 0; k < 3; k++) {
    const r = step(s, { type: 'deposed', epoch: 3 + k, code: 'LeaseLapsed', holder: '' }, 1_000 * k, P);
    const timer = r.effects.find((e) => e.type === 'set-timer');
    delays.push(timer?.type === 'set-timer' ? timer.ms : -1);
    s = { kind: 'primary', epoch: 4 + k, lapses: r.state.lapses };
  }
  t.same(delays, [100, 200, 400]);
  const forgotten = step(s, { type: 'deposed', epoch: 9, code: 'LeaseLapsed', holder: '' }, 100_000, P);
  t.same(forgotten.effects.find((e) => e.type === 'set-timer'), { type: 'set-timer', name: 'claim', ms: 100 }, 'lapses older than a minute are forgotten');
});

t.test('a lease free notice: an in-sync backup claims at once; Released (a handover) waits for HandoverReady', async (t) => {
  const s = inSyncBackup();
  t.equal(roleName(step(s, { type: 'lease-notice', epoch: 1, holder: '', reason: 'LeaseLapsed' }, 50, P).state), 'promoting');
  t.equal(roleName(step(s, { type: 'lease-notice', epoch: 1, holder: '', reason: 'Released' }, 50, P).state), 'backup-in-sync');
  t.equal(roleName(step(s, { type: 'lease-notice', epoch: 1, holder: '', reason: 'LinkGone' }, 50, P).state), 'backup-in-sync', 'a blip of the primary\'s switch link: it reclaims');
  t.equal(roleName(step(s, { type: 'welcome', epoch: 1, holder: '' }, 50, P).state), 'backup-in-sync', 'a restarted switch: the primary reclaims');
  const h = step(s, { type: 'handover-ready', finalOffset: 9, epoch: 1 }, 60, P);
  t.equal(roleName(h.state), 'promoting');
  t.same(h.effects.map((e) => e.type), ['cancel-timer', 'cancel-timer', 'claim']);
});

t.test('SIGUSR1: handover requested and a force timer; no answer: forced claim', async (t) => {
  const s = inSyncBackup();
  const r = step(s, { type: 'operator-promote' }, 0, P);
  t.same(r.effects, [{ type: 'request-handover' }, { type: 'set-timer', name: 'force', ms: 2_000 }]);
  const f = step(r.state, { type: 'timer', name: 'force' }, 2_000, P);
  t.match(f.state, { kind: 'promoting', force: true });
  t.ok(f.effects.some((e) => e.type === 'claim' && e.force));
  const notInSync = run([[0, { type: 'welcome', epoch: 1, holder: 'B' }], [1, { type: 'operator-promote' }]]);
  t.same(notInSync.kinds[1], ['log'], 'refused when not in sync');
});

t.test('handover: done → backup from our final offset; failed before the release → primary again; after it → backup that reclaims', async (t) => {
  const p: HaState = { kind: 'primary', epoch: 2, lapses: [] };
  const d = step(p, { type: 'handover-start', reason: 'SIGUSR2' }, 0, P).state;
  t.equal(roleName(d), 'demoting');
  t.same(step(d, { type: 'handover-done', reason: 'ok' }, 1, P).effects.map((e) => e.type), ['drop-primary', 'link-follow', 'follow-primary']);
  const back = step(d, { type: 'handover-failed', reason: 'drain timeout', leaseReleased: false, leaseValid: true }, 1, P);
  t.equal(roleName(back.state), 'primary');
  t.same(back.effects, [{ type: 'serve-again' }]);
  const lost = step(d, { type: 'handover-failed', reason: 'backup lost', leaseReleased: true, leaseValid: false }, 1, P);
  t.match(lost.state, { kind: 'backup', trusted: true });
  t.ok(lost.effects.some((e) => e.type === 'set-timer'));
});

t.test('the claim could not be sent (link down): postponed and retried', async (t) => {
  const s = step(inSyncBackup(), { type: 'lease-notice', epoch: 1, holder: '', reason: 'LeaseLapsed' }, 0, P).state;
  const r = step(s, { type: 'claim-unsent' }, 1, P);
  t.equal(roleName(r.state), 'backup-in-sync');
  t.ok(r.effects.some((e) => e.type === 'set-timer'));
});

t.test('epochs never go down; stopping ignores everything', async (t) => {
  let s = step(initialState(), { type: 'welcome', epoch: 7, holder: 'B' }, 0, P).state;
  s = step(s, { type: 'lease-notice', epoch: 3, holder: 'B', reason: 'Claimed' }, 1, P).state;
  t.equal(s.epoch, 7);
  const stop = step(s, { type: 'stop', reason: 'SIGTERM' }, 2, P);
  t.equal(roleName(stop.state), 'stopping');
  t.same(step(stop.state, { type: 'granted', epoch: 8 }, 3, P).effects, []);
});

t.test('a restart with nobody holding the lease: a peer that says it will not claim ends the wait at once', async (t) => {
  const r = run([[0, { type: 'welcome', epoch: 5, holder: '' }], [40, { type: 'peer-will-not-claim' }], [50, { type: 'granted', epoch: 6 }]]);
  t.same(r.roles, ['backup-syncing', 'promoting', 'primary']);
  t.same(r.kinds.slice(0, 2), [['follow-primary', 'timer:3000'], ['cancel-timer', 'seed-fresh', 'claim']], 'fresh start 40 ms after the restart, not 3 s');
  const inSync = run([[0, { type: 'welcome', epoch: 5, holder: 'B' }], [10, { type: 'peer-will-not-claim' }]]);
  t.same(inSync.kinds[1], [], 'no fresh start pending (the switch named a holder): the answer changes nothing');
  // Who says it: a backup that is not trusted and has no fresh start of its own pending.
  const untrusted = run([[0, { type: 'welcome', epoch: 1, holder: 'B' }]]).s;
  t.ok(willNotClaim(untrusted), 'a backup that was never in sync will not claim');
  t.notOk(willNotClaim(inSyncBackup()), 'an in-sync backup claims when its primary is lost');
  t.notOk(willNotClaim(run([[0, { type: 'welcome', epoch: 5, holder: '' }]]).s), 'a restarted server waiting to start fresh will claim');
});

// The switch-link adapter against a scripted fake transport: exact state sequences for the claim,
// snapshot, redelivery, refusal, deposition and reconnect paths.
import t from 'tap';
import pino from 'pino';
import type { sw } from '../../src/wire/switch-proto.js';
import { ServerRole } from '../../src/ha/role.js';
import { Backoff } from '../../src/lib/backoff.js';
import { SwitchLink, type LeaseLoss, type TransportHandlers } from '../../src/adapters/switch-client/switch-link.js';
import type { LinkState } from '../../src/adapters/switch-client/link-state.js';

const log = pino({ level: 'silent' });

function rig(opts: { applied?: number; role?: 'primary' | 'backup' } = {}) {
  let applied = opts.applied ?? 0;
  const role = new ServerRole(opts.role ?? 'primary');
  const sent: sw.ILinkUp[][] = [];
  const streams: TransportHandlers[] = [];
  const out = { events: [] as number[], results: [] as sw.ICommandResult[], snapshots: [] as sw.ISnapshot[], up: [] as boolean[], lost: [] as LeaseLoss[], states: [] as LinkState[] };
  const link = new SwitchLink({
    serverName: 'A', role, appliedSeq: () => applied, log,
    backoff: new Backoff({ initialMs: 1, maxMs: 1 }),
    open: (h) => {
      const mine: sw.ILinkUp[] = [];
      sent.push(mine);
      streams.push(h);
      return { send: (m) => mine.push(m), close: () => h.onClose('closed by us') };
    },
  }, {
    events: (evs) => { for (const e of evs) { out.events.push(e.seq!); applied = e.seq!; } },
    commandResult: (r) => out.results.push(r),
    snapshot: (s) => { out.snapshots.push(s); applied = s.lastSeq!; },
    linkUp: (up) => out.up.push(up),
    leaseLost: (l) => out.lost.push(l),
  });
  link.machine.onChange(({ to }) => out.states.push(to));
  const down = (m: sw.ILinkDown) => streams[streams.length - 1]!.onMessage(m);
  const ev = (seq: number): sw.ISwitchEvent => ({ seq, type: 1, callId: 's1', dn: '5001' });
  return { link, role, sent, streams, out, down, ev, setApplied: (n: number) => { applied = n; } };
}

const welcome = (o: Partial<sw.IWelcome> = {}): sw.ILinkDown => ({ welcome: { switchName: 'sim', epoch: 0, leaseMs: 1000, heartbeatMs: 100, lastSeq: 0, oldestSeq: 0, ...o } });

t.test('first start: claim epoch 1 without redelivery, snapshot, buffered events after the snapshot', async (t) => {
  const r = rig();
  r.link.start();
  t.same(r.sent[0]![0], { hello: { serverName: 'A', eventsAsHolderOnly: true } });
  r.down(welcome({ lastSeq: 5 }));
  t.same(r.sent[0]![1], { claim: { epoch: 1, appliedSeq: 0, redeliver: false } });
  r.down({ events: { events: [r.ev(6)] } }); // before Granted: ignored
  r.down({ granted: { epoch: 1, leaseMs: 1000, lastSeq: 6 } });
  t.equal(r.role.epoch, 1);
  t.same(r.sent[0]![2], { snapshotQuery: { requestId: 1 } });
  r.down({ events: { events: [r.ev(7), r.ev(8)] } }); // buffered
  r.down({ snapshot: { requestId: 1, lastSeq: 7, devices: [], calls: [] } });
  t.same(r.out.events, [8], 'only events after the snapshot');
  r.down({ events: { events: [r.ev(8), r.ev(9)] } });
  t.same(r.out.events, [8, 9], 'duplicates dropped');
  t.same(r.out.states, ['connecting', 'claiming', 'resyncing', 'up']);
  t.same(r.out.up, [true]);
  r.link.stop();
});

t.test('restart with state: claim with redelivery from appliedSeq, no snapshot', async (t) => {
  const r = rig({ applied: 40 });
  r.role.set({ epoch: 3 });
  r.link.start();
  r.down(welcome({ epoch: 3, lastSeq: 50 }));
  t.same(r.sent[0]![1], { claim: { epoch: 4, appliedSeq: 40, redeliver: true } });
  r.down({ granted: { epoch: 4, leaseMs: 1000, lastSeq: 50 } });
  t.same(r.out.states, ['connecting', 'claiming', 'up']);
  r.down({ events: { events: [r.ev(41), r.ev(42)] } });
  t.same(r.out.events, [41, 42]);
  r.link.stop();
});

t.test('a switch that forgot our seq (restarted) means a snapshot', async (t) => {
  const r = rig({ applied: 40 });
  r.link.start();
  r.down(welcome({ lastSeq: 2 }));
  // The switch judges whether its log still holds appliedSeq+1 (it answers gap).
  t.same(r.sent[0]![1], { claim: { epoch: 1, appliedSeq: 40, redeliver: true } });
  r.down({ granted: { epoch: 1, leaseMs: 1000, lastSeq: 2, gap: true } });
  t.same(r.out.states, ['connecting', 'claiming', 'resyncing']);
  t.same(r.sent[0]![2], { snapshotQuery: { requestId: 1 } });
  r.link.stop();
});

t.test('a backup promoted long after its Welcome claims with redelivery, not a snapshot (chaos: stuck call)', async (t) => {
  // The backup's link opened when the switch was at seq 5; its state (replicated from the primary)
  // has applied up to 1149 since. A snapshot would apply the calls' changes silently: an offer
  // ringing at an agent without EventRinging, an answered call without the pending request's answer.
  const r = rig({ role: 'backup' });
  const ha = new SwitchLink({
    serverName: 'B', role: r.role, appliedSeq: () => 1149, log, ha: true,
    open: (h) => { const mine: sw.ILinkUp[] = []; r.sent.push(mine); r.streams.push(h); return { send: (m) => mine.push(m), close: () => h.onClose('closed by us') }; },
  }, {
    events: (evs) => { for (const e of evs) r.out.events.push(e.seq!); },
    commandResult: () => undefined, snapshot: (s) => r.out.snapshots.push(s), linkUp: (up) => r.out.up.push(up), leaseLost: () => undefined,
  });
  ha.start();
  r.down(welcome({ epoch: 3, holder: 'A', lastSeq: 5 }));
  r.down({ events: { events: [r.ev(1150), r.ev(1151)] } }); // following: not ours to apply
  t.equal(ha.state, 'following');
  t.ok(ha.claim({ redeliver: true }));
  t.same(r.sent[0]![1], { claim: { epoch: 4, appliedSeq: 1149, redeliver: true } });
  r.down({ granted: { epoch: 4, leaseMs: 1000, lastSeq: 1159 } });
  t.equal(ha.state, 'up', 'redelivery, not a snapshot rebuild');
  t.equal(r.sent[0]!.length, 2, 'no SnapshotQuery');
  r.down({ events: { events: [r.ev(1150), r.ev(1151)] } }); // the redelivery
  t.same(r.out.events, [1150, 1151]);
  t.same(r.out.snapshots, []);
  ha.stop();
});

t.test('commands: epoch stamped when up; dropped when not up', async (t) => {
  const r = rig();
  r.link.send([{ commandId: 'c#1', answer: { callId: 's1', dn: '5001' } }]);
  r.link.start();
  r.down(welcome());
  t.equal(r.sent[0]!.length, 2, 'Hello and Claim only: c#1 was dropped');
  r.down({ granted: { epoch: 1, leaseMs: 1000, lastSeq: 0 } });
  r.down({ snapshot: { requestId: 1, lastSeq: 0 } });
  r.link.send([{ commandId: 'c#2', answer: { callId: 's1', dn: '5001' } }]);
  t.same(r.sent[0]!.at(-1), { command: { commandId: 'c#2', answer: { callId: 's1', dn: '5001' }, epoch: 1 } });
  r.down({ commandResult: { commandId: 'c#2', ok: true } });
  t.same(r.out.results.map((x) => x.commandId), ['c#2']);
  r.streams[0]!.onClose('switch went away');
  t.same(r.out.up, [true, false]);
  t.equal(r.link.state, 'down');
  r.link.stop();
});

t.test('refused claim: deposed state, lease loss reported, nothing applied', async (t) => {
  const r = rig();
  r.link.start();
  r.down(welcome({ epoch: 1, holder: 'B' }));
  r.down({ refused: { epoch: 2, currentEpoch: 1, holder: 'B', code: 'LeaseHeld', message: 'held' } });
  t.same(r.out.lost, [{ kind: 'refused', code: 'LeaseHeld', currentEpoch: 1, holder: 'B' }]);
  r.down({ events: { events: [r.ev(1)] } });
  t.same(r.out.events, []);
  t.same(r.out.states, ['connecting', 'claiming', 'deposed']);
  r.link.stop();
});

t.test('deposed while up: link reported down, lease loss reported', async (t) => {
  const r = rig({ applied: 1 });
  r.link.start();
  r.down(welcome({ lastSeq: 1 }));
  r.down({ granted: { epoch: 1, leaseMs: 1000, lastSeq: 1 } });
  r.down({ deposed: { epoch: 1, newEpoch: 2, newHolder: 'B', reason: 'Claimed' } });
  t.same(r.out.up, [true, false]);
  t.equal(r.out.lost[0]!.kind, 'deposed');
  t.equal(r.link.state, 'deposed');
  r.link.stop();
});

t.test('link lost: reconnects after the backoff and claims again with a higher epoch', async (t) => {
  const r = rig({ applied: 1 });
  r.link.start();
  r.down(welcome({ lastSeq: 1 }));
  r.down({ granted: { epoch: 1, leaseMs: 1000, lastSeq: 1 } });
  r.streams[0]!.onClose('unavailable');
  await new Promise<void>((resolve) => { const i = setInterval(() => { if (r.streams.length === 2) { clearInterval(i); resolve(); } }, 2); });
  r.down(welcome({ epoch: 1, lastSeq: 1 }));
  t.same(r.sent[1]![1], { claim: { epoch: 2, appliedSeq: 1, redeliver: true } });
  t.same(r.out.states, ['connecting', 'claiming', 'up', 'down', 'connecting', 'claiming']);
  r.link.stop();
});

t.test('a command result after Deposed is not applied (the backup core runs on deltas only)', async (t) => {
  const r = rig({ applied: 40 });
  r.link.start();
  r.down(welcome({ lastSeq: 40 }));
  r.down({ granted: { epoch: 1, leaseMs: 1000, lastSeq: 40 } });
  r.down({ commandResult: { commandId: 'c#1', ok: true } });
  r.down({ deposed: { reason: 'LeaseLapsed', newEpoch: 2, newHolder: 'B' } });
  r.down({ commandResult: { commandId: 'auto:c2:0', ok: false, errorCode: 'NotLeaseHolder' } });
  t.same(r.out.results.map((x) => x.commandId), ['c#1'], 'only the result received while holding the lease');
  t.equal(r.link.state, 'deposed');
  r.link.stop();
});

t.test('backup role follows without claiming', async (t) => {
  const r = rig({ role: 'backup' });
  r.link.start();
  r.down(welcome());
  t.same(r.sent[0]!.length, 1, 'only Hello');
  t.equal(r.link.state, 'following');
  r.link.stop();
});

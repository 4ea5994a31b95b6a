// A primary deposed by the switch. (1) What the core produced earlier in that turn (switch events
// read in the same socket chunk as the Deposed) goes through the ack releaser, published and then
// dropped, never to desktops through the releaser that replaces it. (2) Deposed because its own
// lease lapsed (the process stalled right after a promotion) with nobody holding it: it claims
// again, else the pair has no primary until the hung peer resumes. The HA controller runs for real
// (role machine, ack releaser, demotion to a backup stream); the T-Server around it is a stand-in
// holding the real batch collector and releaser seam, and a link that records claims.
import t, { type Test } from 'tap';
import pino from 'pino';
import type { Delta, SwitchCommand } from '../../src/core/api.js';
import { createState } from '../../src/core/index.js';
import { HaController } from '../../src/processes/tserver/ha-controller.js';
import { BatchCollector, type OutboundBatch } from '../../src/pipeline/outbound.js';
import { ImmediateReleaser, SwitchableReleaser } from '../../src/pipeline/releaser.js';
import { ServerRole } from '../../src/ha/role.js';
import { SyncReleaser } from '../../src/pipeline/sync-releaser.js';
import type { SyncPrimary } from '../../src/adapters/sync/primary.js';
import type { SyncServer } from '../../src/adapters/sync/server.js';
import type { TServer } from '../../src/processes/tserver/tserver.js';
import { ManualClock } from '../helpers/manual-clock.js';

const log = pino({ level: 'silent' });

function rig(t: Test) {
  const delivered: OutboundBatch[] = [];
  const claims: { redeliver: boolean; force?: boolean }[] = [];
  const sent: string[] = [];
  const coreState = createState();
  const clock = new ManualClock();
  const deliver = (b: OutboundBatch): void => { delivered.push(b); };
  const releaser = new SwitchableReleaser(new ImmediateReleaser(deliver));
  const batch = new BatchCollector((b) => releaser.submit(b));
  const role = new ServerRole('backup');
  const ts = {
    cfg: { serverName: 'A' }, role, batch, releaser,
    link: {
      leaseValid: () => false, leaseMs: 400, state: 'deposed', isUp: false, switchEpoch: 1,
      send: (cmds: SwitchCommand[]) => { sent.push(...cmds.map((c) => `${c.commandId}@${role.epoch}`)); },
      follow(this: { state: string }) { this.state = 'following'; },
      claim(this: { state: string }, o: { redeliver: boolean; force?: boolean }) { claims.push(o); this.state = 'claiming'; return true; },
    },
    gateway: { deliver, reindexAll: () => undefined, takeLocalRegistrations: () => new Map() },
    core: { state: coreState, replaceState: () => undefined, applyRemote: () => undefined, input: () => undefined },
    peerTls: undefined,
  } as unknown as TServer;
  const ha = new HaController(ts, { syncPort: 0, peerSync: '127.0.0.1:1', syncMode: 'ack', addp: { intervalMs: 100, timeoutMs: 400, trace: false } },
    { serve: () => undefined } as unknown as SyncServer, log, clock);
  t.teardown(() => ha.stop('test over'));

  // Primary at epoch 1, backup in sync: publish() takes deltas, acks never come in this test.
  const published: Delta[][] = [];
  let offset = 10;
  const primary = {
    replicationId: 'r1', mode: 'ack',
    get offset() { return offset; },
    publish: (ds: Delta[]) => { published.push(ds); offset += ds.length; return offset; },
    flush: () => undefined,
    whenAcked: () => new Promise<void>(() => undefined),
    status: () => ({ alone: false, state: 'in-sync' }),
    close: () => undefined,
  } as unknown as SyncPrimary;
  // Through the machine: no holder at Welcome → fresh claim → granted epoch 1; then the stand-in primary.
  ha.onWelcome({ epoch: 0, holder: '', leaseMs: 400 });
  ha.onGranted({ epoch: 1, leaseMs: 400 });
  t.equal(ha.role, 'primary');
  claims.length = 0;
  ha.primary?.close('replaced by the test stand-in');
  ha.primary = primary;
  ha.releaser = new SyncReleaser(primary, deliver, () => true, log);
  releaser.use(ha.releaser);
  return { ha, ts, batch, delivered, published, claims, sent, coreState, clock };
}

t.test('deposed with an unsealed batch: its events never reach a desktop, its deltas are published first', async (t) => {
  const { ha, batch, delivered, published } = rig(t);
  // This turn: a switch event applied as primary (a journalled event and its delta), then Deposed.
  const entry = { seq: 500, dn: '5000', event: { event: 'EventRinging', seq: 500, connId: 'c1' } } as never;
  batch.deltas([{ op: 'journal', entry } as Delta]);
  batch.add({ kind: 'event', entry });
  ha.onLeaseLost({ kind: 'deposed', code: 'Forced', currentEpoch: 2, holder: 'B' });
  await new Promise((r) => setImmediate(r));

  t.equal(ha.role, 'backup-syncing');
  t.same(published.map((ds) => ds.length), [1], 'the deltas were published (our offset covers them: a full resync, not a partial one over a diverged state)');
  t.same(delivered.flatMap((b) => b.items.filter((i) => i.kind === 'event')), [], 'the event applied as primary reached no desktop');
});

t.test('our own lease lapsed and nobody holds it: demoted, then claims again with redelivery (chaos: no primary for 15 s)', async (t) => {
  const { ha, claims, clock } = rig(t);
  ha.onLeaseLost({ kind: 'deposed', code: 'LeaseLapsed', currentEpoch: 1, holder: '' });
  t.equal(ha.role, 'backup-syncing', 'demoted first: held batches dropped, a backup stream from our position');
  // The claim-back waits the damping delay (the peer gets the first chance; test/unit/ha-machine.test.ts).
  clock.advance(ha.params.lapseDampMs - 1);
  t.equal(ha.role, 'backup-syncing', 'not before the damping delay');
  t.same(claims, []);
  clock.advance(1);
  t.equal(ha.role, 'promoting', 'exactly at the damping delay');
  t.same(claims, [{ redeliver: true, force: false }]);
});

t.test('deposed in favour of another server: follows it, never claims', async (t) => {
  const { ha, claims, clock } = rig(t);
  ha.onLeaseLost({ kind: 'deposed', code: 'Forced', currentEpoch: 2, holder: 'B' });
  // Every timer it may have set (damping, claim window) runs out: still no claim.
  clock.advance(60_000);
  t.equal(ha.role, 'backup-syncing');
  t.same(claims, []);
});

t.test('a reclaim after a link blip re-sends the commands in flight, stamped with the new epoch (chaos: requests failed after 10 s)', async (t) => {
  const { ha, ts, sent, coreState } = rig(t);
  const command: SwitchCommand = { commandId: 'desk5003#7', answer: { callId: 's9', dn: '5003' } };
  coreState.pending.set(command.commandId, { commandId: command.commandId, clientName: 'desk5003', referenceId: 7, request: 'RequestAnswerCall', thisDN: '5003', since: 0, command });
  const link = ts.link as unknown as { isUp: boolean; switchEpoch: number; state: string };
  // The link came back and the reclaim was granted at epoch 2: link up first (old epoch still stamped) ...
  Object.assign(link, { isUp: true, state: 'up', switchEpoch: 2 });
  ha.onLinkUp();
  t.same(sent, [], 'not with the old epoch: the switch would refuse it');
  // ... then the grant: epoch 2 stamped, serving, and the command goes out again.
  ha.onGranted({ epoch: 2, leaseMs: 400 });
  t.same(sent, ['desk5003#7@2']);
});

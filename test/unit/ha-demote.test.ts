// A primary deposed in the middle of an event-loop turn: what the core produced earlier in that turn
// (switch events read in the same socket chunk as the Deposed) must go through the ack releaser,
// published and then dropped, never to desktops through the releaser that replaces it. The HA
// controller runs for real (role machine, ack releaser, demotion to a backup stream); the T-Server
// around it is a stand-in holding the real batch collector and releaser seam.
import t from 'tap';
import pino from 'pino';
import type { Delta } from '../../src/core/api.js';
import { HaController } from '../../src/tserver/ha-controller.js';
import { BatchCollector, type OutboundBatch } from '../../src/tserver/outbound.js';
import { ImmediateReleaser, SwitchableReleaser } from '../../src/tserver/releaser.js';
import { ServerRole } from '../../src/tserver/role.js';
import { SyncReleaser } from '../../src/tserver/sync-releaser.js';
import type { SyncPrimary } from '../../src/sync/primary.js';
import type { SyncServer } from '../../src/sync/server.js';
import type { TServer } from '../../src/tserver/tserver.js';

const log = pino({ level: 'silent' });

t.test('deposed with an unsealed batch: its events never reach a desktop, its deltas are published first', async (t) => {
  const delivered: OutboundBatch[] = [];
  const deliver = (b: OutboundBatch): void => { delivered.push(b); };
  const releaser = new SwitchableReleaser(new ImmediateReleaser(deliver));
  const batch = new BatchCollector((b) => releaser.submit(b));
  const role = new ServerRole('backup');
  const ts = {
    cfg: { serverName: 'A' }, role, batch, releaser,
    link: { leaseValid: () => false, follow: () => undefined, leaseMs: 400, state: 'deposed' },
    gateway: { deliver, reindexAll: () => undefined },
    core: { replaceState: () => undefined, applyRemote: () => undefined },
    peerTls: undefined,
  } as unknown as TServer;
  const ha = new HaController(ts, { syncPort: 0, peerSync: '127.0.0.1:1', syncMode: 'ack', addp: { intervalMs: 100, timeoutMs: 400, trace: false } },
    { serve: () => undefined } as unknown as SyncServer, log);
  t.teardown(() => ha.stop('test over'));

  // Primary at epoch 1, backup in sync: publish() takes deltas, acks never come in this test.
  const published: Delta[][] = [];
  let offset = 10;
  const primary = {
    replicationId: 'r1', mode: 'ack',
    get offset() { return offset; },
    publish: (ds: Delta[]) => { published.push(ds); offset += ds.length; return offset; },
    whenAcked: () => new Promise<void>(() => undefined),
    status: () => ({ alone: false, state: 'in-sync' }),
    close: () => undefined,
  } as unknown as SyncPrimary;
  ha.machine.transition(['starting'], 'promoting', 'test');
  ha.machine.transition(['promoting'], 'primary', 'test', 1);
  ha.primary = primary;
  ha.releaser = new SyncReleaser(primary, deliver, () => true, log);
  releaser.use(ha.releaser);

  // This turn: a switch event applied as primary (a journalled event and its delta), then Deposed.
  const entry = { seq: 500, dn: '5000', event: { event: 'EventRinging', seq: 500, connId: 'c1' } } as never;
  batch.deltas([{ op: 'journal', entry } as Delta]);
  batch.add({ kind: 'event', entry });
  ha.demote('deposed by the switch (LeaseLapsed)');
  await new Promise((r) => setImmediate(r));

  t.equal(ha.role, 'backup-syncing');
  t.same(published.map((ds) => ds.length), [1], 'the deltas were published (our offset covers them: a full resync, not a partial one over a diverged state)');
  t.same(delivered.flatMap((b) => b.items.filter((i) => i.kind === 'event')), [], 'the event applied as primary reached no desktop');
});

// A backup promoted by the switch's grant tells its desktops "serving" in the turn of the grant: the
// batch holding EventServerInfo is sealed and released at once (src/processes/tserver/ha-controller.ts
// becomePrimary), not after the batch collector's setImmediate. A desktop sends its requests to the new
// primary only once it hears that, so each turn here is added to every failover. The HA controller
// runs for real (role machine, the real SyncPrimary and ack releaser it wires); the T-Server around it
// is a stand-in holding the real batch collector and releaser seam, whose role change broadcasts
// the server info the way tserver.ts does.
import t, { type Test } from 'tap';
import pino from 'pino';
import { createState } from '../../src/core/index.js';
import { HaController } from '../../src/processes/tserver/ha-controller.js';
import { BatchCollector, type OutboundBatch } from '../../src/pipeline/outbound.js';
import { ImmediateReleaser, SwitchableReleaser } from '../../src/pipeline/releaser.js';
import { ServerRole } from '../../src/ha/role.js';
import type { SyncServer } from '../../src/adapters/sync/server.js';
import type { TServer } from '../../src/processes/tserver/tserver.js';
import { ManualClock } from '../helpers/manual-clock.js';

const log = pino({ level: 'silent' });

function rig(t: Test) {
  const delivered: OutboundBatch[] = [];
  const deliver = (b: OutboundBatch): void => { delivered.push(b); };
  const releaser = new SwitchableReleaser(new ImmediateReleaser(deliver));
  const batch = new BatchCollector((b) => releaser.submit(b));
  const role = new ServerRole('backup');
  // tserver.ts: every role change broadcasts EventServerInfo through the batch.
  role.onChange((now) => batch.add({ kind: 'broadcast', event: { event: 'EventServerInfo', role: now.role, epoch: now.epoch, serving: now.serving } } as never));
  const ts = {
    cfg: { serverName: 'B' }, role, batch, releaser,
    link: {
      leaseValid: () => true, leaseMs: 400, state: 'connecting', isUp: true, switchEpoch: 0,
      send: () => undefined,
      follow(this: { state: string }) { this.state = 'following'; },
      claim(this: { state: string }) { this.state = 'claiming'; return true; },
    },
    gateway: { deliver, reindexAll: () => undefined, takeLocalRegistrations: () => new Map() },
    core: { state: createState(), replaceState: () => undefined, applyRemote: () => undefined, input: () => undefined },
    peerTls: undefined,
  } as unknown as TServer;
  const ha = new HaController(ts, { syncPort: 0, peerSync: '127.0.0.1:1', syncMode: 'ack', addp: { intervalMs: 100, timeoutMs: 400, trace: false } },
    { serve: () => undefined } as unknown as SyncServer, log, new ManualClock());
  t.teardown(() => ha.stop('test over'));
  return { ha, ts, delivered };
}

const servingInfo = (batches: OutboundBatch[]) => batches.flatMap((b) => b.items).filter((i) => {
  const e = (i as { event?: { event?: string; serving?: boolean } }).event;
  return i.kind === 'broadcast' && e?.event === 'EventServerInfo' && e.serving === true;
});

t.test('granted: EventServerInfo serving:true is released in the turn of the grant (microtasks only, no setImmediate)', async (t) => {
  const { ha, ts, delivered } = rig(t);
  ha.onWelcome({ epoch: 0, holder: '', leaseMs: 400 });
  t.equal(ha.role, 'promoting');
  Object.assign(ts.link, { state: 'up' });
  ha.onGranted({ epoch: 1, leaseMs: 400 });
  t.equal(ha.role, 'primary');
  // The ack releaser waits on a promise (resolved at once: no backup in sync); a few microtask
  // turns, never a macrotask.
  for (let i = 0; i < 5; i++) await null;
  t.match(servingInfo(delivered), [{ kind: 'broadcast', event: { event: 'EventServerInfo', role: 'primary', epoch: 1, serving: true } }],
    'desktops hear serving before the event loop moves on');
});

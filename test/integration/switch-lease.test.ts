// The switch as witness of who is primary, through a real process: claims, refusals, deposal,
// lapse of a silent holder, holder link gone, release, command fencing and exactly-once ids.
import t from 'tap';
import type { LinkClient } from '../../src/adapters/switch-client/link-client.js';
import { openSwitchLink, startSwitch } from '../helpers/tserver-fixture.js';
import type { sw } from '../../src/wire/switch-proto.js';

t.test('lease, fencing and exactly-once across a failover', async (t) => {
  const { proc, address } = await startSwitch(t);
  const open = (name: string) => openSwitchLink(t, address, name);
  const heartbeating = (l: LinkClient, epoch: number) => {
    const stop = l.keepHeartbeating(epoch, 50);
    t.teardown(stop);
    return stop;
  };
  const make = (l: LinkClient, commandId: string, epoch: number) => l.command({ commandId, epoch, makeCall: { dn: '5001', to: '5002' } });

  const a = await open('A');
  const b = await open('B');
  const welcome = await b.welcome;
  t.match(welcome, { epoch: 0, holder: '', leaseMs: 400, heartbeatMs: 100 });

  // A becomes primary under epoch 1 and keeps heartbeating.
  t.match((await a.claim({ epoch: 1 })).granted, { epoch: 1, leaseMs: 400 });
  const stopA = heartbeating(a, 1);
  t.match(await a.heartbeat(1), { epoch: 1, holder: true, leaseRemainingMs: 400 });
  t.match(await b.heartbeat(1), { epoch: 1, holder: false }, 'a non-holder heartbeat is a keepalive');

  t.match((await b.claim({ epoch: 1 })).refused, { code: 'StaleEpoch', epoch: 1, currentEpoch: 1, holder: 'A' }, 'equal epoch');
  t.match((await b.claim({ epoch: 0 })).refused, { code: 'StaleEpoch' }, 'lower epoch');
  t.match((await b.claim({ epoch: 2 })).refused, { code: 'LeaseHeld', holder: 'A' }, 'the holder is alive');

  t.match(await make(b, 'b-1', 1), { ok: false, errorCode: 'NotLeaseHolder' }, 'a non-holder cannot command');
  t.match(await make(a, 'a-0', 0), { ok: false, errorCode: 'StaleEpoch' }, 'the holder with a wrong epoch');
  const first = await make(a, 'a-1', 1);
  t.match(first, { ok: true, callId: 's1', epoch: 1, duplicate: false });

  // Operator switchover: B forces epoch 2; A is told at once and fenced off.
  const deposedA = a.next((m) => !!m.deposed);
  t.match((await b.claim({ epoch: 2, force: true })).granted, { epoch: 2 });
  const stopB = heartbeating(b, 2);
  t.match((await deposedA).deposed, { epoch: 1, newEpoch: 2, newHolder: 'B', reason: 'Forced' });
  stopA();
  t.match(await make(a, 'a-2', 1), { ok: false, errorCode: 'NotLeaseHolder' }, 'the old holder, old epoch');
  t.match(await make(a, 'a-3', 2), { ok: false, errorCode: 'NotLeaseHolder' }, 'the old holder, new epoch');
  t.match(await a.heartbeat(1), { holder: false, epoch: 2 });

  // Exactly-once: B retries A's command id after the failover: first result, nothing runs.
  const before = (await b.snapshot()).lastSeq;
  const again = await make(b, 'a-1', 2);
  t.match(again, { ok: true, callId: 's1', epoch: 1, duplicate: true });
  t.equal((await b.snapshot()).lastSeq, before, 'no new event');
  t.equal((await b.snapshot()).calls.length, 1, 'still one call');

  // B goes silent: its lease lapses within leaseMs (+ one lapse check) and it is told so.
  const lapsedP = b.next((m) => !!m.deposed, 3000);
  stopB();
  const t0 = Date.now();
  const lapsed = await lapsedP;
  const took = Date.now() - t0;
  t.match(lapsed.deposed, { epoch: 2, newEpoch: 2, reason: 'LeaseLapsed' });
  t.ok(took < 1500, `a hung primary is replaceable quickly (lapsed after ${took} ms)`);
  t.match(await make(b, 'b-2', 2), { ok: false, errorCode: 'NotLeaseHolder' }, 'commands after lapse are refused');
  t.match((await a.claim({ epoch: 3 })).granted, { epoch: 3 }, 'granted after lapse without force');
  heartbeating(a, 3);

  // Holder link gone: the lease is free at once for a higher epoch.
  const c = await open('C');
  t.match((await c.claim({ epoch: 4 })).refused, { code: 'LeaseHeld' });
  a.close();
  await proc.waitFor((l) => l.msg === 'lease held -> free (LinkGone): epoch 3 -> 3, holder "A" -> ""', 5000, 'lease freed by link gone');
  t.match((await c.claim({ epoch: 4 })).granted, { epoch: 4 });
  const stopC = heartbeating(c, 4);

  // Graceful handover.
  stopC();
  const released = c.next((m) => !!m.deposed);
  c.send({ releaseLease: { epoch: 4 } });
  t.match((await released).deposed, { epoch: 4, reason: 'Released' });
  t.match(await make(c, 'c-1', 4), { ok: false, errorCode: 'NotLeaseHolder' });
  const d = await open('D');
  t.match(await d.welcome, { epoch: 4, holder: '' });
  t.match((await d.claim({ epoch: 5 })).granted, { epoch: 5 });
  const notHolder = d.next((m) => !!m.error);
  d.send({ releaseLease: { epoch: 4 } });
  t.match((await notHolder).error, { code: 'NotLeaseHolder' }, 'releasing an epoch it does not hold');

  // The command record proves who commanded under which epoch.
  const log = await d.commandLog();
  t.same(log.commands.map((x: sw.IAcceptedCommand) => [x.commandId, x.epoch, x.serverName]), [['a-1', 1, 'A']]);
  t.equal(log.totalAccepted, 1);
  t.equal(log.totalRefused, 6);
  t.ok(log.commands[0]!.seqAfter === 2);

  // Every transition is logged with old/new epoch and holder.
  t.ok(proc.lines.some((l) => l.component === 'lease' && l.from === 'held' && l.to === 'held' && l.reason === 'Forced' && l.oldEpoch === 1 && l.newEpoch === 2 && l.oldHolder === 'A' && l.newHolder === 'B'));
});

// SwitchLink with a lease renewer (the liveness worker's contract), on a scripted fake transport:
// the lease check takes the later of both deadlines, a tripped watchdog wins over everything, the
// main link never renews a tripped epoch, and LeaseNotice reaches the leaseChanged handler.
import t from 'tap';
import pino from 'pino';
import type { sw } from '../../src/wire/switch-proto.js';
import { ServerRole } from '../../src/ha/role.js';
import { Backoff } from '../../src/lib/backoff.js';
import { SwitchLink, type LeaseNotice, type LeaseRenewer, type TransportHandlers } from '../../src/adapters/switch-client/switch-link.js';

class FakeRenewer implements LeaseRenewer {
  calls: string[] = [];
  epoch = 0;
  until = 0;
  trippedEpoch = 0;
  private fns: (() => void)[] = [];
  attach(token: string, leaseMs: number, heartbeatMs: number): void { this.calls.push(`attach ${token} ${leaseMs} ${heartbeatMs}`); }
  detach(): void { this.calls.push('detach'); }
  setEpoch(epoch: number): void { this.epoch = epoch; this.calls.push(`epoch ${epoch}`); }
  deadline(epoch: number): number { return epoch !== 0 && epoch === this.epoch ? this.until : 0; }
  tripped(epoch: number): boolean { return epoch !== 0 && epoch === this.trippedEpoch; }
  onRenewal(fn: () => void): void { this.fns.push(fn); }
  renew(until: number): void { this.until = until; for (const f of this.fns) f(); }
}

function rig() {
  const role = new ServerRole('backup');
  const renewer = new FakeRenewer();
  const sent: sw.ILinkUp[] = [];
  let stream: TransportHandlers | undefined;
  const out = { renewed: 0, notices: [] as LeaseNotice[] };
  const link = new SwitchLink({
    serverName: 'A', role, appliedSeq: () => 5, log: pino({ level: 'silent' }), ha: true, renewer,
    backoff: new Backoff({ initialMs: 1, maxMs: 1 }),
    open: (h) => { stream = h; return { send: (m) => sent.push(m), close: () => h.onClose('closed by us') }; },
  }, {
    events: () => {}, commandResult: () => {}, snapshot: () => {}, linkUp: () => {}, leaseLost: () => {},
    granted: (g) => role.set({ role: 'primary', epoch: g.epoch ?? 0, serving: true }),
    renewed: () => out.renewed++,
    leaseChanged: (n) => out.notices.push(n),
  });
  const down = (m: sw.ILinkDown) => stream!.onMessage(m);
  return { link, role, renewer, sent, out, down, close: (why: string) => stream!.onClose(why) };
}

t.test('welcome attaches, grant sets the epoch, deposition and link loss clear it', async (t) => {
  const r = rig();
  r.link.start();
  r.down({ welcome: { epoch: 0, leaseMs: 400, heartbeatMs: 100, renewToken: 'tok1' } });
  t.same(r.renewer.calls, ['attach tok1 400 100']);
  t.ok(r.link.claim({ redeliver: true }));
  r.down({ granted: { epoch: 1, leaseMs: 400, lastSeq: 5 } });
  t.equal(r.link.state, 'up');
  t.same(r.renewer.calls.slice(1), ['epoch 1']);
  r.down({ deposed: { epoch: 1, newEpoch: 2, newHolder: 'B', reason: 'Forced' } });
  t.same(r.renewer.calls.slice(2), ['epoch 0']);
  r.close('switch gone');
  t.same(r.renewer.calls.slice(3), ['detach']);
  r.link.stop();
});

t.test('the lease check: the later deadline wins; a tripped epoch is never valid', async (t) => {
  const r = rig();
  r.link.start();
  r.down({ welcome: { epoch: 0, leaseMs: 400, heartbeatMs: 100, renewToken: 'tok1' } });
  const t0 = Date.now();
  r.link.claim({ redeliver: true });
  r.down({ granted: { epoch: 1, leaseMs: 400, lastSeq: 5 } });
  // Own deadline: claim send time + 400 − 40.
  t.ok(r.link.leaseValid(t0 + 300));
  t.notOk(r.link.leaseValid(t0 + 400));
  // The worker renewed later: its deadline carries the check.
  r.renewer.renew(t0 + 2_000);
  t.ok(r.link.leaseValid(t0 + 1_500), 'valid on the worker\'s renewals while the main thread renewed nothing');
  t.notOk(r.link.leaseValid(t0 + 2_000));
  t.equal(r.out.renewed, 1, 'a renewal by the worker is heard as renewed()');
  r.renewer.trippedEpoch = 1;
  t.notOk(r.link.leaseValid(t0 + 10), 'tripped: not valid, whatever the deadlines say');
  r.link.stop();
});

t.test('after the watchdog tripped, main-thread heartbeats carry epoch 0 (keepalive only)', async (t) => {
  const r = rig();
  r.link.start();
  r.down({ welcome: { epoch: 0, leaseMs: 400, heartbeatMs: 10, renewToken: 'tok1' } });
  r.link.claim({ redeliver: true });
  r.down({ granted: { epoch: 1, leaseMs: 400, lastSeq: 5 } });
  r.renewer.renew(Date.now() + 60_000);
  const firstBeat = () => new Promise<sw.ILinkUp>((res) => {
    const n = r.sent.length;
    const i = setInterval(() => { const m = r.sent.slice(n).find((x) => x.heartbeat); if (m) { clearInterval(i); res(m); } }, 5);
  });
  t.same((await firstBeat()).heartbeat, { epoch: 1 }, 'renewing');
  r.renewer.trippedEpoch = 1;
  t.same((await firstBeat()).heartbeat, { epoch: 0 }, 'a resumed main thread does not renew what the watchdog gave up');
  r.link.stop();
});

t.test('renewals are not reported while the link does not hold the lease', async (t) => {
  const r = rig();
  r.link.start();
  r.down({ welcome: { epoch: 0, leaseMs: 400, heartbeatMs: 100, renewToken: 'tok1' } });
  r.renewer.renew(Date.now() + 1_000);
  t.equal(r.out.renewed, 0);
  r.link.stop();
});

t.test('LeaseNotice reaches leaseChanged and raises the known epoch', async (t) => {
  const r = rig();
  r.link.start();
  r.down({ welcome: { epoch: 0, leaseMs: 400, heartbeatMs: 100, renewToken: 'tok1' } });
  r.down({ leaseNotice: { epoch: 7, holder: '', reason: 'LeaseLapsed', oldEpoch: 7, oldHolder: 'B' } });
  t.same(r.out.notices, [{ epoch: 7, holder: '', reason: 'LeaseLapsed' }]);
  t.equal(r.link.switchEpoch, 7);
  r.link.stop();
});

t.test('commands issued while the lease is uncertain are held, sent in order on renewal, dropped if the link leaves up', async (t) => {
  const r = rig();
  r.link.start();
  r.down({ welcome: { epoch: 0, leaseMs: 400, heartbeatMs: 100, renewToken: 'tok1' } });
  r.link.claim({ redeliver: true });
  r.down({ granted: { epoch: 1, leaseMs: 400, lastSeq: 5 } });
  const commands = () => r.sent.filter((m) => m.command).map((m) => `${m.command!.commandId}@${m.command!.epoch}`);
  r.link.send([{ commandId: 'c1', release: { callId: 's1', dn: '5001' } }]);
  t.same(commands(), ['c1@1'], 'sent at once while the lease is valid');

  r.renewer.trippedEpoch = 1; // the lease check fails: uncertain, not deposed
  r.link.send([{ commandId: 'c2', release: { callId: 's2', dn: '5001' } }, { commandId: 'c3', release: { callId: 's3', dn: '5002' } }]);
  r.link.send([{ commandId: 'c4', release: { callId: 's4', dn: '5003' } }]);
  t.same(commands(), ['c1@1'], 'nothing sent while uncertain');
  r.renewer.trippedEpoch = 0;
  r.renewer.renew(Date.now() + 2_000);
  t.same(commands(), ['c1@1', 'c2@1', 'c3@1', 'c4@1'], 'renewed: held commands go out in issue order under the same epoch');
  t.equal(r.out.renewed, 1);

  r.renewer.trippedEpoch = 1;
  r.link.send([{ commandId: 'c5', release: { callId: 's5', dn: '5001' } }]);
  r.down({ deposed: { epoch: 1, newEpoch: 2, newHolder: 'B', reason: 'Forced' } });
  r.renewer.trippedEpoch = 0;
  r.renewer.renew(Date.now() + 2_000);
  t.same(commands(), ['c1@1', 'c2@1', 'c3@1', 'c4@1'], 'deposed: the held command is dropped, never sent under a lost lease');
  r.link.stop();
});

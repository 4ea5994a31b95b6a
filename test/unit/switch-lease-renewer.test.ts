// Renewer links and lease notices on a real switch (in-process, gRPC on 127.0.0.1 port 0):
// a second link whose Hello names the first link's renew token renews and releases ITS lease, gets no
// events and may not claim or command; every welcomed link hears of every lease change.
import t from 'tap';
import pino from 'pino';
import { startSwitchServer } from '../../src/processes/switch/start.js';
import { DEFAULT_SWITCH_CONFIG } from '../../src/processes/switch/config.js';
import { openLink, type LinkClient } from '../../src/adapters/switch-client/link-client.js';
import type { sw } from '../../src/wire/switch-proto.js';

interface Teardown { teardown(fn: () => unknown): void }

async function setup(t: Teardown) {
  const sw = await startSwitchServer({ ...DEFAULT_SWITCH_CONFIG, host: '127.0.0.1', port: 0, secret: 's3' }, pino({ level: 'silent' }));
  t.teardown(() => sw.close());
  const address = `127.0.0.1:${sw.port}`;
  const open = async (name: string, renews?: string) => {
    const l = openLink({ address, serverName: name, hello: false });
    t.teardown(() => l.close());
    l.send({ hello: { serverName: name, secret: 's3', ...(renews ? { renews } : {}) } });
    await l.welcome;
    return l;
  };
  return { sw, address, open };
}

/** The first message of `got` (recorded from `l`) that matches: already there, or the next one. */
async function seen(l: LinkClient, got: sw.LinkDown[], pred: (m: sw.LinkDown) => boolean, timeoutMs?: number): Promise<sw.LinkDown> {
  return got.find(pred) ?? l.next(pred, timeoutMs);
}

/** Every message of a link, from now on. */
function record(l: LinkClient): sw.LinkDown[] {
  const got: sw.LinkDown[] = [];
  l.on('message', (m) => got.push(m));
  return got;
}

t.test('a renewer link renews the main link\'s lease, and only that', async (t) => {
  const { sw, open } = await setup(t);
  const a = await open('A');
  const wa = await a.welcome;
  t.match(wa.renewToken, /^[0-9a-f]{32}$/, 'Welcome carries a random renew token');
  const r = await open('A', wa.renewToken);
  t.equal((await r.welcome).renewToken, '', 'a renewer link has no token of its own');
  const b = await open('B');
  t.not((await b.welcome).renewToken, wa.renewToken, 'tokens are per link');

  t.match(await r.heartbeat(1), { holder: false }, 'nothing held yet: a keepalive');
  t.match((await a.claim({ epoch: 1 })).granted, { epoch: 1 });
  t.match(await r.heartbeat(1), { epoch: 1, holder: true, leaseRemainingMs: 400 }, 'renews A\'s lease under its epoch');
  t.match(await r.heartbeat(2), { holder: false }, 'another epoch renews nothing');

  // Only the renewer heartbeats, for longer than the lease: A keeps it.
  const stop = r.keepHeartbeating(1, 50);
  const until = Date.now() + 1_000;
  while (Date.now() < until) {
    t.equal(sw.sim.lease.holderName, 'A');
    await new Promise((res) => setTimeout(res, 100));
  }
  t.match((await b.claim({ epoch: 2 })).refused, { code: 'LeaseHeld', holder: 'A' });
  stop();
});

t.test('claims and commands on a renewer link are refused; it gets no events', async (t) => {
  const { open } = await setup(t);
  const a = await open('A');
  const r = await open('A', (await a.welcome).renewToken);
  const got = record(r);
  r.send({ claim: { epoch: 5 } });
  const err = await r.next((m) => m.msg === 'error');
  t.match(err.error, { code: 'BadMessage', message: /renewer/ });
  r.send({ command: { commandId: 'c1', epoch: 1, makeCall: { dn: '5001', to: '5002' } } });
  t.match((await r.next((m) => m.msg === 'error')).error, { code: 'BadMessage' });
  const aGot = a.next((m) => m.msg === 'events');
  t.match(await a.inboundCall('4155550100', '5001'), { ok: true });
  await aGot;
  await r.snapshot(); // one more round trip on the renewer link: the events would have come before it
  t.notOk(got.some((m) => m.msg === 'events'), 'no EventBatch on the renewer link');
});

t.test('ReleaseLease on a renewer link releases the main link\'s lease; everyone hears of it', async (t) => {
  const { open } = await setup(t);
  const a = await open('A');
  const r = await open('A', (await a.welcome).renewToken);
  const b = await open('B');
  t.match((await a.claim({ epoch: 1 })).granted, { epoch: 1 });
  const aDeposed = a.next((m) => m.msg === 'deposed');
  const aNotice = a.next((m) => m.msg === 'leaseNotice' && m.leaseNotice!.reason === 'Released');
  const bNotice = b.next((m) => m.msg === 'leaseNotice' && m.leaseNotice!.reason === 'Released');
  r.send({ releaseLease: { epoch: 1 } });
  t.match((await aDeposed).deposed, { epoch: 1, reason: 'Released' }, 'the main link is told it is deposed');
  t.match((await bNotice).leaseNotice, { epoch: 1, holder: '', reason: 'Released', oldEpoch: 1, oldHolder: 'A' }, 'a follower learns at once');
  await aNotice;
  t.match((await b.claim({ epoch: 2 })).granted, { epoch: 2 }, 'free at once');
  r.send({ releaseLease: { epoch: 2 } });
  t.match((await r.next((m) => m.msg === 'error')).error, { code: 'NotLeaseHolder' }, 'it cannot release someone else\'s lease');
});

t.test('lease notices: order for the old holder and the grantee; lapse; link gone', async (t) => {
  const { open } = await setup(t);
  const a = await open('A');
  const b = await open('B');
  const c = await open('C');
  const gotA = record(a);
  const gotB = record(b);
  const gotC = record(c);
  // A turn's messages for a link arrive as one LinkDownBatch and are emitted together: look in what
  // was recorded, then wait (a listener added after the fact would catch the next notice instead).
  const notice = (reason: string, epoch: number) => (m: sw.LinkDown) => m.msg === 'leaseNotice' && m.leaseNotice!.reason === reason && m.leaseNotice!.epoch === epoch;
  t.match((await a.claim({ epoch: 1 })).granted, { epoch: 1 });
  t.match((await seen(c, gotC, notice('Claimed', 1))).leaseNotice, { epoch: 1, holder: 'A', reason: 'Claimed', oldHolder: '' });
  t.match((await b.claim({ epoch: 2, force: true })).granted, { epoch: 2 });
  t.match((await seen(c, gotC, notice('Forced', 2))).leaseNotice, { epoch: 2, holder: 'B', reason: 'Forced', oldEpoch: 1, oldHolder: 'A' });
  await seen(a, gotA, notice('Forced', 2));
  const upTo = (got: sw.LinkDown[], kinds: string[]) => got.slice(0, got.findIndex(notice('Forced', 2)) + 1).map((m) => m.msg).filter((k): k is string => kinds.includes(k ?? ''));
  t.same(upTo(gotA, ['deposed', 'leaseNotice', 'granted']), ['granted', 'leaseNotice', 'deposed', 'leaseNotice'], 'grantee: Granted before its notice; old holder: Deposed before the notice');
  await seen(b, gotB, notice('Forced', 2));
  t.same(upTo(gotB, ['leaseNotice', 'granted']), ['leaseNotice', 'granted', 'leaseNotice']);

  // B stops heartbeating: its lease lapses, and every link hears of it.
  t.match((await seen(c, gotC, notice('LeaseLapsed', 2), 2_000)).leaseNotice, { epoch: 2, holder: '', reason: 'LeaseLapsed', oldHolder: 'B' });
  t.match((await c.claim({ epoch: 3 })).granted, { epoch: 3 });
  const aGone = a.next((m) => m.msg === 'leaseNotice' && m.leaseNotice!.reason === 'LinkGone');
  c.close();
  t.match((await aGone).leaseNotice, { epoch: 3, holder: '', reason: 'LinkGone', oldHolder: 'C' });
});

t.test('renewer Hello: unknown token is refused; the renewer ends with its main link', async (t) => {
  const { address, open } = await setup(t);
  const bad = openLink({ address, serverName: 'A', hello: false });
  t.teardown(() => bad.close());
  const closed = new Promise<Error | undefined>((res) => bad.on('close', res));
  const refused = bad.next((m) => m.msg === 'error');
  bad.send({ hello: { serverName: 'A', secret: 's3', renews: 'nope' } });
  t.match((await refused).error, { code: 'UnknownRenewToken' });
  await closed;

  const wrongSecret = openLink({ address, serverName: 'A', hello: false });
  t.teardown(() => wrongSecret.close());
  const a = await open('A');
  wrongSecret.send({ hello: { serverName: 'A', secret: 'x', renews: (await a.welcome).renewToken } });
  await t.rejects(wrongSecret.welcome, { code: 'Unauthorized' }, 'the secret is checked first');

  const r = await open('A', (await a.welcome).renewToken);
  const rClosed = new Promise<Error | undefined>((res) => r.on('close', res));
  const rErr = r.next((m) => m.msg === 'error');
  a.close();
  t.match((await rErr).error, { code: 'RenewedLinkGone' });
  await rClosed;
});

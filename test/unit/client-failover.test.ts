// The SDK against a fake T-Server pair on loopback: requests follow the primary, a request in
// flight through a failover is retried with the same referenceId and runs once, events arrive in
// seq order exactly once across the failover, NotPrimary is retried, close() rejects what is pending.
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { TandemClient, TandemError, type ClientStatus, type TEvent } from '../../src/sdk/index.js';
import { startFakePair } from '../helpers/fake-tserver.js';

type Pair = Awaited<ReturnType<typeof startFakePair>>;

async function setup(t: Test, opts: Partial<ConstructorParameters<typeof TandemClient>[0]> = {}) {
  const pair = await startFakePair();
  t.teardown(pair.close);
  const client = new TandemClient({ servers: pair.urls, clientName: 'desk-1', WebSocket, heartbeatMs: 50, reconnect: { initialMs: 20, maxMs: 100 }, ...opts });
  t.teardown(() => client.close());
  const statuses: ClientStatus[] = [];
  const events: TEvent[] = [];
  client.on('status', (s) => statuses.push(s));
  client.on('event', (e) => events.push(e));
  const until = (pred: (s: ClientStatus) => boolean, what: string) => new Promise<ClientStatus>((resolve, reject) => {
    const seen = statuses.find(pred);
    if (seen) return resolve(seen);
    const timer = setTimeout(() => reject(new Error(`timed out waiting for status ${what}; got ${JSON.stringify(statuses)}`)), 5000);
    const off = client.on('status', (s) => { if (pred(s)) { clearTimeout(timer); off(); resolve(s); } });
  });
  const eventsUntil = (n: number) => new Promise<void>((resolve, reject) => {
    if (events.length >= n) return resolve();
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} events; got ${JSON.stringify(events)}`)), 5000);
    const off = client.on('event', () => { if (events.length >= n) { clearTimeout(timer); off(); resolve(); } });
  });
  return { pair, client, statuses, events, until, eventsUntil };
}

/** Both links open, the primary known and the DN registered on both. */
async function ready(s: Awaited<ReturnType<typeof setup>>, pair: Pair, dn = '5001') {
  await s.until((x) => x.type === 'switched', 'switched');
  await s.client.register(dn);
  await s.until((x) => x.type === 'connected' && x.server === pair.b.url, 'B connected');
  while (!pair.state.registrations.get('desk-1')?.has(dn) || pair.b.received.filter((r) => r.request === 'RequestRegisterAddress').length === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

const refsOf = (srv: Pair['a'], name: string) => srv.received.filter((r) => r.request === name).map((r) => r.referenceId);

t.test('requests go to the primary, the one with the highest epoch saying primary', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  const ev = await client.ready('5001');
  t.equal(ev.event, 'EventAgentReady');
  t.same(refsOf(pair.a, 'RequestAgentReady'), [ev.referenceId]);
  t.same(refsOf(pair.b, 'RequestAgentReady'), []);
  // B claims primary with a higher epoch while A still says primary (it has not heard yet).
  pair.b.setRole('primary', 2);
  await s.until((x) => x.type === 'switched' && x.to === pair.b.url, 'switched to B');
  const ev2 = await client.notReady('5001');
  t.equal(ev2.event, 'EventAgentNotReady');
  t.same(refsOf(pair.b, 'RequestAgentNotReady'), [ev2.referenceId]);
  t.equal(client.primary, pair.b.url);
});

t.test('kill -9 of the primary with a request in flight (executed, unanswered): retried with the same referenceId, runs once', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  pair.a.swallowNext = 'after';
  const p = client.makeCall('5001', '5002');
  while (refsOf(pair.a, 'RequestMakeCall').length === 0) await new Promise((r) => setTimeout(r, 5));
  const [ref] = refsOf(pair.a, 'RequestMakeCall');
  await pair.a.crash();
  pair.b.setRole('primary', 2);
  const ev = await p;
  t.equal(ev.event, 'EventDialing');
  t.equal(ev.referenceId, ref);
  t.same(refsOf(pair.b, 'RequestMakeCall'), [ref], 'the retry carried the same referenceId');
  t.equal(pair.state.executions.get(`desk-1#${ref}`), 1, 'executed exactly once');
  await s.eventsUntil(1);
  t.same(s.events.map((e) => e.seq), [1], 'the answer event delivered once, through the replay');
  const seq = s.statuses.map((x) => x.type).filter((x) => x.startsWith('failover') || x === 'switched');
  t.same(seq, ['switched', 'failover-started', 'switched', 'failover-complete']);
});

t.test('a request lost before it ran is executed on the new primary, once', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  pair.a.swallowNext = 'before';
  const p = client.ready('5001');
  while (refsOf(pair.a, 'RequestAgentReady').length === 0) await new Promise((r) => setTimeout(r, 5));
  const [ref] = refsOf(pair.a, 'RequestAgentReady');
  await pair.a.crash();
  pair.b.setRole('primary', 2);
  const ev = await p;
  t.equal(ev.referenceId, ref);
  t.equal(pair.state.executions.get(`desk-1#${ref}`), 1);
});

t.test('requests sent while no primary is known wait and go to the new one', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  await pair.a.crash();
  await s.until((x) => x.type === 'failover-started', 'failover-started');
  t.equal(client.primary, null);
  const p = client.ready('5001');
  pair.b.setRole('primary', 2);
  const ev = await p;
  t.equal(ev.event, 'EventAgentReady');
  t.same(refsOf(pair.b, 'RequestAgentReady'), [ev.referenceId]);
});

t.test('events across a failover: every journalled event once, in seq order, via replay', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  await ready(s, pair, '5002');
  const st = pair.state;
  st.publish({ event: 'EventRinging', thisDN: '5001', connId: '0000000000000001' });
  st.publish({ event: 'EventRinging', thisDN: '9999' }); // not ours
  st.publish({ event: 'EventEstablished', thisDN: '5001', connId: '0000000000000001' });
  await s.eventsUntil(2);
  // A dies; events journalled in between (the backup has them; the client never saw them).
  await pair.a.crash();
  await s.until((x) => x.type === 'failover-started', 'failover-started');
  st.publish({ event: 'EventReleased', thisDN: '5001', connId: '0000000000000001' });
  st.publish({ event: 'EventRinging', thisDN: '5002', connId: '0000000000000002' });
  pair.b.setRole('primary', 2);
  st.publish({ event: 'EventEstablished', thisDN: '5002', connId: '0000000000000002' }); // live, may race the replay
  await s.eventsUntil(5);
  await s.until((x) => x.type === 'failover-complete', 'failover-complete');
  const expected = st.journal.filter((e) => e.thisDN === '5001' || e.thisDN === '5002').map((e) => e.seq);
  t.same(s.events.map((e) => e.seq), expected, 'exactly the journal for our DNs, in order');
  t.same(s.events.map((e) => e.event), st.journal.filter((e) => e.thisDN === '5001' || e.thisDN === '5002').map((e) => e.event), 'EventServerInfo (which has a seq too) is not a state event');
  t.equal(client.lastSeq, expected.at(-1));
  // A duplicate copy (a second replay) changes nothing.
  t.equal(s.events.length, 5);
});

t.test('the client phase through a failover, exactly: searching, live, failover, replaying, live, closed', async (t) => {
  const phases: string[] = [];
  const s = await setup(t, { log: (_msg, f) => { if (f?.machine === 'session' && 'from' in f) phases.push(`${String(f.from)} -> ${String(f.to)}`); } });
  const { pair, client } = s;
  await ready(s, pair);
  await pair.a.crash();
  await s.until((x) => x.type === 'failover-started', 'failover-started');
  pair.b.setRole('primary', 2);
  await s.until((x) => x.type === 'failover-complete', 'failover-complete');
  client.close();
  t.same(phases, ['searching -> live', 'live -> failover', 'failover -> replaying', 'replaying -> live', 'live -> closed']);
});

t.test('NotPrimary answers are retried, never surfaced', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  // A quietly stopped being primary (its EventServerInfo not pushed yet); B takes over a bit later.
  pair.a.setRole('backup', 1, false);
  const p = client.ready('5001');
  await s.until((x) => x.type === 'failover-started', 'failover-started (A answered NotPrimary, then said backup)');
  pair.b.setRole('primary', 2);
  const ev = await p;
  t.equal(ev.event, 'EventAgentReady');
  t.equal(refsOf(pair.a, 'RequestAgentReady')[0], ev.referenceId);
  t.equal(refsOf(pair.b, 'RequestAgentReady')[0], ev.referenceId);
  t.equal(pair.state.executions.get(`desk-1#${ev.referenceId}`), 1);
});

t.test('Overloaded answers are retried after the hint with the same referenceId, never surfaced', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  pair.a.overloadNext = 2;
  const sent = Date.now();
  const ev = await client.ready('5001');
  t.equal(ev.event, 'EventAgentReady');
  const refs = refsOf(pair.a, 'RequestAgentReady');
  t.same(refs, [ev.referenceId, ev.referenceId, ev.referenceId], 'two refusals, then admitted: one referenceId');
  t.ok(Date.now() - sent >= 2 * pair.a.overloadRetryAfterMs, 'each retry waited at least the hint');
  t.equal(pair.state.executions.get(`desk-1#${ev.referenceId}`), 1);
});

t.test('a registration answered Overloaded is sent again after the hint, not dropped', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await s.until((x) => x.type === 'switched', 'switched');
  await s.until((x) => x.type === 'connected' && x.server === pair.b.url, 'B connected');
  pair.a.overloadRegistrations = 1;
  const ev = await client.register('5002');
  t.equal(ev.event, 'EventRegistered');
  t.equal(ev.thisDN, '5002');
  const regs = (srv: Pair['a']) => srv.received.filter((r) => r.request === 'RequestRegisterAddress' && r.thisDN === '5002').length;
  t.equal(regs(pair.a), 2, 'refused once by the primary, then sent again and registered');
  t.ok(pair.state.registrations.get('desk-1')?.has('5002'), 'registered (register() used to reject with Overloaded and forget the DN)');
});

t.test('real errors reject with the server code', async (t) => {
  const s = await setup(t);
  await ready(s, s.pair);
  const err = await s.client.answer('5001', 'ffffffffffffffff').catch((e: unknown) => e);
  t.ok(err instanceof TandemError);
  t.equal((err as TandemError).errorCode, 'InvalidState');
  t.match((err as TandemError).errorMessage, /not ringing/);
});

t.test('close() rejects every pending request', async (t) => {
  const s = await setup(t);
  await ready(s, s.pair);
  s.pair.a.swallowNext = 'before';
  const p = s.client.ready('5001');
  const q = s.client.register('5003');
  s.client.close();
  const err = await p.catch((e: unknown) => e);
  t.equal((err as TandemError).errorCode, 'ClientClosed');
  await q.catch(() => undefined);
  t.equal(s.client.pendingCount, 0);
  const late = await s.client.ready('5001').catch((e: unknown) => e);
  t.equal((late as TandemError).errorCode, 'ClientClosed');
});

for (const heartbeat of ['ping', 'app'] as const) {
  t.test(`a hung primary is detected by ${heartbeat === 'ping' ? 'WebSocket ping/pong' : 'the app-level heartbeat'}`, async (t) => {
    const s = await setup(t, { heartbeat, heartbeatMs: 40, deadAfterMs: 200 });
    const { pair, client } = s;
    await ready(s, pair);
    const started = Date.now();
    pair.a.hung = true;
    const down = await s.until((x) => x.type === 'disconnected' && x.server === pair.a.url, 'A disconnected');
    t.match(down, { reason: /no answer/ });
    t.ok(Date.now() - started < 1000, 'detected within the dead-after time');
    pair.b.setRole('primary', 2);
    const ev = await client.ready('5001');
    t.same(refsOf(pair.b, 'RequestAgentReady'), [ev.referenceId]);
  });
}

t.test('referenceIds are positive, increasing and unique across requests', async (t) => {
  const s = await setup(t, { firstReferenceId: 1000 });
  await ready(s, s.pair);
  const a = await s.client.ready('5001');
  const b = await s.client.notReady('5001');
  t.ok(a.referenceId! >= 1000 && b.referenceId! > a.referenceId!);
  const all = [...s.pair.a.received, ...s.pair.b.received].map((r) => r.referenceId);
  const byServer = (srv: Pair['a']) => srv.received.map((r) => r.referenceId);
  t.equal(new Set(byServer(s.pair.a)).size, byServer(s.pair.a).length);
  t.ok(all.every((r) => Number.isSafeInteger(r) && r > 0));
});

t.test('register() resolves with the primary snapshot, or any server while no primary is known', async (t) => {
  const s = await setup(t);
  const { pair, client } = s;
  await ready(s, pair);
  await pair.a.crash();
  await s.until((x) => x.type === 'failover-started', 'failover-started');
  const ev = await client.register('5009');
  t.equal(ev.event, 'EventRegistered');
  t.equal(ev.thisDN, '5009');
  t.same(pair.b.received.filter((r) => r.request === 'RequestRegisterAddress').map((r) => r.thisDN).slice(-1), ['5009']);
});

// Failover first (src/sdk/failover-client.ts holdReconnect): after kill -9 of the primary, the SDK does
// not reconnect to the dead server while the other server is reachable and no primary is known, nor
// while the new primary's replay runs; the held reconnect goes after the replay is answered, at the
// latest after min(1 s, deadAfterMs) while no primary is known (the lost server may be the live
// primary: only the link dropped) and after deadAfterMs while a newer primary replays. With no other
// server reachable it reconnects on its backoff as before.
// An in-memory WebSocket counts the connection attempts and lets the test answer the replay.
import t, { type Test } from 'tap';
import { TandemClient, type ClientStatus } from '../../src/sdk/index.js';

type Frame = Record<string, unknown>;

/** The two servers' behaviour, shared by every FakeSocket of a test. */
class World {
  attempts: Record<string, number> = {};
  dead = new Set<string>();
  role: Record<string, { role: string; epoch: number }> = {};
  sockets: FakeSocket[] = [];
  /** RequestReplay frames not answered yet (the test answers them). */
  replays: { ws: FakeSocket; ref: number }[] = [];
  info(url: string, ref?: number): Frame {
    return { event: 'EventServerInfo', ...this.role[url], serverName: url, seq: 10, serving: true, ...(ref === undefined ? {} : { referenceId: ref }) };
  }
}

let world: World;

class FakeSocket {
  readyState = 0;
  onopen: ((ev: never) => unknown) | null = null;
  onmessage: ((ev: never) => unknown) | null = null;
  onclose: ((ev: never) => unknown) | null = null;
  onerror: ((ev: never) => unknown) | null = null;
  constructor(readonly url: string) {
    world.attempts[url] = (world.attempts[url] ?? 0) + 1;
    world.sockets.push(this);
    setTimeout(() => (world.dead.has(url) ? this.drop(1006) : this.open()), 1);
  }
  send(data: string): void {
    const req = JSON.parse(data) as Frame;
    const ref = req.referenceId as number;
    if (req.request === 'RequestReplay') return void world.replays.push({ ws: this, ref });
    if (req.request === 'RequestOpen' || req.request === 'RequestQueryServer') return this.push(world.info(this.url, ref));
    if (req.request === 'RequestRegisterAddress') return this.push({ event: 'EventRegistered', referenceId: ref, thisDN: req.thisDN, calls: [] });
    this.push({ event: 'EventACK', referenceId: ref });
  }
  close(): void { this.drop(1000); }
  push(ev: Frame): void {
    if (this.readyState === 1) setTimeout(() => this.onmessage?.({ data: JSON.stringify(ev) } as never), 0);
  }
  drop(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code } as never);
  }
  private open(): void {
    this.readyState = 1;
    this.onopen?.({} as never);
  }
}

const A = 'ws://a/tlib', B = 'ws://b/tlib';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(2);
  }
}

/** A client with both links open and its history started (events seen: a failover replays). */
async function started(t: Test, deadAfterMs = 2000, reconnectAfterFailoverMs = 0) {
  world = new World();
  world.role = { [A]: { role: 'primary', epoch: 1 }, [B]: { role: 'backup', epoch: 1 } };
  const statuses: ClientStatus[] = [];
  const client = new TandemClient({
    servers: [A, B], clientName: 'desk-1', WebSocket: FakeSocket as never, heartbeat: 'app', heartbeatMs: 60_000, deadAfterMs,
    reconnect: { initialMs: 10, maxMs: 20, jitter: 0 }, reconnectAfterFailoverMs,
  });
  t.teardown(() => client.close());
  client.on('status', (s) => statuses.push(s));
  await until(() => client.primary === A && client.servers().every((s) => s.state === 'open'), 'both links open');
  // A state event from the primary: the client now has a lastSeq, so a new primary means a replay.
  const a = world.sockets.find((s) => s.url === A && s.readyState === 1)!;
  a.push({ event: 'EventAgentReady', thisDN: '5001', seq: 11 });
  await until(() => client.lastSeq === 11, 'first event');
  return { client, statuses };
}

/** kill -9 of A, then B promoted (pushes its EventServerInfo): B's replay is left unanswered. */
async function killAndPromote(): Promise<void> {
  world.dead.add(A);
  for (const s of world.sockets) if (s.url === A) s.drop(1006);
  await sleep(40); // 2+ backoffs while B says backup
  world.role[B] = { role: 'primary', epoch: 2 };
  for (const s of world.sockets) if (s.url === B) s.push(world.info(B));
  await until(() => world.replays.length === 1, 'the replay sent to B');
}

t.test('while the new primary replays, the dead server is not reconnected; the held reconnect goes once the replay is answered', async (t) => {
  const { client, statuses } = await started(t);
  await killAndPromote();
  t.equal(world.attempts[A], 1, 'no reconnect to A while B, reachable, could take over');
  const during = world.attempts[A];
  await sleep(100); // 5+ backoffs
  t.equal(world.attempts[A], during, 'no reconnect to A while B\'s replay runs');
  const { ws, ref } = world.replays[0]!;
  ws.push({ event: 'EventACK', referenceId: ref });
  await until(() => statuses.some((s) => s.type === 'failover-complete'), 'failover-complete');
  await until(() => world.attempts[A]! > during!, 'the held reconnect to A after the replay');
  t.equal(client.primary, B);
  t.same(statuses.map((s) => s.type).filter((x) => x === 'switched' || x.startsWith('failover')), ['switched', 'failover-started', 'switched', 'failover-complete']);
});

t.test('after the failover the lost server is reconnected [½, 1] × reconnectAfterFailoverMs later, not one backoff step', async (t) => {
  const { client, statuses } = await started(t, 2000, 400);
  await killAndPromote();
  const during = world.attempts[A]!;
  const { ws, ref } = world.replays[0]!;
  ws.push({ event: 'EventACK', referenceId: ref });
  await until(() => statuses.some((s) => s.type === 'failover-complete'), 'failover-complete');
  const completedAt = Date.now();
  await sleep(150); // 7+ backoff steps of 20 ms
  t.equal(world.attempts[A], during, 'no reconnect to A within ½ × 400 ms of the failover');
  await until(() => world.attempts[A]! > during, 'the reconnect to A', 1000);
  const after = Date.now() - completedAt;
  t.ok(after >= 195 && after < 700, `reconnected ${after} ms after the failover (200..400 ms, timers may fire late)`);
  t.equal(client.primary, B, 'B stays primary');
});

t.test('the new primary read before the old one\'s loss: the lost primary is still reconnected only after reconnectAfterFailoverMs', async (t) => {
  const { client, statuses } = await started(t, 2000, 400);
  world.role[B] = { role: 'primary', epoch: 2 };
  for (const s of world.sockets) if (s.url === B) s.push(world.info(B));
  await until(() => world.replays.length === 1, 'the replay sent to B');
  const { ws, ref } = world.replays[0]!;
  ws.push({ event: 'EventACK', referenceId: ref });
  await until(() => client.primary === B && statuses.some((x) => x.type === 'failover-complete'), 'live on B');
  world.dead.add(A);
  for (const s of world.sockets) if (s.url === A) s.drop(1006); // A's loss read only now
  const lostAt = Date.now();
  await sleep(150);
  t.equal(world.attempts[A], 1, 'no reconnect to the lost primary within ½ × 400 ms');
  await until(() => world.attempts[A]! > 1, 'the reconnect to A', 1000);
  const after = Date.now() - lostAt;
  t.ok(after >= 195, `reconnected ${after} ms after the loss`);
});

t.test('a lost backup (its server said backup) reconnects on its backoff', async (t) => {
  await started(t, 2000, 5000);
  for (const s of world.sockets) if (s.url === B) s.drop(1006);
  await until(() => world.attempts[B]! > 1, 'the reconnect to B', 200);
  t.pass('reconnected to the backup within a backoff step or two');
});

/** kill -9 of A, B promoted, its replay never answered: A's reconnect waits `heldMs`, then goes within deadAfterMs. */
async function heldWhileReplaying(t: Test, deadAfterMs: number, heldMs: number, held: string): Promise<void> {
  await started(t, deadAfterMs);
  await killAndPromote();
  const during = world.attempts[A]!;
  await sleep(heldMs);
  t.equal(world.attempts[A], during, held);
  await until(() => world.attempts[A]! > during, 'the reconnect after deadAfterMs', Math.max(1000, deadAfterMs));
}

t.test('a replay that is never answered holds the reconnect for deadAfterMs at most', async (t) => {
  await heldWhileReplaying(t, 150, 60, 'held');
  t.pass('reconnected to A after the cap although the replay is still unanswered');
});

t.test('while a newer primary replays, the hold lasts deadAfterMs, not the 1 s of a failover with no primary', async (t) => {
  await heldWhileReplaying(t, 1500, 1200, 'held past 1 s: B, primary with a newer epoch, is replaying');
  t.pass('reconnected to A once deadAfterMs passed with the replay still unanswered');
});

t.test('only the link to a live primary dropped: it reconnects after the cap, min(1 s, deadAfterMs)', async (t) => {
  const { client } = await started(t, 120);
  for (const s of world.sockets) if (s.url === A) s.drop(1006); // A alive: only the connection dropped
  await sleep(60);
  t.equal(world.attempts[A], 1, 'held while B is reachable');
  await until(() => client.primary === A, 'A primary again after the reconnect', 1000);
  t.equal(world.attempts[A], 2, 'one reconnect, after the cap');
});

t.test('no other server reachable: the lost link reconnects on its backoff', async (t) => {
  const { client } = await started(t);
  world.dead.add(B);
  for (const s of world.sockets) if (s.url === B) s.drop(1006);
  await sleep(20);
  for (const s of world.sockets) if (s.url === A) s.drop(1006); // both gone; A comes back at once
  await until(() => client.primary === A, 'A primary again', 300);
  t.equal(world.attempts[A], 2, 'reconnected on the backoff, not held');
});

t.test('a reconnectAfterFailoverMs that is not a number of ms ≥ 0 is refused with BadRequest when the client is made', async (t) => {
  world = new World();
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => new TandemClient({ servers: [A, B], clientName: 'desk-bad', WebSocket: FakeSocket as never, reconnectAfterFailoverMs: bad }),
      { errorCode: 'BadRequest', message: /reconnectAfterFailoverMs: give a number of ms, 0 or more/ }, `${bad} refused`);
  }
  t.equal(Object.keys(world.attempts).length, 0, 'no connection attempted');
});

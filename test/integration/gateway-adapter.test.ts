// The desktop gateway (src/adapters/gateway/gateway.ts) driven through its own seams: real ws clients on a
// real HTTP server on 127.0.0.1 port 0 whose upgrade goes to Gateway.upgrade, a real CoreHost and
// BatchCollector behind it, released batches delivered by the test (held when a test needs to
// count what one batch writes), and the gateway's timers (open deadline, pings, rate bucket,
// admission) on a manual clock (own-clock.ts). Its contract: one session per client name, frame
// validation with error codes, NotPrimary with the primary's location, one socket write per batch
// with the requester's copy carrying its referenceId, the DN index, close handling, the per-turn
// budget and Overloaded.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { defaultCoreConfig, registeredDNs } from '../../src/core/index.js';
import type { Request, TEvent } from '../../src/protocol/messages.js';
import { Gateway, type GatewayLimits } from '../../src/adapters/gateway/gateway.js';
import { CLOSE } from '../../src/adapters/gateway/session.js';
import { DEFAULT_LIMITS } from '../../src/processes/tserver/config.js';
import { CoreHost } from '../../src/pipeline/core-host.js';
import { Metrics } from '../../src/lib/metrics/metrics.js';
import { BatchCollector, type OutboundBatch } from '../../src/pipeline/outbound.js';
import { ServerRole } from '../../src/ha/role.js';
import type { Role } from '../../src/protocol/messages.js';
import { FakeSwitch } from '../helpers/fake-switch.js';
import { PLAN } from '../helpers/core-rig.js';
import { OwnClock, within } from '../helpers/own-clock.js';
import { captureLog, type LogCapture } from '../helpers/sync-fixtures.js';
import { TestClient } from '../helpers/ws-client.js';

interface Teardown { teardown(fn: () => unknown): void }

interface RigOptions {
  role?: Role;
  limits?: Partial<GatewayLimits>;
  primary?: { serverName: string; url: string };
  /** HA: registrations kept locally while not serving, and while `deferRegistrations` is set. */
  localRegistrations?: boolean;
}

/** Limits that keep the gateway's own defenses out of a test's way unless it sets them. */
const QUIET: Partial<GatewayLimits> = {
  openTimeoutMs: 0, pingIntervalMs: 0, maxRequestsPerSecond: 0, maxEventLoopDelayMs: 0, maxReleaseDelayMs: 0, maxUnopenedPerLoopbackAddress: 0,
};

class GatewayRig {
  readonly clock: OwnClock;
  readonly log: LogCapture;
  readonly role: ServerRole;
  readonly core: CoreHost;
  readonly batch: BatchCollector;
  readonly gw: Gateway;
  /** While true, released batches wait in `held` for the test to deliver them. */
  hold = false;
  /** Where the primary is, for NotPrimary answers. */
  primaryAt: { serverName: string; url: string } | undefined;
  /** A fresh primary still waiting for the switch's snapshot (HaController.awaitingSwitchSnapshot). */
  deferRegistrations = false;
  readonly held: OutboundBatch[] = [];
  /** Socket writes (libuv write requests) the server made to each connection, by the client's local port. */
  private readonly writes = new Map<number, number>();
  private server!: Server;
  private port = 0;

  constructor(private readonly t: Teardown, o: RigOptions) {
    this.clock = OwnClock.install(t);
    this.primaryAt = o.primary;
    this.log = captureLog();
    this.role = new ServerRole(o.role ?? 'primary');
    this.batch = new BatchCollector((b) => (this.hold ? this.held.push(b) : this.gw.deliver(b)));
    const sw = new FakeSwitch(PLAN);
    this.core = new CoreHost({ config: defaultCoreConfig(), role: this.role, batch: this.batch, log: this.log.logger.child({ component: 'core' }) });
    this.core.switchSnapshot(sw.snapshot());
    this.gw = new Gateway({
      core: this.core, role: this.role, batch: this.batch, log: this.log.logger.child({ component: 'gateway' }), metrics: new Metrics(),
      limits: { ...DEFAULT_LIMITS, ...QUIET, ...o.limits },
      serverInfo: () => ({
        event: 'EventServerInfo', role: this.role.role, epoch: this.role.epoch, serverName: 'B', seq: this.core.state.seq, serving: this.role.serving,
        switchLink: 'up', syncState: 'alone', time: new Date().toISOString(),
      }),
      primary: () => this.primaryAt,
      linkUp: () => true,
      ...(o.localRegistrations ? { localRegistrations: () => !this.role.serving || this.deferRegistrations } : {}),
    });
  }

  async listen(): Promise<this> {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket: Socket, head: Buffer) => {
      const port = socket.remotePort!;
      const s = socket as Socket & { _writev: (...a: unknown[]) => void; _write: (...a: unknown[]) => void };
      const writev = s._writev.bind(s);
      const write = s._write.bind(s);
      const count = () => this.writes.set(port, (this.writes.get(port) ?? 0) + 1);
      s._writev = (...a: unknown[]) => { count(); writev(...a); };
      s._write = (...a: unknown[]) => { count(); write(...a); };
      this.gw.upgrade(req, socket, head);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    this.t.teardown(() => new Promise<void>((resolve) => { this.gw.close(); this.server.close(() => resolve()); this.server.closeAllConnections(); }));
    return this;
  }

  get url(): string { return `ws://127.0.0.1:${this.port}/tlib`; }

  async connect(name: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<TestClient> {
    const ws = new WebSocket(this.url, options);
    await within(new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); }), `${name} to connect`);
    const c = new TestClient(ws, name);
    this.t.teardown(() => c.close());
    return c;
  }

  /** Connected and opened as `name`. */
  async open(name: string): Promise<TestClient> {
    const c = await this.connect(name);
    const info = await c.open();
    if (info.event !== 'EventServerInfo') throw new Error(`${name}: RequestOpen answered ${JSON.stringify(info)}`);
    return c;
  }

  writesTo(c: TestClient): number { return this.writes.get(localPort(c)) ?? 0; }

  /** Resolves once `n` batches are held (they stay held). */
  async heldBatches(n: number): Promise<OutboundBatch[]> {
    let waiting = true;
    try {
      await within((async () => { while (waiting && this.held.length < n) await turn(); })(), `${n} held batches`);
    } finally {
      waiting = false;
    }
    return [...this.held];
  }

  /** Delivers everything held and stops holding. */
  releaseAll(): void {
    this.hold = false;
    for (const b of this.held.splice(0)) this.gw.deliver(b);
  }
}

async function gateway(t: Teardown, o: RigOptions = {}): Promise<GatewayRig> {
  return new GatewayRig(t, o).listen();
}

const turn = () => new Promise<void>((r) => setImmediate(r));

function localPort(c: TestClient): number {
  return (c.ws as unknown as { _socket: Socket })._socket.localPort!;
}

/** Sends frames in one TCP write: the gateway reads them in one go, in one event-loop turn. */
function pipeline(c: TestClient, frames: string[]): void {
  const sock = (c.ws as unknown as { _socket: Socket })._socket;
  sock.cork();
  for (const f of frames) c.sendRaw(f);
  sock.uncork();
}

/** The DN an event is about (events without one: undefined). */
const dnOf = (e: TEvent): string | undefined => (e as { thisDN?: string }).thisDN;

const frame = (request: string, referenceId: number, attrs: Record<string, unknown> = {}) => JSON.stringify({ request, referenceId, ...attrs });

t.test('RequestOpen: one session per client name; a second connection with the name replaces the first (4000)', async (t) => {
  const g = await gateway(t);
  const first = await g.connect('desk');
  const info = await first.open();
  t.match(info, { event: 'EventServerInfo', referenceId: 1, serverName: 'B', role: 'primary', serving: true });
  t.equal(g.gw.clientCount, 1);
  t.match(g.log.lines.find((l) => l.clientName === 'desk' && l.restoredDNs !== undefined), { restoredDNs: 0 });

  t.match(await first.request('RequestOpen', { clientName: 'desk' }), { event: 'EventServerInfo' }, 'the same name again on the same connection: answered');
  t.match(await first.request('RequestOpen', { clientName: 'other' }), { event: 'EventError', errorCode: 'BadRequest' }, 'another name on an open connection: refused');
  t.equal(g.gw.clientCount, 1);

  const second = await g.open('desk');
  t.equal((await within(first.closedWith(), 'first to be closed')).code, CLOSE.replaced);
  t.equal(g.gw.clientCount, 1, 'still one session for the name');
  t.match(await second.request('RequestQueryServer'), { event: 'EventServerInfo' }, 'the new connection serves');
});

t.test('frame validation: every bad frame gets EventError with its code (and its referenceId when it has one); the connection stays', async (t) => {
  const g = await gateway(t, { limits: { maxFrameBytes: 1024 } });
  const c = await g.connect('desk');
  const errorFor = async (text: string | Buffer, what: string): Promise<TEvent> => {
    const before = c.events.length;
    c.sendRaw(text);
    return c.take((e) => c.events.indexOf(e) >= before && e.event === 'EventError', 5_000, what);
  };
  t.match(await errorFor(frame('RequestRegisterAddress', 7, { thisDN: '5001' }), 'before open'), { errorCode: 'NotOpened', referenceId: 7 });
  await c.open();
  const cases: [string | Buffer, Record<string, unknown>][] = [
    ['not json', { errorCode: 'BadRequest' }],
    ['[1,2]', { errorCode: 'BadRequest' }],
    [JSON.stringify({ referenceId: 11 }), { errorCode: 'BadRequest', referenceId: 11 }],
    [JSON.stringify({ request: 'RequestQueryServer' }), { errorCode: 'BadRequest' }],
    [frame('RequestNoSuchThing', 12), { errorCode: 'UnknownRequest', referenceId: 12 }],
    [frame('RequestRegisterAddress', 13), { errorCode: 'BadRequest', referenceId: 13 }],
    [frame('RequestRegisterAddress', 14, { thisDN: '50 01' }), { errorCode: 'InvalidDN', referenceId: 14 }],
    [frame('RequestReleaseCall', 15, { thisDN: '5001', connId: 'XYZ' }), { errorCode: 'InvalidConnID', referenceId: 15 }],
    [frame('RequestQueryServer', 16, { pad: 'x'.repeat(1100) }), { errorCode: 'BadRequest', referenceId: 16 }],
    [Buffer.from('{"request":"RequestQueryServer","referenceId":17}'), { errorCode: 'BadRequest' }],
  ];
  for (const [text, expected] of cases) {
    const e = await errorFor(text, String(text).slice(0, 40));
    t.match(e, expected, `${String(text).slice(0, 40)} -> ${String(expected.errorCode)}`);
    if (expected.referenceId === undefined) t.equal(e.referenceId, undefined, 'no referenceId to echo');
  }
  const rejected = g.log.lines.filter((l) => l.msg && l.errorCode !== undefined && l.session !== undefined);
  t.same(rejected.map((l) => l.errorCode), ['NotOpened', ...cases.map(([, e]) => e.errorCode)], 'each refusal logged with its code');
  t.notOk(JSON.stringify(rejected).includes('xxxxxxxx'), 'never the frame itself');
  t.match(await c.request('RequestQueryServer'), { event: 'EventServerInfo' }, 'the connection is kept');

  c.sendRaw(frame('RequestQueryServer', 18, { pad: 'x'.repeat(3000) })); // over twice the limit: ws closes 1009
  t.equal((await within(c.closedWith(), 'c to be closed')).code, 1009);
  await g.log.waitFor((l) => l.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'frame over the limit logged');
});

t.test('not serving: call requests answered NotPrimary with the primary\'s location; registrations kept locally when configured', async (t) => {
  const primary = { serverName: 'A', url: 'ws://10.0.0.1:8080/tlib' };
  const g = await gateway(t, { role: 'backup', primary, localRegistrations: true });
  const c = await g.open('desk');
  t.match(await c.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1' }), { event: 'EventError', errorCode: 'NotPrimary', referenceId: 2, primary });
  t.match(await c.request('RequestQueryServer'), { event: 'EventServerInfo', role: 'backup', serving: false });

  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
  t.match(await c.request('RequestRegisterAddress', { thisDN: '5001' }), { event: 'EventRegistered', thisDN: '5001', time: iso }, 'answered locally, with time like every event');
  t.match(await c.request('RequestRegisterAddress', { thisDN: '5002' }), { event: 'EventRegistered', thisDN: '5002' });
  t.match(await c.request('RequestUnregisterAddress', { thisDN: '5002' }), { event: 'EventUnregistered', thisDN: '5002', time: iso });
  t.same(registeredDNs(g.core.state, 'desk'), [], 'no delta: the replicated state comes from the primary only');
  t.same(g.gw.takeLocalRegistrations(), new Map([['desk', ['5001']]]), 'handed over on promotion');
  t.same(g.gw.takeLocalRegistrations(), new Map(), 'once');

  g.role.set({ role: 'primary', serving: false }); // a primary that lost the lease, location unknown
  g.primaryAt = undefined;
  const e = await c.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1' });
  t.match(e, { event: 'EventError', errorCode: 'NotPrimary' });
  t.notOk('primary' in e, 'no location to give');

  g.role.set({ serving: true });
  t.match(await c.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1' }), { event: 'EventAgentLogin', thisDN: '5001' }, 'serving: run');
});

t.test('a serving primary that defers registrations (fresh start, devices not known yet) keeps them locally for the re-run', async (t) => {
  const g = await gateway(t, { localRegistrations: true });
  const c = await g.open('desk');
  g.deferRegistrations = true;
  t.match(await c.request('RequestRegisterAddress', { thisDN: '5001' }), { event: 'EventRegistered', thisDN: '5001' }, 'answered, not refused');
  t.same(registeredDNs(g.core.state, 'desk'), [], 'not run through the core yet');
  t.match(await c.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1' }), { event: 'EventAgentLogin' }, 'call and agent requests still run: it serves');
  t.same(g.gw.takeLocalRegistrations(), new Map([['desk', ['5001']]]), 'handed over for the re-run after the snapshot');
  g.deferRegistrations = false;
  t.match(await c.request('RequestRegisterAddress', { thisDN: '5002' }), { event: 'EventRegistered', thisDN: '5002' });
  t.same(registeredDNs(g.core.state, 'desk'), ['5002'], 'no longer deferred: through the core');
});

t.test('a released batch: one socket write per connection, every registered client gets each event once, the requester\'s copy with its referenceId', async (t) => {
  const g = await gateway(t);
  const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((n) => g.open(n)));
  for (const x of [a, b, c]) for (const dn of ['5001', '5002']) await x.request('RequestRegisterAddress', { thisDN: dn });
  t.same(registeredDNs(g.core.state, 'B'), ['5001', '5002']);
  for (const x of [a, b, c]) x.skipAll();

  g.hold = true;
  pipeline(a, [
    frame('RequestAgentLogin', 101, { thisDN: '5001', agentId: 'a1', workMode: 'AuxWork' }),
    frame('RequestAgentLogin', 102, { thisDN: '5002', agentId: 'a2', workMode: 'AuxWork' }),
    frame('RequestQueryServer', 103),
  ]);
  await g.heldBatches(1);
  const batch = g.held.shift();
  t.same(batch!.items.map((i) => i.kind), ['event', 'event', 'session'], 'the three requests of one read are one batch');
  const before = [a, b, c].map((x) => g.writesTo(x));
  g.gw.deliver(batch!);
  const gotA = await a.nextStateEvents(2);
  const gotB = await b.nextStateEvents(2);
  const gotC = await c.nextStateEvents(2);
  await a.take((e) => e.referenceId === 103, 5_000, 'the session answer');
  t.same([a, b, c].map((x, i) => g.writesTo(x) - before[i]!), [1, 1, 1], 'one write per socket for the whole batch');

  t.same(gotA.map((e) => [e.event, dnOf(e), e.referenceId]), [['EventAgentLogin', '5001', 101], ['EventAgentLogin', '5002', 102]], 'the requester\'s copies carry its referenceIds');
  for (const got of [gotB, gotC]) t.same(got.map((e) => [e.event, dnOf(e), e.referenceId]), [['EventAgentLogin', '5001', undefined], ['EventAgentLogin', '5002', undefined]], 'the others\' copies do not');
  t.equal(gotA[0]!.seq, gotB[0]!.seq, 'the same journalled event');
  g.hold = false;
  const n = a.events.length;
  await a.request('RequestQueryServer');
  t.equal(a.events.length, n + 1, 'nothing delivered twice');
});

t.test('the DN index: events follow RequestRegisterAddress / RequestUnregisterAddress, and the client name across reconnects', async (t) => {
  const g = await gateway(t);
  const actor = await g.open('actor');
  const watcher = await g.open('watcher');
  t.match(await watcher.request('RequestRegisterAddress', { thisDN: '5001' }), { event: 'EventRegistered', thisDN: '5001' });
  await actor.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1', workMode: 'AuxWork' });
  t.match(await watcher.take((e) => e.event === 'EventAgentLogin'), { thisDN: '5001', agentId: 'a1' }, 'registered: gets the DN\'s events');

  await watcher.close();
  t.equal(g.gw.clientCount, 1);
  await g.log.waitFor((l) => l.clientName === 'watcher' && l.code === 1005, 'disconnect logged with its code');
  const again = await g.open('watcher');
  t.match(g.log.lines.filter((l) => l.clientName === 'watcher' && l.restoredDNs !== undefined).at(-1), { restoredDNs: 1 }, 'its DNs kept under its name');
  await actor.request('RequestAgentReady', { thisDN: '5001' });
  t.match(await again.take((e) => e.event === 'EventAgentReady'), { thisDN: '5001' }, 'reconnected: gets them without registering again');

  t.match(await again.request('RequestUnregisterAddress', { thisDN: '5001' }), { event: 'EventUnregistered', thisDN: '5001' });
  again.skipAll();
  await actor.request('RequestAgentLogout', { thisDN: '5001' });
  await again.request('RequestQueryServer'); // after anything of the batch before it
  t.same(again.pending.filter((e) => dnOf(e) === '5001'), [], 'unregistered: nothing of 5001');
});

t.test('close handling: no RequestOpen within openTimeoutMs -> 4002; a desktop that misses a pong -> 4001; server close -> 1001', async (t) => {
  const g = await gateway(t, { limits: { openTimeoutMs: 1_000, pingIntervalMs: 5_000 } });
  const idle = await g.connect('idle');
  const opened = await g.open('opened');
  const deaf = await g.connect('deaf', { autoPong: false });
  await deaf.open();
  const openTimers = () => g.clock.pending('gateway/gateway.ts').filter((p) => p.repeatMs === undefined).map((p) => p.inMs);
  t.same(openTimers(), [1_000], 'one open deadline: the unopened connection\'s');
  g.clock.advance(999);
  t.same(openTimers(), [1]);
  g.clock.advance(1);
  t.equal((await within(idle.closedWith(), 'idle to be closed')).code, CLOSE.openTimeout);

  const pinged = (c: TestClient) => new Promise<void>((resolve) => c.ws.once('ping', () => resolve()));
  const firstPings = [pinged(opened), pinged(deaf)];
  g.clock.advance(4_000);
  await within(Promise.all(firstPings), 'the first pings');
  await opened.request('RequestQueryServer'); // its pong went out before this: read
  const secondPing = pinged(opened);
  g.clock.advance(5_000);
  t.equal((await within(deaf.closedWith(), 'deaf to be closed')).code, CLOSE.noPong, 'no pong: cut');
  await within(secondPing, 'the second ping');
  t.match(await opened.request('RequestQueryServer'), { event: 'EventServerInfo' }, 'a desktop that answers pings stays');
  t.equal(g.gw.clientCount, 1);

  g.gw.close();
  t.equal((await within(opened.closedWith(), 'opened to be closed')).code, CLOSE.goingAway);
});

t.test('per-turn budget: at most maxRequestsPerTurn requests run per event-loop turn, in arrival order', async (t) => {
  const g = await gateway(t, { limits: { maxRequestsPerTurn: 2, maxQueuedRequests: 0 } });
  const c = await g.open('desk');
  let loopTurn = 0;
  let ticking = true;
  const tick = () => { loopTurn++; if (ticking) setImmediate(tick); };
  setImmediate(tick);
  t.teardown(() => { ticking = false; });
  const ran: [number, number][] = [];
  const request = g.core.request.bind(g.core);
  g.core.request = (name: string, req: Request) => { ran.push([req.referenceId, loopTurn]); request(name, req); };

  const dns = ['5000', '5001', '5002', '5003', '5004', '7000'];
  pipeline(c, dns.map((dn, i) => frame('RequestRegisterAddress', 201 + i, { thisDN: dn })));
  const answers = await Promise.all(dns.map((_, i) => c.waitFor((e) => e.referenceId === 201 + i, 5_000, `answer ${201 + i}`)));
  t.same(answers.map((e) => e.event), dns.map(() => 'EventRegistered'));
  t.same(ran.map(([ref]) => ref), [201, 202, 203, 204, 205, 206], 'in arrival order');
  const perTurn = [...ran.reduce((m, [, turnNo]) => m.set(turnNo, (m.get(turnNo) ?? 0) + 1), new Map<number, number>()).values()];
  t.same(perTurn, [2, 2, 2], 'two per turn');
});

t.test('Overloaded: over the queue bound, over the per-connection rate, while answers wait unreleased; refused requests are not run', async (t) => {
  const g = await gateway(t, { limits: { maxRequestsPerTurn: 1, maxQueuedRequests: 2, overloadRetryAfterMs: 300, maxReleaseDelayMs: 2_000, maxRequestsPerSecond: 10, requestBurst: 6 } });
  const c = await g.open('desk'); // one token
  const dns = ['5000', '5001', '5002', '5003'];
  pipeline(c, dns.map((dn, i) => frame('RequestRegisterAddress', 301 + i, { thisDN: dn }))); // four tokens
  const answers = await Promise.all(dns.map((_, i) => c.waitFor((e) => e.referenceId === 301 + i, 5_000, `answer ${301 + i}`)));
  t.same(answers.map((e) => e.event), ['EventRegistered', 'EventRegistered', 'EventRegistered', 'EventError'], 'one runs, two wait, the fourth is refused');
  t.match(answers[3], { errorCode: 'Overloaded', retryAfterMs: 300, referenceId: 304 });
  t.same(registeredDNs(g.core.state, 'desk'), ['5000', '5001', '5002'], 'the refused one did not run');
  t.match(g.log.lines.find((l) => l.reason === 'queue'), { request: 'RequestRegisterAddress', clientName: 'desk' });

  // One token left of the burst of 6: the next frame is over the rate, until the bucket refills (clock).
  t.match(await c.request('RequestRegisterAddress', { thisDN: '5003' }), { event: 'EventRegistered' });
  const overRate = await c.request('RequestQueryServer');
  t.match(overRate, { event: 'EventError', errorCode: 'Overloaded' });
  t.notOk('retryAfterMs' in overRate);
  g.clock.advance(1_000);
  t.match(await c.request('RequestQueryServer'), { event: 'EventServerInfo' }, 'a second later: served');

  // A batch held unreleased (ack mode waiting for the backup) for maxReleaseDelayMs: new requests refused.
  g.hold = true;
  const ref = c.ref();
  c.sendRaw(frame('RequestAgentLogin', ref, { thisDN: '5004', agentId: 'a4', workMode: 'AuxWork' }));
  await g.heldBatches(1);
  g.clock.advance(1_999);
  const ok = c.ref();
  c.sendRaw(frame('RequestQueryServer', ok));
  await g.heldBatches(2);
  g.clock.advance(1);
  const refused = c.ref();
  c.sendRaw(frame('RequestAgentLogout', refused, { thisDN: '5004' }));
  await g.heldBatches(3);
  g.releaseAll();
  t.match(await c.waitFor((e) => e.referenceId === ref), { event: 'EventAgentLogin' });
  t.match(await c.waitFor((e) => e.referenceId === ok), { event: 'EventServerInfo' }, 'held 1999 ms: still admitted');
  t.match(await c.waitFor((e) => e.referenceId === refused), { event: 'EventError', errorCode: 'Overloaded', retryAfterMs: 300 }, 'held 2000 ms: refused');
  t.ok(g.core.state.agents.has('5004'), 'the refused logout did not run');
  t.match(await c.request('RequestAgentLogout', { thisDN: '5004' }), { event: 'EventAgentLogout' }, 'released: admitted again');
});

t.test('broadcast: every connection, opened or not, gets the event once', async (t) => {
  const g = await gateway(t);
  const a = await g.open('A');
  const unopened = await g.connect('U');
  g.gw.broadcast({ event: 'EventLinkDisconnected', time: new Date().toISOString() });
  for (const c of [a, unopened]) await c.waitFor((e) => e.event === 'EventLinkDisconnected');
  await a.request('RequestQueryServer');
  t.equal(a.events.filter((e) => e.event === 'EventLinkDisconnected').length, 1);
});

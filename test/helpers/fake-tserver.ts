// A fake T-Server pair for SDK tests: two real WebSocket servers on 127.0.0.1 port 0 sharing one
// "replicated state" (seq counter, journal, de-dup records, registrations), speaking just enough of
// docs/protocol.md: open, register, server info with role/epoch, replay, a few requests with
// de-dup by clientName#referenceId, NotPrimary on the backup. Faults are switches on each server:
// crash (terminate everything), hang (no answers, no pongs), swallow a request before or after
// executing it (a request in flight when the primary dies).
import WebSocketClient, { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import type { Role, TEvent } from '../../src/protocol/messages.js';
import { TandemClient, type ClientStatus, type TandemClientOptions } from '../../src/sdk/index.js';

type Req = Record<string, unknown> & { request: string; referenceId: number };

/** What both fake servers share, standing in for the state the real pair replicates. */
export class FakeState {
  seq = 0;
  journal: TEvent[] = [];
  /** Oldest seq still in the journal; a replay from before it is a ReplayGap. */
  oldestSeq = 1;
  readonly dedup = new Map<string, TEvent>();
  /** How many times each clientName#referenceId was executed (must never exceed 1). */
  readonly executions = new Map<string, number>();
  readonly registrations = new Map<string, Set<string>>();
  readonly servers: FakeServer[] = [];

  /** Appends a state event to the journal (seq assigned) and sends it from every primary. */
  publish(ev: Omit<TEvent, 'seq' | 'time'>, answer?: { client: string; referenceId: number }): TEvent {
    const journalled: TEvent = { ...ev, seq: ++this.seq, time: new Date().toISOString() };
    delete journalled.referenceId;
    this.journal.push(journalled);
    for (const s of this.servers) if (s.role === 'primary' && !s.crashed) s.deliver(journalled, answer);
    return journalled;
  }
}

export class FakeServer {
  role: Role;
  epoch: number;
  crashed = false;
  /** Hung: reads nothing, answers nothing, no pongs (SIGSTOP). */
  hung = false;
  /** Drop the next non-session request: 'before' = not executed, 'after' = executed, no answer. */
  swallowNext: 'before' | 'after' | null = null;
  /** Answer the next N non-session requests Overloaded (not run, not remembered), with this hint. */
  overloadNext = 0;
  overloadRetryAfterMs = 30;
  /** Refuse the next N RequestRegisterAddress with Overloaded (a serving server shedding a reconnect storm). */
  overloadRegistrations = 0;
  /** Answer RequestReplay {untilPrimary} at once, as a server without standing replays would. */
  ignoreUntilPrimary = false;
  /** Standing replays held while not primary: client -> [referenceId, replayed up to seq]. */
  readonly standing = new Map<string, [number, number]>();
  /** Heartbeat reports ("<lastSeq> <referenceId>" in a ping): client -> [referenceId, lastSeq]. */
  readonly reports = new Map<string, [number, number]>();
  /** Every ping's payload, in order. */
  readonly pings: string[] = [];
  /** Pong with no payload (the report's echo not back yet), so the SDK does not count on a pushed replay. */
  pongWithoutReport = false;
  /** Later reports are ignored (the report of a link that was too busy to ping: older than lastSeq). */
  keepFirstReport = false;
  /** Starting to serve pushes no reported replays (a server from before them): no replayFollows. */
  ignoreReports = false;
  /** Every request frame received, in order (for assertions). */
  readonly received: Req[] = [];
  url = '';
  private wss: WebSocketServer | undefined;
  private readonly conns = new Map<string, WebSocket>();
  private readonly clientOf = new Map<WebSocket, string>();

  constructor(readonly name: string, readonly state: FakeState, role: Role, epoch: number) {
    this.role = role;
    this.epoch = epoch;
    state.servers.push(this);
  }

  async start(): Promise<string> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/tlib', autoPong: false });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    this.wss = wss;
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/tlib`;
    wss.on('connection', (ws) => {
      ws.on('ping', (data) => {
        if (this.hung) return;
        ws.pong(this.pongWithoutReport ? undefined : data);
        this.pings.push(String(data));
        const m = /^(\d+) (\d+)$/.exec(String(data));
        const client = this.clientOf.get(ws);
        if (m && client && !(this.keepFirstReport && this.reports.has(client))) this.reports.set(client, [Number(m[2]), Number(m[1])]);
      });
      ws.on('message', (data) => { if (!this.hung && !this.crashed) this.onRequest(ws, JSON.parse(String(data)) as Req); });
      ws.on('close', () => {
        const name = this.clientOf.get(ws);
        if (name && this.conns.get(name) === ws) this.conns.delete(name);
      });
    });
    return this.url;
  }

  /** Open connections by client name. */
  get clients(): string[] { return [...this.conns.keys()]; }

  /** kill -9: every socket cut at once, the port closed. */
  async crash(): Promise<void> {
    this.crashed = true;
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
  }

  /** Changes role/epoch and pushes an unsolicited EventServerInfo, as the real server does. */
  setRole(role: Role, epoch: number, push = true): void {
    const starts = role === 'primary' && (this.role !== 'primary' || this.epoch !== epoch) && !this.ignoreReports;
    this.role = role;
    this.epoch = epoch;
    if (!push) return;
    // Standing, else reported, replays complete right behind the info (docs/protocol.md, Session 4).
    for (const [client, ws] of this.conns) {
      this.send(ws, starts ? { ...this.info(), replayFollows: true } : this.info());
      const [ref, after] = (role === 'primary' ? this.standing.get(client) : undefined) ?? (starts ? this.reports.get(client) : undefined) ?? [];
      if (ref === undefined) continue;
      if (after! + 1 < this.state.oldestSeq) {
        this.send(ws, { event: 'EventError', referenceId: ref, errorCode: 'ReplayGap', oldestSeq: this.state.oldestSeq, errorMessage: 'journal too short' });
        continue;
      }
      this.replayTo(ws, client, after!);
      this.send(ws, { event: 'EventACK', referenceId: ref });
    }
    if (role === 'primary') this.standing.clear();
  }

  private replayTo(ws: WebSocket, client: string, after: number): void {
    const dns = this.state.registrations.get(client) ?? new Set<string>();
    for (const ev of this.state.journal) if (ev.seq! > after && ev.thisDN && dns.has(ev.thisDN)) this.send(ws, ev);
  }

  deliver(ev: TEvent, answer?: { client: string; referenceId: number }): void {
    for (const [client, ws] of this.conns) {
      if (!ev.thisDN || !this.state.registrations.get(client)?.has(ev.thisDN)) continue;
      const own = answer && answer.client === client;
      if (own && this.swallowing) continue;
      this.send(ws, own ? { ...ev, referenceId: answer.referenceId } : ev);
    }
  }

  private swallowing = false;

  private info(referenceId?: number): TEvent {
    const ev: TEvent = { event: 'EventServerInfo', role: this.role, epoch: this.epoch, serverName: this.name, seq: this.state.seq };
    if (referenceId !== undefined) ev.referenceId = referenceId;
    return ev;
  }

  private send(ws: WebSocket, ev: TEvent): void {
    if (!this.crashed && !this.hung && ws.readyState === ws.OPEN) ws.send(JSON.stringify(ev));
  }

  private onRequest(ws: WebSocket, req: Req): void {
    this.received.push(req);
    const ref = req.referenceId;
    const client = this.clientOf.get(ws);
    if (req.request === 'RequestOpen') {
      const name = String(req.clientName);
      this.conns.get(name)?.close(4000, 'replaced by a newer connection');
      this.conns.set(name, ws);
      this.clientOf.set(ws, name);
      this.send(ws, this.info(ref));
      return;
    }
    if (!client) return this.send(ws, { event: 'EventError', referenceId: ref, errorCode: 'NotOpened', errorMessage: 'send RequestOpen first' });
    const dns = this.state.registrations.get(client) ?? new Set<string>();
    this.state.registrations.set(client, dns);
    switch (req.request) {
      case 'RequestQueryServer':
        // A browser's heartbeat report (it cannot ping): held before the answer goes out.
        if (typeof req.lastSeq === 'number' && typeof req.replayReferenceId === 'number' && !(this.keepFirstReport && this.reports.has(client))) this.reports.set(client, [req.replayReferenceId, req.lastSeq]);
        return this.send(ws, this.info(ref));
      case 'RequestRegisterAddress':
        if (this.overloadRegistrations > 0) {
          this.overloadRegistrations -= 1;
          return this.send(ws, { event: 'EventError', referenceId: ref, errorCode: 'Overloaded', errorMessage: 'the server is overloaded: retry later', retryAfterMs: this.overloadRetryAfterMs });
        }
        dns.add(String(req.thisDN));
        return this.send(ws, { event: 'EventRegistered', referenceId: ref, thisDN: String(req.thisDN), agentState: 'LoggedOut', calls: [] });
      case 'RequestUnregisterAddress':
        dns.delete(String(req.thisDN));
        return this.send(ws, { event: 'EventUnregistered', referenceId: ref, thisDN: String(req.thisDN) });
      case 'RequestReplay': {
        const after = Number(req.afterSeq);
        if (after + 1 < this.state.oldestSeq) return this.send(ws, { event: 'EventError', referenceId: ref, errorCode: 'ReplayGap', oldestSeq: this.state.oldestSeq, errorMessage: 'journal too short' });
        this.replayTo(ws, client, after);
        if (req.untilPrimary === true && this.role !== 'primary' && !this.ignoreUntilPrimary) return void this.standing.set(client, [ref, this.state.seq]);
        return this.send(ws, { event: 'EventACK', referenceId: ref });
      }
      default:
        return this.execute(ws, client, req);
    }
  }

  private execute(ws: WebSocket, client: string, req: Req): void {
    const ref = req.referenceId;
    if (this.role !== 'primary') {
      return this.send(ws, { event: 'EventError', referenceId: ref, errorCode: 'NotPrimary', errorMessage: 'this server is the backup', primary: { serverName: 'peer', url: '' } });
    }
    if (this.overloadNext > 0) {
      this.overloadNext -= 1;
      return this.send(ws, { event: 'EventError', referenceId: ref, errorCode: 'Overloaded', errorMessage: 'the server is overloaded: retry later', retryAfterMs: this.overloadRetryAfterMs });
    }
    const swallow = this.swallowNext;
    this.swallowNext = null;
    if (swallow === 'before') return;
    const key = `${client}#${ref}`;
    const done = this.state.dedup.get(key);
    if (done) return this.send(ws, { ...done, referenceId: ref });
    this.state.executions.set(key, (this.state.executions.get(key) ?? 0) + 1);
    const thisDN = String(req.thisDN ?? '');
    let answer: TEvent;
    if (req.request === 'RequestAnswerCall' && req.connId === 'ffffffffffffffff') {
      answer = { event: 'EventError', errorCode: 'InvalidState', errorMessage: 'the call is not ringing on this DN', thisDN };
    } else if (req.request in STATE_ANSWERS) {
      this.swallowing = swallow === 'after';
      answer = this.state.publish({ event: STATE_ANSWERS[req.request]!, thisDN, otherDN: req.otherDN as string | undefined }, { client, referenceId: ref });
      this.swallowing = false;
    } else {
      answer = { event: 'EventACK', thisDN };
    }
    this.state.dedup.set(key, answer);
    if (swallow === 'after' || answer.seq !== undefined) return; // a state answer went out through publish
    this.send(ws, { ...answer, referenceId: ref });
  }
}

const STATE_ANSWERS: Record<string, TEvent['event']> = {
  RequestMakeCall: 'EventDialing',
  RequestAgentReady: 'EventAgentReady',
  RequestAgentNotReady: 'EventAgentNotReady',
  RequestAgentLogin: 'EventAgentLogin',
  RequestHoldCall: 'EventHeld',
  RequestRetrieveCall: 'EventRetrieved',
};

/** A started pair: A primary (epoch 1), B backup. */
export async function startFakePair(): Promise<{ state: FakeState; a: FakeServer; b: FakeServer; urls: string[]; close: () => Promise<void> }> {
  const state = new FakeState();
  const a = new FakeServer('A', state, 'primary', 1);
  const b = new FakeServer('B', state, 'backup', 1);
  await a.start();
  await b.start();
  return { state, a, b, urls: [a.url, b.url], close: async () => { await a.crash(); await b.crash(); } };
}

interface Teardown { teardown(fn: () => unknown): void }

/**
 * One SDK desktop ('desk-1', heartbeat 50 ms) on a fake pair, registered on 5001 with both servers and
 * live on A after one event (seq 1), so it has a lastSeq to replay after. `prepare` runs before the
 * client starts; `poll` waits for a predicate on what the test collected (never by sleeping a result).
 */
export async function deskOnFakePair(t: Teardown, o: { prepare?: (pair: Awaited<ReturnType<typeof startFakePair>>) => void; client?: Partial<TandemClientOptions> } = {}) {
  const pair = await startFakePair();
  t.teardown(pair.close);
  o.prepare?.(pair);
  const client = new TandemClient({ servers: pair.urls, clientName: 'desk-1', WebSocket: WebSocketClient, heartbeatMs: 50, reconnect: { initialMs: 20, maxMs: 100 }, reconnectAfterFailoverMs: 0, ...o.client });
  t.teardown(() => client.close());
  const statuses: ClientStatus[] = [];
  const events: TEvent[] = [];
  const controls: TEvent[] = [];
  client.on('status', (s) => statuses.push(s));
  client.on('event', (e) => events.push(e));
  client.on('control', (c) => controls.push(c.event));
  const poll = async (pred: () => boolean, what: string) => {
    for (const end = Date.now() + 5000; !pred();) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; statuses ${JSON.stringify(statuses)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await poll(() => statuses.some((s) => s.type === 'switched'), 'a primary');
  await client.register('5001');
  await poll(() => pair.b.received.some((r) => r.request === 'RequestRegisterAddress'), 'registered on B');
  pair.state.publish({ event: 'EventAgentReady', thisDN: '5001' });
  await poll(() => events.length === 1, 'the first event');
  /** Publishes a live event on 5001 and waits until the desktop delivered one more event. */
  const liveEvent = async (event: string): Promise<{ published: TEvent; delivered: TEvent }> => {
    const n = events.length;
    const published = pair.state.publish({ event, thisDN: '5001' });
    await poll(() => events.length > n, `a live ${event}`);
    return { published, delivered: events[n]! };
  };
  return { pair, client, statuses, events, controls, poll, liveEvent };
}

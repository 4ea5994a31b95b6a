// One desktop connection to one T-Server: connect, RequestOpen, heartbeat, reconnect with backoff.
// It knows the server's role and epoch and nothing about the other server; TandemClient combines
// two of these and decides which one is primary.
//
// States (changed only through the guarded machine, src/lib/fsm.ts):
//   connecting -> opening -> open -> backoff -> connecting ...; any -> closed (final)
// Invariants: `socket` is set iff state is connecting, opening or open; `info` is set iff state is open.
import type { AnswerTo, Request, RequestName, Role, TEvent } from '../protocol/messages.js';
import { sinkLogger, StateMachine } from '../lib/fsm.js';
import { Backoff, type BackoffOptions } from '../lib/backoff.js';
import { TandemError } from './errors.js';
import { HeartbeatMonitor } from './heartbeat.js';
import { hasPing, now, WS_OPEN, type WebSocketConstructor, type WebSocketLike } from './transport.js';

export type LinkState = 'connecting' | 'opening' | 'open' | 'backoff' | 'closed';

/** For each state, the states it may be entered from. */
const ALLOWED_FROM: Record<LinkState, readonly LinkState[]> = {
  connecting: ['backoff'],
  opening: ['connecting'],
  open: ['opening'],
  backoff: ['connecting', 'opening', 'open'],
  closed: ['connecting', 'opening', 'open', 'backoff'],
};

/** What a server said about itself in its latest EventServerInfo. */
export interface ServerInfo {
  role: Role;
  epoch: number;
  /** False when a primary has stopped serving (lost its lease); such a server is not used. */
  serving: boolean;
  serverName: string;
  /** The newest seq the server knew when it answered. */
  seq: number;
}

/** A request body as the application writes it: the SDK adds the referenceId. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'referenceId'> : never) : never;
/** One request's body; its answer type is AnswerTo<N>. */
export type RequestBodyOf<N extends RequestName> = RequestBody & { request: N };

export interface LinkOptions {
  url: string;
  WebSocket: WebSocketConstructor;
  clientName: string;
  token?: string;
  heartbeat: 'ping' | 'app' | 'auto';
  heartbeatMs: number;
  deadAfterMs: number;
  /** Give up a connection attempt (TCP + upgrade + RequestOpen) after this long. */
  openTimeoutMs: number;
  reconnect: BackoffOptions;
  /** A held reconnect released once the owner is live on another server: after [½, 1] × this (0 = one backoff step). */
  reconnectAfterFailoverMs: number;
  nextReferenceId: () => number;
  lastSeq: () => number | undefined;
  /** Diagnostic sink; none = silent (the link's machine then builds no lines). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface LinkOwner {
  /** RequestOpen answered: the link carries requests from now on. */
  linkOpened(link: ServerLink): void;
  /** Role, epoch or serving changed (also right after linkOpened). */
  linkInfo(link: ServerLink): void;
  linkDown(link: ServerLink, reason: string): void;
  /** Every inbound event, in arrival order (including answers to the link's own requests). */
  linkEvent(link: ServerLink, ev: TEvent): void;
  /**
   * A reconnect is due: 0 = go; otherwise not now, the owner is moving to another server (its replay
   * runs) and calls resumeReconnect() once that is done, or at the latest after this many ms.
   */
  holdReconnect(link: ServerLink): number;
  /** The owner is live on another server: this link is the standby path only. */
  liveElsewhere(link: ServerLink): boolean;
}

interface LinkCall { resolve: (ev: TEvent) => void; reject: (err: TandemError) => void }

export class ServerLink {
  private readonly sm: StateMachine<LinkState>;
  private socket: WebSocketLike | undefined;
  private infoValue: ServerInfo | undefined;
  private readonly calls = new Map<number, LinkCall>();
  private readonly backoff: Backoff;
  /** Set iff reconnectAfterFailoverMs > 0: the delay of a reconnect released after a failover. */
  private readonly afterFailover: Backoff | undefined;
  private readonly heartbeat: HeartbeatMonitor;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** referenceId of the RequestOpen in flight; meaningful only in state opening. */
  private openRef = 0;
  /**
   * True iff state is backoff and the reconnect that was due waits for the owner (holdReconnect):
   * `timer` is then the cap, after which it goes anyway.
   */
  private held = false;
  /** Meaningful iff held: when the hold ends at the latest (performance.now() ms). */
  private heldUntil = 0;
  /**
   * Set when the link went down while its server said primary, until its first reconnect: once the
   * owner is live elsewhere, that reconnect waits reconnectAfterFailoverMs (the primary is most likely dead).
   */
  private lostPrimary = false;
  /**
   * The referenceId this connection's heartbeat reports its lastSeq with (in the ping or a browser's
   * RequestQueryServer) and whether the server holds a report (echoed or answered): it then pushes our
   * replay behind the EventServerInfo with which it starts serving (docs/protocol.md, Session 4).
   */
  private reportRef = 0;
  private reportedSeq: number | undefined;
  private reported = false;
  /** Set only while the owner handles an info that says `replayFollows`: that replay's answer. */
  private pushed: Promise<TEvent> | undefined;

  constructor(private readonly opts: LinkOptions, private readonly owner: LinkOwner) {
    this.sm = new StateMachine<LinkState>({
      name: 'link', initial: 'connecting', allowedFrom: ALLOWED_FROM, log: sinkLogger(opts.log), fields: () => ({ server: opts.url }),
    });
    this.backoff = new Backoff(opts.reconnect);
    const after = opts.reconnectAfterFailoverMs;
    if (!Number.isFinite(after) || after < 0) throw new TandemError('BadRequest', `reconnectAfterFailoverMs: give a number of ms, 0 or more (got ${String(after)})`);
    this.afterFailover = after > 0 ? new Backoff({ initialMs: after, maxMs: after, jitter: 0.5 }) : undefined;
    this.heartbeat = new HeartbeatMonitor({
      intervalMs: opts.heartbeatMs, deadAfterMs: opts.deadAfterMs, probe: () => this.probe(),
      onDead: (ms) => this.down(`no answer from the server for ${ms} ms (hung or unreachable)`),
    });
  }

  get url(): string { return this.opts.url; }
  get state(): LinkState { return this.sm.state; }
  /** Set iff state is open. */
  get info(): ServerInfo | undefined { return this.infoValue; }
  get isOpen(): boolean { return this.sm.is('open'); }

  start(): void {
    this.connect();
  }

  /** Sends a frame on an open link; false when the link is not open (the caller keeps the request). */
  send(req: Request): boolean {
    if (!this.sm.is('open') || !this.socket || this.socket.readyState !== WS_OPEN) return false;
    this.socket.send(JSON.stringify(req));
    return true;
  }

  /**
   * A request owned by this link (register, replay, query): answered on this link or rejected with
   * `ConnectionLost` when the link goes down first.
   */
  call<N extends RequestName>(body: RequestBodyOf<N>): Promise<AnswerTo<N>> {
    const referenceId = this.opts.nextReferenceId();
    const req = { ...body, referenceId } as Request;
    // The server answers a request with its DIRECT_ANSWERS event (protocol/events.ts) or EventError.
    return new Promise<TEvent>((resolve, reject) => {
      if (!this.sendRaw(req)) {
        reject(new TandemError('ConnectionLost', `not connected to ${this.url}`, referenceId));
        return;
      }
      this.calls.set(referenceId, { resolve, reject });
    }) as Promise<AnswerTo<N>>;
  }

  /** The server holds this connection's report: our replay follows the info with which it starts serving. */
  get reporting(): boolean { return this.reported; }

  /**
   * While the owner handles an info that says `replayFollows`, with a report held: the replay's
   * answer. Taken once; not taken, it is dropped. A ReplayGap may be an old report's (a busy link
   * pings seldom): asked again from our own lastSeq before it counts.
   */
  takePushedReplay(): Promise<TEvent> | undefined {
    const p = this.pushed;
    this.pushed = undefined;
    return p?.catch((err: TandemError) => (err.errorCode === 'ReplayGap' ? this.call({ request: 'RequestReplay', afterSeq: this.opts.lastSeq() ?? 0 }) : Promise.reject(err)));
  }

  /** Asks the server for its role again (after it answered NotPrimary). */
  refreshInfo(): void {
    if (this.isOpen) this.call({ request: 'RequestQueryServer' }).catch(() => undefined);
  }

  /**
   * The owner's move to another server is done: a reconnect held for it goes. Failover first: a
   * thousand desktops of one floor (or one process) reconnecting to a dead server at the moment they
   * read the new primary's EventServerInfo delayed their replays by up to a second (bench:desktops).
   * Once the owner is live on another server this link is the standby path only: it goes after
   * reconnectAfterFailoverMs (jittered), else one backoff step.
   */
  resumeReconnect(): void {
    if (!this.held) return;
    // Never at once: a floor of desktops finishing their failovers within moments would otherwise all
    // reconnect to the lost server together.
    clearTimeout(this.timer);
    this.held = false;
    this.lostPrimary = false;
    const delay = this.standbyDelay() ?? this.backoff.next();
    this.timer = setTimeout(() => this.reconnect(`held reconnect after the failover, ${delay} ms`, true), delay);
  }

  /** A held reconnect waits up to `ms` from now (the owner's move got further), never less than before. */
  extendHold(ms: number): void {
    if (this.held && now() + ms > this.heldUntil) this.hold(ms);
  }

  /** Stops for good: no reconnect. */
  close(): void {
    if (this.sm.is('closed')) return;
    this.held = false;
    this.teardownSocket('client closed');
    this.sm.transition(ALLOWED_FROM.closed, 'closed', 'client closed');
  }

  private connect(): void {
    let ws: WebSocketLike;
    try {
      ws = new this.opts.WebSocket(this.opts.url);
    } catch (err) {
      this.socket = undefined;
      this.down(`cannot connect: ${(err as Error).message}`);
      return;
    }
    this.socket = ws;
    this.timer = setTimeout(() => this.down(`no session within ${this.opts.openTimeoutMs} ms`), this.opts.openTimeoutMs);
    ws.onopen = () => this.onSocketOpen();
    ws.onmessage = ((ev: { data: unknown }) => this.onFrame(ev.data)) as never;
    ws.onclose = ((ev: { code?: number; reason?: string }) => this.down(`socket closed (${ev.code ?? '?'}${ev.reason ? ` ${ev.reason}` : ''})`)) as never;
    ws.onerror = () => undefined; // onclose follows and says it
    if (hasPing(ws)) ws.on('pong', (data) => { this.heartbeat.alive(); this.reported ||= String(data).endsWith(` ${this.reportRef}`); });
  }

  private onSocketOpen(): void {
    if (!this.sm.transition('connecting', 'opening', 'socket open: RequestOpen')) return;
    const lastSeq = this.opts.lastSeq();
    const body: RequestBody = { request: 'RequestOpen', clientName: this.opts.clientName };
    if (this.opts.token !== undefined) body.token = this.opts.token;
    if (lastSeq !== undefined) body.lastSeq = lastSeq;
    this.openRef = this.opts.nextReferenceId();
    if (!this.sendRaw({ ...body, referenceId: this.openRef } as Request)) this.down('socket closed before RequestOpen');
  }

  /** Handled synchronously in onFrame, so frames right behind the answer already find the link open. */
  private onOpenAnswer(ev: TEvent): void {
    if (ev.event === 'EventError') {
      this.down(`RequestOpen refused: ${ev.errorCode ?? '?'}: ${ev.errorMessage ?? ''}`);
      return;
    }
    clearTimeout(this.timer);
    this.infoValue = infoFrom(ev, undefined);
    this.sm.transition('opening', 'open', 'RequestOpen answered');
    this.backoff.reset();
    this.reportRef = this.opts.nextReferenceId();
    this.reportedSeq = undefined;
    this.reported = false;
    this.heartbeat.start();
    if (this.opts.lastSeq() !== undefined) this.probe();
    this.owner.linkOpened(this);
    this.owner.linkInfo(this);
  }

  private onFrame(data: unknown): void {
    this.heartbeat.alive();
    let ev: TEvent;
    try {
      ev = JSON.parse(String(data)) as TEvent;
    } catch {
      this.opts.log?.('ignored a frame that is not JSON', { server: this.url });
      return;
    }
    if (typeof ev !== 'object' || ev === null || typeof ev.event !== 'string') return;
    if (this.sm.is('opening')) {
      if (ev.referenceId === this.openRef) this.onOpenAnswer(ev);
      return;
    }
    if (ev.event === 'EventServerInfo' && this.infoValue) {
      const next = infoFrom(ev, this.infoValue);
      const changed = next.role !== this.infoValue.role || next.epoch !== this.infoValue.epoch || next.serving !== this.infoValue.serving;
      this.infoValue = next;
      if (changed && ev.replayFollows && this.reported) this.pushed = new Promise((resolve, reject) => this.calls.set(this.reportRef, { resolve, reject }));
      if (changed) this.owner.linkInfo(this);
      if (this.pushed) { this.pushed = undefined; this.calls.delete(this.reportRef); } // not taken: dropped
    }
    const call = ev.referenceId !== undefined ? this.calls.get(ev.referenceId) : undefined;
    if (call) {
      this.calls.delete(ev.referenceId!);
      if (ev.event === 'EventError') call.reject(TandemError.fromEvent(ev));
      else call.resolve(ev);
    } else if (ev.referenceId === this.reportRef) {
      return; // the answer of a reported replay nobody waits for (the owner had its events already)
    }
    if (this.sm.is('open')) this.owner.linkEvent(this, ev);
  }

  /**
   * A ping, or in a browser (which cannot ping) a RequestQueryServer, reporting lastSeq when it moved
   * since the last report on this connection (the server keeps the newest; none before the first
   * event). A report counts once echoed by the pong, or answered: the server holds it by then.
   */
  private probe(): void {
    if (!this.socket) return;
    const seq = this.opts.lastSeq();
    // The server takes non-negative safe integers only; a report it would ignore must not be counted on.
    const report = seq !== undefined && seq !== this.reportedSeq && isReportable(seq) && isReportable(this.reportRef) ? seq : undefined;
    if (report !== undefined) this.reportedSeq = report;
    if (this.opts.heartbeat === 'ping' || (this.opts.heartbeat === 'auto' && hasPing(this.socket))) {
      if (hasPing(this.socket)) this.socket.ping(report === undefined ? undefined : `${report} ${this.reportRef}`);
      return;
    }
    const ref = this.reportRef;
    const body: RequestBodyOf<'RequestQueryServer'> = report === undefined ? { request: 'RequestQueryServer' } : { request: 'RequestQueryServer', lastSeq: report, replayReferenceId: ref };
    this.call(body).then(() => { if (report !== undefined && ref === this.reportRef) this.reported = true; }, () => undefined);
  }

  /** The link is unusable (closed, hung, refused): forget the socket and reconnect after a backoff. */
  private down(reason: string): void {
    const seen = this.sm.state;
    if (seen === 'closed' || seen === 'backoff') return;
    this.lostPrimary ||= this.infoValue?.role === 'primary';
    this.teardownSocket(reason);
    this.sm.transition(seen, 'backoff', reason);
    const delay = this.backoff.next();
    this.opts.log?.('link down', { server: this.url, reason, reconnectInMs: delay });
    this.timer = setTimeout(() => this.reconnect(`reconnect after ${delay} ms`, false), delay);
    if (seen === 'open') this.owner.linkDown(this, reason);
  }

  /**
   * A backoff is over: connect, unless the owner holds it (then at the latest after the owner's cap:
   * the lost server may be the live primary, and a replay that never ends must not keep it away).
   */
  private reconnect(reason: string, force: boolean): void {
    if (!this.sm.is('backoff')) return;
    const hold = force || this.held ? 0 : this.owner.holdReconnect(this);
    if (hold > 0) return this.hold(hold);
    // Its loss and the new primary's EventServerInfo can be read in either order (a busy desktop
    // reads both in one turn): the failover may be over before this reconnect was ever held.
    const delay = !force && this.lostPrimary ? this.standbyDelay() : undefined;
    this.lostPrimary = false;
    if (delay !== undefined) {
      this.timer = setTimeout(() => this.reconnect(`reconnect after the failover, ${delay} ms`, true), delay);
      return;
    }
    clearTimeout(this.timer);
    this.held = false;
    if (this.sm.transition('backoff', 'connecting', reason)) this.connect();
  }

  /** The delay of a standby-only reconnect (the owner live elsewhere), if reconnectAfterFailoverMs is set. */
  private standbyDelay(): number | undefined {
    return this.afterFailover && this.owner.liveElsewhere(this) ? this.afterFailover.next() : undefined;
  }

  private hold(ms: number): void {
    clearTimeout(this.timer);
    this.held = true;
    this.heldUntil = now() + ms;
    this.timer = setTimeout(() => this.reconnect(`held reconnect: no failover done within ${ms} ms`, true), ms);
  }

  private teardownSocket(reason: string): void {
    clearTimeout(this.timer);
    this.heartbeat.stop();
    this.infoValue = undefined;
    this.reported = false;
    this.pushed = undefined;
    const ws = this.socket;
    this.socket = undefined;
    if (ws) {
      // Detach first: a hung server's close handshake may take long, and its late frames must not count.
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.onerror = () => undefined;
      try {
        if (hasPing(ws)) ws.terminate();
        else ws.close();
      } catch { /* already closing */ }
    }
    const calls = [...this.calls.entries()];
    this.calls.clear();
    for (const [ref, c] of calls) c.reject(new TandemError('ConnectionLost', `${this.url}: ${reason}`, ref));
  }

  private sendRaw(req: Request): boolean {
    const ws = this.socket;
    if (!ws || ws.readyState !== WS_OPEN || !this.sm.is('open', 'opening')) return false;
    ws.send(JSON.stringify(req));
    return true;
  }
}

const isReportable = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

function infoFrom(ev: TEvent, prev: ServerInfo | undefined): ServerInfo {
  const info = ev.event === 'EventServerInfo' ? ev : undefined;
  return {
    role: info?.role ?? prev?.role ?? 'backup',
    epoch: info?.epoch ?? prev?.epoch ?? 0,
    serving: info?.serving ?? true,
    serverName: info?.serverName ?? prev?.serverName ?? '',
    seq: ev.seq ?? prev?.seq ?? 0,
  };
}

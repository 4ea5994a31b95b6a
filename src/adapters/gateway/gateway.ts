// The desktop gateway: T-Library in JSON over WebSocket at /tlib. Validates every frame at the edge,
// keeps one session per client name, answers session requests itself (RequestOpen, RequestQueryServer,
// RequestReplay), passes everything else to the core, and delivers released batches: each state
// event serialized once and sent to every client that registered its DN, the requester's copy with
// its referenceId. Contract: docs/protocol.md.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../lib/log.js';
import { describeDN, registeredDNs } from '../../core/index.js';
import { BACKUP_ALLOWED, type ErrorCode, type EventOf, type Request, type RequestName, type RequestOf, type TEvent } from '../../protocol/messages.js';
import { parseRequest } from '../../protocol/validate.js';
import type { CoreHost } from '../../pipeline/core-host.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { BatchCollector, OutboundBatch } from '../../pipeline/outbound.js';
import type { RoleView } from '../../ha/role.js';
import { DnIndex } from './dn-index.js';
import { PingRound } from './ping-round.js';
import { CLOSE, MAX_HELD_UNTIL_OPEN, Session, type SendLimits } from './session.js';
import { Authenticator, DEFAULT_AUTH, type AuthRefusal, type AuthResult } from '../../auth/authenticator.js';
import type { SecurityConfig } from '../../auth/security-config.js';
import type { AdmissionControl, AdmissionLimits } from './admission.js';
import { OverloadLog } from './overload-log.js';
import { UnopenedSockets, type UnopenedLimits } from './unopened.js';
import { RequestTurns } from './request-turns.js';
import { LeaseHold, type LeaseHoldLimits } from './lease-hold.js';
import { parseSeqReport, replayEvents, replayGapMessage, STANDING_REPLAY_MS, StandingReplays } from './replays.js';
import { DeliveryQueue, RequestOutcomes, type DeliveryTargets } from './delivery.js';
import { admitUpgrade, checkRequest, cheapReferenceId, oversizedReferenceId, refuseUpgrade, remoteAddress, type EdgeLimits, type EdgeSecurity } from './guard.js';

/** What an EventError may say besides its code and message (retryAfterMs, primary…). */
type ErrorDetails = Partial<Omit<EventOf<'EventError'>, 'event' | 'errorCode' | 'errorMessage'>>;

export interface GatewayLimits extends SendLimits, EdgeLimits, AdmissionLimits, UnopenedLimits, LeaseHoldLimits {
  /** Largest request frame answered normally; bigger (up to 2x) gets EventError BadRequest, beyond that close 1009. */
  maxFrameBytes: number;
  /** WebSocket ping every this many ms; a desktop that missed one pong is cut. 0 = off. */
  pingIntervalMs: number;
}

export interface GatewayOptions {
  core: CoreHost;
  role: RoleView;
  batch: BatchCollector;
  log: Logger;
  metrics: Metrics;
  limits: GatewayLimits;
  /** EventServerInfo attributes (role, epoch, serverName, peer, seq, serving, switchLink). */
  serverInfo: () => EventOf<'EventServerInfo'>;
  /** Where the primary is, for NotPrimary answers (unknown: undefined). */
  primary: () => { serverName: string; url: string } | undefined;
  /** False while the switch link is down: a desktop that opens then gets EventLinkDisconnected. */
  linkUp: () => boolean;
  /** Desktop authentication and allowed browser origins (docs/security.md); undefined = open (auth mode none). */
  security?: Pick<SecurityConfig, 'auth' | 'allowedOrigins'>;
  /**
   * HA pair: while this says so (not serving; or a fresh primary whose devices are unknown until the
   * switch's snapshot is in), RequestRegisterAddress/UnregisterAddress are answered from a read-only
   * view and kept per client name here (no delta: the replicated state comes only from the primary,
   * which the client registers with too). takeLocalRegistrations() hands them over to be re-run.
   */
  localRegistrations?: () => boolean;
}

/** An admitted request waiting for its turn (request-turns.ts): parsed, validated, not yet run. */
interface Waiting { session: Session; req: Request }
type OpenRequest = Extract<Request, { request: 'RequestOpen' }>;

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  /** Invariant: maps a client name to its one open session; a session is here iff it opened and is not closed. */
  private readonly byClient = new Map<string, Session>();
  private readonly index = new DnIndex();
  /** Requests passed to the core, until their answer is delivered (the requests/outcome metric). */
  private readonly outcomes: RequestOutcomes;
  /** What deliverBatch reads and writes. */
  private readonly delivery: DeliveryTargets;
  /** clientName -> DNs registered while this server was not serving (HA backup). */
  private readonly localRegs = new Map<string, Set<string>>();
  private readonly pings: PingRound;
  /** Released batches in delivery, at most MAX_FRAMES_PER_TURN frames per turn (delivery.ts). */
  private readonly deliveries: DeliveryQueue;
  /** Overloaded answers: the first of an episode logged in full, the rest counted (overload-log.ts). */
  private readonly overloadLog: OverloadLog;
  /** Admission control and the per-turn budget of desktop requests (request-turns.ts). */
  private readonly turns: RequestTurns<Waiting>;
  /** Requests that arrived while this primary's lease was uncertain (lease-hold.ts). */
  private readonly leaseHold: LeaseHold<Waiting>;
  private readonly standing: StandingReplays<Session>; // standing and reported replays (replays.ts)
  private infoKey = ''; // role/epoch/serving of the last EventServerInfo broadcast
  /** Auth, origins (guard.ts): refusals at the edge. */
  private readonly edge: EdgeSecurity;
  /** Sessions whose RequestOpen was refused: closed once the EventError answer went out. */
  private readonly closeAfterAnswer = new WeakSet<TEvent>();
  /** Sockets without a valid RequestOpen yet: per-address caps and the open deadline (unopened.ts). */
  private readonly unopened: UnopenedSockets;

  constructor(private readonly o: GatewayOptions) {
    this.edge = { auth: new Authenticator(o.security?.auth ?? DEFAULT_AUTH), allowedOrigins: o.security?.allowedOrigins ?? [] };
    this.outcomes = new RequestOutcomes(o.metrics, o.log);
    this.delivery = { batch: o.batch, index: this.index, byClient: this.byClient, sessions: this.sessions, closeAfterAnswer: this.closeAfterAnswer, outcomes: this.outcomes };
    this.unopened = new UnopenedSockets(o.limits);
    this.overloadLog = new OverloadLog(o.log);
    o.metrics.gauge('tandem_connections_unopened', 'WebSocket connections that have not sent a valid RequestOpen yet.', () => this.unopened.total);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: o.limits.maxFrameBytes * 2, clientTracking: false });
    // One line per broadcast (role changes, link up/down): when the last desktop was handed it.
    this.deliveries = new DeliveryQueue(this.delivery, undefined, (d) => o.log.info({ event: d.event.event, ...(d.event.event === 'EventServerInfo' ? { role: d.event.role, serving: d.event.serving } : {}), sessions: d.sessions, turns: d.turns, ms: d.ms }, 'broadcast delivered'));
    this.pings = new PingRound(() => this.sessions, o.limits.pingIntervalMs);
    o.metrics.gauge('tandem_clients', 'Open desktop connections that sent RequestOpen.', () => this.byClient.size);
    o.metrics.gauge('tandem_connections', 'Open WebSocket connections.', () => this.sessions.size);
    this.leaseHold = new LeaseHold<Waiting>(o.limits, (expired) => {
      for (const w of expired) if (!w.session.closing) this.reject(w.session, w.req.request, 'NotPrimary', `this server's switch lease was not renewed within ${o.limits.maxLeaseHoldMs} ms (tserver.maxLeaseHoldMs): send the request to the other server`, w.req.referenceId);
    });
    this.standing = new StandingReplays<Session>(o.metrics, o.log, (session, ref) => this.reject(session, 'RequestReplay', 'NotPrimary', `this server did not become primary within ${STANDING_REPLAY_MS} ms: replay on the primary`, ref));
    o.metrics.gauge('tandem_requests_lease_held', 'Requests waiting because this primary\'s lease is uncertain (renewal late, not deposed).', () => this.leaseHold.size);
    this.turns = new RequestTurns<Waiting>(o.limits, (w) => { if (!w.session.closing) this.run(w.session, w.req); }, () => o.batch.oldestUnreleasedAt());
    o.metrics.gauge('tandem_requests_queued', 'Desktop requests admitted and not yet run (tserver.maxQueuedRequests).', () => this.turns.admission.queued);
    o.metrics.gauge('tandem_overloaded', '1 while new desktop requests are answered Overloaded, by reason (queue, eventLoopDelay, unreleased).', ['reason'], () => {
      const reason = this.turns.overloadReason(Date.now());
      return (['queue', 'eventLoopDelay', 'unreleased'] as const).map((r) => ({ labels: { reason: r }, value: reason === r ? 1 : 0 }));
    });
  }

  get clientCount(): number { return this.byClient.size; }

  /** Admission control's measurements (queued requests, loop delay): the overload governor reads them too. */
  get admission(): AdmissionControl { return this.turns.admission; }

  /** The desktop authenticator; operator endpoints (/debug/state) check their tokens with it too. */
  get auth(): Authenticator { return this.edge.auth; }

  /** HTTP upgrade handler for /tlib. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refused = admitUpgrade(req, this.sessions.size, this.o.limits, this.edge, this.unopened);
    if (refused) {
      this.o.log.warn({ remote: `${remoteAddress(req)}:${req.socket.remotePort ?? '?'}`, status: refused.status, reason: refused.reason }, 'connection refused');
      this.o.metrics.inc('tandem_connections_refused_total', { status: String(refused.status) });
      return refuseUpgrade(socket, refused.status, refused.reason);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  /** Re-reads every client's registrations from the state (dn-index.ts). */
  reindexAll(): void { this.index.reindexAll(this.o.core.state.registrations); }

  /** Re-reads the registrations of these clients only (dn-index.ts). */
  reindex(names: Iterable<string>): void { this.index.reindex(this.o.core.state.registrations, names); }

  /** Registrations made while not serving (HA backup), cleared: the promoted server re-runs them. */
  takeLocalRegistrations(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [name, dns] of this.localRegs) if (dns.size > 0) out.set(name, [...dns].sort());
    this.localRegs.clear();
    return out;
  }

  /**
   * The role changed (tserver.ts's role listener): `info` to every connection, then, once serving, each
   * standing or reported replay (replays.ts). Once the lease is certain again (renewed, or lost for
   * good), held requests take their turn in arrival order and are answered by the normal checks.
   */
  roleChanged(info: EventOf<'EventServerInfo'>): void {
    // Unchanged role, epoch and serving (the lease fence's flag alone moved) is no news: 5,000 frames saved.
    const key = `${this.o.role.role}/${this.o.role.epoch}/${this.o.role.serving}`;
    const starts = this.o.role.serving && key !== this.infoKey;
    const followUps = this.o.role.serving ? this.standing.followUps(() => this.o.core.state, (s) => s.scope, starts) : undefined;
    if (key !== this.infoKey || followUps) this.o.batch.add({ kind: 'broadcast', event: starts ? { ...info, replayFollows: true } : info, followUps });
    this.infoKey = key;
    if (this.o.role.leaseUncertain || this.leaseHold.size === 0) return;
    const held = this.leaseHold.drain();
    this.o.log.info({ requests: held.length, serving: this.o.role.serving }, this.o.role.serving ? 'lease renewed: held requests run now' : 'lease not renewed: held requests answered NotPrimary');
    for (const w of held) this.turns.admit(w);
  }

  /** Unsolicited event to every open connection (link up/down, role changes). */
  broadcast(event: TEvent): void { this.o.batch.add({ kind: 'broadcast', event }); }

  close(): void {
    this.pings.stop();
    this.deliveries.close();
    this.leaseHold.stop();
    this.standing.stop();
    this.turns.close();
    this.overloadLog.close();
    for (const s of this.sessions) s.close(CLOSE.goingAway, 'server stopping');
    this.wss.close();
  }

  // ---------------------------------------------------------------- connections

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = `${remoteAddress(req)}:${req.socket.remotePort ?? '?'}`;
    const m = this.o.metrics;
    const session = new Session(ws, remote, this.o.limits, this.o.log, () => m.inc('tandem_events_sent_total'));
    this.sessions.add(session);
    this.unopened.add(session.address);
    const deadline = this.o.limits.openTimeoutMs;
    if (deadline > 0) {
      session.openTimer = setTimeout(() => {
        if (session.clientName || session.closing) return;
        m.inc('tandem_open_timeouts_total');
        session.close(CLOSE.openTimeout, `no RequestOpen within ${deadline} ms (tserver.openTimeoutMs)`);
      }, deadline);
    }
    this.o.log.debug({ session: session.id, remote }, 'client connected');
    ws.on('message', (data, isBinary) => this.onFrame(session, data, isBinary));
    ws.on('pong', () => { session.alive = true; });
    ws.on('ping', (data) => { if (session.clientName) this.standing.report(session, session.clientName, parseSeqReport(data)); });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes with 1009 itself for frames over maxPayload; say why in the log.
      const reason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? `frame over ${this.o.limits.maxFrameBytes * 2} bytes` : err.message;
      this.o.log.warn({ clientName: session.clientName, session: session.id, remote, code: err.code, reason }, 'client connection error');
      m.inc('tandem_connection_errors_total', { code: err.code ?? 'unknown' });
    });
    ws.on('close', (code, reason) => this.onClose(session, code, reason.toString()));
  }

  private onClose(session: Session, code: number, reason: string): void {
    this.sessions.delete(session);
    this.standing.drop(session);
    session.closing = true;
    this.unopened.settle(session);
    const name = session.clientName;
    if (name && this.byClient.get(name) === session) this.byClient.delete(name);
    this.o.log.info({ clientName: name, session: session.id, remote: session.remote, code, reason }, 'client disconnected');
  }

  // ---------------------------------------------------------------- requests

  private onFrame(session: Session, data: RawData, isBinary: boolean): void {
    if (session.closing) return;
    if (session.denied) return;
    if (!session.bucket.take(Date.now())) {
      const ref = isBinary ? undefined : cheapReferenceId(data.toString());
      return this.overloaded(session, undefined, 'perConnectionRate', `more than ${this.o.limits.maxRequestsPerSecond} requests a second on this connection (tserver.maxRequestsPerSecond): slow down; this request was not run`, ref);
    }
    if (isBinary) return this.reject(session, undefined, 'BadRequest', 'binary frames are not accepted: send JSON text frames');
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    const parsed = parseRequest(text, this.o.limits.maxFrameBytes);
    if (!parsed.ok) return this.reject(session, undefined, parsed.code, parsed.message, parsed.referenceId ?? oversizedReferenceId(text, this.o.limits.maxFrameBytes));
    const req = parsed.request;
    this.o.metrics.inc('tandem_requests_received_total', { request: req.request });
    // Shedding only while serving: a server that is not answers NotPrimary (cheap, and it sends the SDK elsewhere).
    // RequestReplay is never shed: it is how a desktop resumes after a failover (every desktop sends one
    // at once to a new primary), it reads only its DNs' journal entries (core/journal-index.ts), and a
    // refusal costs nearly as much as the answer and comes back as a retry: refused during promotions,
    // replays kept the event loop late and the desktops waiting (bench:desktops: 6,802 in 10 s).
    if (req.request !== 'RequestOpen' && req.request !== 'RequestReplay' && this.o.role.serving) {
      const a = this.turns.offer({ session, req }, Date.now());
      if (!a.admitted) {
        this.o.metrics.inc('tandem_overload_refusals_total', { reason: a.reason });
        return this.overloaded(session, req.request, a.reason, a.message, req.referenceId, { retryAfterMs: a.retryAfterMs });
      }
    } else {
      this.turns.admit({ session, req });
    }
  }

  private run(session: Session, req: Request): void {
    if (session.heldUntilOpen) {
      if (!session.hold(req)) this.overloaded(session, req.request, 'heldUntilOpen', `${MAX_HELD_UNTIL_OPEN} requests already wait for this connection's RequestOpen to be checked: this request was not run`, req.referenceId);
      return;
    }
    if (req.request === 'RequestOpen') return this.open(session, req);
    const name = session.clientName;
    if (!name) return this.reject(session, req.request, 'NotOpened', 'send RequestOpen {clientName} first', req.referenceId);
    const refusal = checkRequest(req, session.scope, req.request === 'RequestRegisterAddress' ? registeredDNs(this.o.core.state, name) : [], this.o.limits,
      (connId) => this.o.core.state.calls.get(connId)?.parties.map((p) => p.dn));
    if (refusal) return this.reject(session, req.request, refusal.code, refusal.message, req.referenceId);
    switch (req.request) {
      case 'RequestQueryServer':
        if (req.lastSeq !== undefined && req.replayReferenceId !== undefined) this.standing.report(session, name, { seq: req.lastSeq, ref: req.replayReferenceId });
        return this.answerSession(session, req.request, { ...this.o.serverInfo(), referenceId: req.referenceId });
      case 'RequestReplay': return this.replay(session, name, req);
      default:
        break;
    }
    const serving = this.o.role.serving;
    if ((req.request === 'RequestRegisterAddress' || req.request === 'RequestUnregisterAddress') && this.o.localRegistrations?.()) {
      return this.localRegistration(session, name, req.request, req.thisDN, req.referenceId);
    }
    if (!serving && !BACKUP_ALLOWED.has(req.request) && this.o.role.leaseUncertain) {
      const held = this.leaseHold.hold({ session, req }, Date.now());
      if (held === 'held') return;
      if (held === 'full') return this.overloaded(session, req.request, 'leaseHold', `${this.o.limits.maxLeaseHeldRequests} requests already wait for this primary's lease to be renewed (tserver.maxLeaseHeldRequests): this request was not run`, req.referenceId, { retryAfterMs: this.o.limits.overloadRetryAfterMs });
    }
    if (!serving && !BACKUP_ALLOWED.has(req.request)) {
      const primary = this.o.primary();
      const msg = `this server is ${this.o.role.role}${this.o.role.role === 'primary' ? ' but not serving (lost the switch lease)' : ''}: send call requests to the primary${primary ? ` ${primary.serverName} at ${primary.url}` : ''}`;
      return this.reject(session, req.request, 'NotPrimary', msg, req.referenceId, primary ? { primary } : {});
    }
    this.outcomes.track(name, req);
    this.o.core.request(name, req);
    if (req.request === 'RequestRegisterAddress' || req.request === 'RequestUnregisterAddress') {
      this.o.batch.add({ kind: 'registrations', clientName: name, dns: registeredDNs(this.o.core.state, name) });
    }
  }

  private localRegistration(session: Session, name: string, request: 'RequestRegisterAddress' | 'RequestUnregisterAddress', dn: string, referenceId: number): void {
    let dns = this.localRegs.get(name);
    if (!dns) this.localRegs.set(name, (dns = new Set()));
    if (request === 'RequestRegisterAddress') {
      dns.add(dn);
      return this.answerSession(session, request, { ...describeDN(this.o.core.state, dn), event: 'EventRegistered', referenceId });
    }
    dns.delete(dn);
    this.answerSession(session, request, { event: 'EventUnregistered', referenceId, thisDN: dn });
  }

  private open(session: Session, req: OpenRequest): void {
    const auth = this.edge.auth.check(req.clientName, req.token, session.address);
    if (!(auth instanceof Promise)) return this.opening(session, req, auth);
    // A JWT is checked asynchronously: the requests that arrive meanwhile wait for its answer, in order.
    const held: Request[] = (session.heldUntilOpen = []);
    void auth.then((a) => {
      session.heldUntilOpen = undefined;
      if (session.closing) return;
      this.opening(session, req, a);
      for (const r of held) if (!session.closing && !session.denied) this.run(session, r);
    });
  }

  private opening(session: Session, req: OpenRequest, auth: AuthResult): void {
    const name = req.clientName;
    if (!auth.ok) return this.refuseOpen(session, req, auth);
    if (session.clientName && session.clientName !== name) {
      return this.reject(session, req.request, 'BadRequest', `this connection is already open as "${session.clientName}": open a new connection for another client name`, req.referenceId);
    }
    if (!session.clientName) {
      const old = this.byClient.get(name);
      if (old && old !== session) old.close(CLOSE.replaced, 'replaced by a new connection with the same clientName');
      session.clientName = name;
      session.scope = auth.dns;
      this.unopened.settle(session);
      this.byClient.set(name, session);
      const dns = registeredDNs(this.o.core.state, name);
      // Registrations are kept per client name: an earlier session's token may have allowed more.
      // They stay in the state, but nothing outside this token's scope is delivered or replayed.
      const outOfScope = auth.dns ? dns.filter((dn) => !auth.dns!.has(dn)) : [];
      this.o.log.info({ clientName: name, session: session.id, remote: session.remote, restoredDNs: dns.length - outOfScope.length, lastSeq: req.lastSeq,
        ...(outOfScope.length ? { outOfScopeDNs: outOfScope.length } : {}) }, 'client opened');
      this.o.batch.add({ kind: 'registrations', clientName: name, dns });
    }
    this.answerSession(session, req.request, { ...this.o.serverInfo(), referenceId: req.referenceId });
    if (!this.o.linkUp()) this.o.batch.add({ kind: 'session', session, event: { event: 'EventLinkDisconnected', time: new Date().toISOString() } });
  }

  private replay(session: Session, name: string, req: RequestOf<'RequestReplay'>): void {
    const r = replayEvents(this.o.core.state, name, req.afterSeq, session.scope);
    if (!r.ok) return this.reject(session, 'RequestReplay', 'ReplayGap', replayGapMessage(req.afterSeq, r.oldestSeq), req.referenceId, { oldestSeq: r.oldestSeq });
    for (const event of r.events) this.o.batch.add({ kind: 'session', session, event });
    this.o.log.debug({ clientName: name, afterSeq: req.afterSeq, events: r.events.length, standing: req.untilPrimary === true && !this.o.role.serving }, 'replay');
    if (req.untilPrimary && !this.o.role.serving) {
      const replaced = this.standing.park(session, name, req.referenceId, this.o.core.state.seq);
      if (replaced !== undefined) this.reject(session, 'RequestReplay', 'NotPrimary', 'replaced by a newer RequestReplay on this connection', replaced);
      return;
    }
    this.answerSession(session, 'RequestReplay', { event: 'EventACK', referenceId: req.referenceId });
  }

  /** Answers one connection only; stamped here so no answer goes out without `time` (every event has one, docs/protocol.md). */
  private answerSession(session: Session, request: RequestName, event: TEvent): void {
    this.o.metrics.inc('tandem_requests_total', { request, outcome: 'ok' });
    this.o.batch.add({ kind: 'session', session, event: { ...event, time: new Date().toISOString() } });
  }

  /** Wrong/expired/missing token or a blocked address: Unauthorized, logged with its code (never the token), then closed. */
  private refuseOpen(session: Session, req: OpenRequest, { code, reason, blocked = false }: AuthRefusal): void {
    session.denied = true;
    this.o.metrics.inc('tandem_auth_failures_total', { blocked: String(blocked) });
    this.o.log.warn({ clientName: req.clientName, session: session.id, remote: session.remote, authError: code, reason, blocked }, 'authentication failed');
    const event: TEvent = { event: 'EventError', errorCode: 'Unauthorized', referenceId: req.referenceId, time: new Date().toISOString(),
      errorMessage: blocked ? `${reason}: wait, then open again with a valid token` : `RequestOpen refused (${code}: ${reason}): open with a valid token for "${req.clientName.slice(0, 64)}"` };
    this.closeAfterAnswer.add(event);
    this.o.batch.add({ kind: 'session', session, event });
  }

  /** Overloaded: answered like any refusal, but logged by OverloadLog (thousands a second under overload), not per request. */
  private overloaded(session: Session, request: RequestName | undefined, reason: string, message: string, referenceId?: number, extra: ErrorDetails = {}): void {
    this.overloadLog.refused({ reason, request: request ?? 'invalid', clientName: session.clientName }, message);
    this.reject(session, request, 'Overloaded', message, referenceId, extra, false);
  }

  private reject(session: Session, request: RequestName | undefined, code: ErrorCode, message: string, referenceId?: number, extra: ErrorDetails = {}, log = true): void {
    this.o.metrics.inc('tandem_requests_total', { request: request ?? 'invalid', outcome: code });
    // Never the frame itself: it may hold a token or userData.
    if (log && session.logBudget.allow(Date.now(), (n) => this.o.log.warn({ clientName: session.clientName, session: session.id, suppressed: n }, 'rejected requests not logged (over 20 a second on this connection)'))) {
      this.o.log.warn({ clientName: session.clientName, session: session.id, request, referenceId, errorCode: code, errorMessage: message }, 'request rejected');
    }
    const event: EventOf<'EventError'> = { event: 'EventError', errorCode: code, errorMessage: message, time: new Date().toISOString(), ...extra };
    if (referenceId !== undefined) event.referenceId = referenceId;
    this.o.batch.add({ kind: 'session', session, event });
  }

  /** Delivers one released batch, in order (delivery.ts). */
  deliver(batch: OutboundBatch): void {
    this.deliveries.push(batch);
  }
}

// The desktop SDK's core: one ServerLink per T-Server, requests to whichever is primary, requests
// in flight carried over a failover with the same referenceId, events in seq order exactly once.
// Browser-safe: only the standard WebSocket API and timers.
//
// Invariants:
//   `primary` is an open link whose server says role primary, serving, with the highest epoch among
//   such links; null while none qualifies. It is set iff the phase is replaying or live.
//   A failover is under way iff failoverSince !== null (phase failover, or replaying after one).
//   Every pending request is either parked (sentTo null) or was last sent to the link in sentTo.
import type { AnswerTo, EventOf, Request, RequestName, TEvent } from '../protocol/messages.js';
import { sinkLogger } from '../lib/fsm.js';
import { backoffDelay, type BackoffOptions } from '../lib/backoff.js';
import { TypedEmitter } from './emitter.js';
import { TandemError } from './errors.js';
import { EventSequencer, isStreamEvent } from './event-order.js';
import { Registrations } from './registrations.js';
import { ServerLink, type LinkOwner, type RequestBodyOf } from './server-link.js';
import { createPhaseMachine, PHASE_ALLOWED_FROM, type Phase, type PhaseMachine } from './session-phase.js';
import type { ClientEvents, ClientStatus } from './status.js';
import { DEFAULT_RECONNECT, DEFAULT_RECONNECT_AFTER_FAILOVER_MS, type TandemClientOptions } from './client-options.js';
import { now, type WebSocketConstructor } from './transport.js';

export type { RequestBody, RequestBodyOf } from './server-link.js';
export type { TandemClientOptions } from './client-options.js';

interface Pending {
  req: Request;
  resolve: (ev: TEvent) => void;
  reject: (err: TandemError) => void;
  sentTo: ServerLink | null;
  timeout: ReturnType<typeof setTimeout> | undefined;
  notPrimaryRetries: number;
  /** The last transient refusal (SwitchUnavailable) seen, so a timeout can say why. */
  lastRefusal?: TandemError;
}

/** Parked requests go again after a NotPrimary or SwitchUnavailable: 50 ms doubling to 1 s. */
const REFUSED_RETRY: BackoffOptions = { initialMs: 50, maxMs: 1_000 };

export class FailoverClient extends TypedEmitter<ClientEvents> implements LinkOwner {
  readonly clientName: string;
  private readonly links: ServerLink[];
  private readonly sequencer: EventSequencer;
  private readonly pending = new Map<number, Pending>();
  private readonly registrations: Registrations;
  private readonly requestTimeoutMs: number;
  private readonly deadAfterMs: number;
  private readonly log: (msg: string, fields?: Record<string, unknown>) => void;
  private readonly sm: PhaseMachine;
  /** Set iff the phase is replaying or live; in replaying, the link whose replay runs. */
  private primaryLink: ServerLink | null = null;
  /** The link of a standing RequestReplay {untilPrimary} (sent when the primary was lost); the sequencer holds its events. */
  private ahead: ServerLink | null = null;
  private lastPrimary: { url: string; epoch: number } | null = null;
  private failoverSince: number | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private nextRef: number;

  constructor(opts: TandemClientOptions) {
    super();
    if (!Array.isArray(opts.servers) || opts.servers.length === 0) throw new TandemError('BadRequest', 'servers: give the WebSocket URLs of both T-Servers');
    if (!opts.clientName) throw new TandemError('BadRequest', 'clientName: give this desktop a stable, unique name');
    const WS = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new TandemError('BadRequest', 'no WebSocket implementation: in Node pass { WebSocket } from the "ws" package');
    this.clientName = opts.clientName;
    this.log = opts.log ?? (() => undefined);
    this.sm = createPhaseMachine(sinkLogger(opts.log));
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.sequencer = new EventSequencer(opts.lastSeq);
    this.nextRef = opts.firstReferenceId ?? Date.now() * 1000;
    const heartbeatMs = opts.heartbeatMs ?? 2000;
    const deadAfterMs = this.deadAfterMs = opts.deadAfterMs ?? Math.max(1000, 3 * heartbeatMs);
    this.links = opts.servers.map((url) => new ServerLink({
      url, WebSocket: WS, clientName: opts.clientName, token: opts.token,
      heartbeat: opts.heartbeat ?? 'auto', heartbeatMs, deadAfterMs,
      openTimeoutMs: Math.max(2000, 2 * deadAfterMs),
      reconnect: { ...DEFAULT_RECONNECT, ...opts.reconnect }, reconnectAfterFailoverMs: opts.reconnectAfterFailoverMs ?? DEFAULT_RECONNECT_AFTER_FAILOVER_MS,
      nextReferenceId: () => this.takeReferenceId(),
      lastSeq: () => this.sequencer.lastSeq,
      log: opts.log,
    }, this));
    this.registrations = new Registrations({ closed: () => this.closed, primaryLink: () => this.primaryLink, hasHistory: () => this.sequencer.lastSeq !== undefined, links: this.links });
    this.sm.onChange((tr) => { if (tr.to !== 'closed') this.releaseHeld(); }); // close() closes the links
    for (const l of this.links) l.start();
  }

  /** URL of the current primary, or null while none is known (during a failover). */
  get primary(): string | null { return this.primaryLink?.url ?? null; }
  /** Seq of the newest event delivered. Persist it to resume with `lastSeq` after a restart. */
  get lastSeq(): number | undefined { return this.sequencer.lastSeq; }
  /** Duplicate events dropped so far (both servers, replay overlap). */
  get duplicatesDropped(): number { return this.sequencer.duplicates; }
  /** Requests not yet answered. */
  get pendingCount(): number { return this.pending.size; }
  private get closed(): boolean { return this.sm.is('closed'); }
  /** Each server's URL, link state, latest role, and whether it holds our heartbeat's report of lastSeq. */
  servers(): { url: string; state: string; role?: string; epoch?: number; serverName?: string; reporting: boolean }[] {
    return this.links.map((l) => ({ url: l.url, state: l.state, role: l.info?.role, epoch: l.info?.epoch, serverName: l.info?.serverName, reporting: l.reporting }));
  }

  /**
   * Sends a request to the primary and resolves with its direct answer (same referenceId), or
   * rejects with a TandemError for EventError. Through a failover the request is re-sent to the new
   * primary with the same referenceId; the servers de-duplicate, so it takes effect once.
   */
  request<N extends RequestName>(body: RequestBodyOf<N>): Promise<AnswerTo<N>> {
    if (this.closed) return Promise.reject(new TandemError('ClientClosed', 'the client is closed: create a new one'));
    if (body.request === 'RequestOpen' || body.request === 'RequestReplay') {
      return Promise.reject(new TandemError('BadRequest', `${body.request} is managed by the SDK itself`));
    }
    const req = { ...body, referenceId: this.takeReferenceId() } as Request;
    return new Promise<TEvent>((resolve, reject) => {
      const p: Pending = { req, resolve, reject, sentTo: null, timeout: undefined, notPrimaryRetries: 0 };
      if (this.requestTimeoutMs > 0) {
        p.timeout = setTimeout(() => this.settle(req.referenceId, p.lastRefusal ?? new TandemError('RequestTimeout', `no answer to ${req.request} within ${this.requestTimeoutMs} ms: is either server primary?`, req.referenceId)), this.requestTimeoutMs);
      }
      this.pending.set(req.referenceId, p);
      this.sendPending(p);
    }) as Promise<AnswerTo<N>>; // the server answers with DIRECT_ANSWERS[N] (protocol/events.ts), EventACK or EventError
  }

  /**
   * Registers a DN with both servers (and again after every reconnect). Resolves with the
   * EventRegistered (snapshot of the DN's agent state and calls) from the primary.
   */
  register(dn: string): Promise<EventOf<'EventRegistered'>> {
    if (this.closed) return Promise.reject(new TandemError('ClientClosed', 'the client is closed: create a new one'));
    return this.registrations.register(dn);
  }

  /** Stops following a DN on both servers. */
  unregister(dn: string): Promise<void> { return this.registrations.unregister(dn); }

  /** Closes both links and rejects every pending request with ClientClosed. */
  close(): void {
    if (this.closed) return;
    this.sm.transition(PHASE_ALLOWED_FROM.closed, 'closed', 'client closed');
    clearTimeout(this.retryTimer);
    for (const l of this.links) l.close();
    const err = (ref?: number) => new TandemError('ClientClosed', 'the client was closed before an answer came', ref);
    for (const ref of [...this.pending.keys()]) this.settle(ref, err(ref));
    this.registrations.rejectAll(err());
    this.primaryLink = null;
  }

  // ------------------------------------------------------------------ LinkOwner

  linkOpened(link: ServerLink): void {
    this.status({ type: 'connected', server: link.url, serverName: link.info?.serverName ?? '' });
    this.registrations.linkOpened(link);
  }

  linkInfo(link: ServerLink): void {
    const i = link.info;
    if (i) this.status({ type: 'role', server: link.url, role: i.role, epoch: i.epoch, serving: i.serving });
    this.choosePrimary();
  }

  linkDown(link: ServerLink, reason: string): void {
    if (this.closed) return;
    this.status({ type: 'disconnected', server: link.url, reason });
    for (const p of this.pending.values()) if (p.sentTo === link) p.sentTo = null;
    // A replay running on this link is discarded there: the link is no longer open, so not primary.
    this.choosePrimary();
    this.releaseHeld();
  }

  /**
   * Failover first: a lost link reconnects after the move to another server (its replay), or while no
   * primary is known but another server is reachable (the primary most likely died). Capped: with no
   * primary at min(1 s, deadAfterMs) (the lost server may be a live primary whose link alone dropped);
   * while a newer primary replays at deadAfterMs (its server is dropped by then if it hung).
   */
  holdReconnect(link: ServerLink): number {
    if (this.sm.is('replaying')) return this.primaryLink !== link ? this.deadAfterMs : 0;
    return this.sm.is('failover') && this.links.some((l) => l !== link && l.isOpen) ? Math.min(1000, this.deadAfterMs) : 0;
  }

  liveElsewhere(link: ServerLink): boolean { return this.sm.is('live') && this.primaryLink !== link; }
  private releaseHeld(): void {
    for (const l of this.links) {
      const hold = this.holdReconnect(l);
      if (hold > 0) l.extendHold(hold);
      else l.resumeReconnect();
    }
  }

  linkEvent(link: ServerLink, ev: TEvent): void {
    if (ev.referenceId !== undefined) this.onAnswer(link, ev);
    // The primary's switch link is back: requests parked after a SwitchUnavailable go now.
    if (ev.event === 'EventLinkConnected' && link === this.primaryLink) this.resendParked();
    if (!isStreamEvent(ev)) {
      this.emit('control', { server: link.url, event: ev });
      return;
    }
    // State events are taken from the primary only; whatever another server sent is in the
    // primary's journal and comes back through the replay.
    if (link !== this.primaryLink && link !== this.ahead) return;
    for (const e of this.sequencer.offer(ev)) this.emit('event', e);
  }

  // ------------------------------------------------------------------ internals

  private takeReferenceId(): number {
    return this.nextRef++;
  }

  private status(s: ClientStatus): void {
    this.log('status', s as unknown as Record<string, unknown>);
    this.emit('status', s);
  }

  /** Applies the rule: the primary is the open, serving link saying primary with the highest epoch. */
  private choosePrimary(): void {
    if (this.closed) return;
    let best: ServerLink | null = null;
    for (const l of this.links) {
      const i = l.info;
      if (!l.isOpen || !i || i.role !== 'primary' || !i.serving) continue;
      if (!best || i.epoch > best.info!.epoch || (i.epoch === best.info!.epoch && l === this.primaryLink)) best = l;
    }
    if (best === this.primaryLink) return;
    const old = this.primaryLink;
    const seen = this.sm.state;
    if (seen === 'replaying') this.sequencer.discardReplay();
    if (this.ahead && this.ahead !== best) this.dropAhead();
    if (old && this.failoverSince === null) {
      this.failoverSince = now();
      this.status({ type: 'failover-started', from: old.url });
    }
    this.primaryLink = best;
    if (!best) {
      this.sm.transition(seen, 'failover', `primary ${old?.url ?? '?'} lost: no server qualifies`);
      this.replayAhead(old);
      return;
    }
    const epoch = best.info!.epoch;
    if (!this.lastPrimary || this.lastPrimary.url !== best.url || this.lastPrimary.epoch !== epoch) {
      this.status({ type: 'switched', from: this.lastPrimary?.url ?? null, to: best.url, epoch });
    }
    this.lastPrimary = { url: best.url, epoch };
    this.startSession(seen, best);
  }

  /** A link just became our primary: catch up on events, then carry every pending request over to it. */
  private startSession(seen: Phase, link: ServerLink): void {
    const afterSeq = this.sequencer.lastSeq;
    if (afterSeq === undefined) {
      this.sequencer.baseline(link.info!.seq);
      this.sm.transition(seen, 'live', `primary ${link.url}, no history: from seq ${link.info!.seq}`);
      this.completeFailover(link);
    } else if (this.ahead === link) {
      this.sm.transition(seen, 'replaying', `primary ${link.url}: its standing replay after seq ${afterSeq} completes`);
    } else {
      // Pushed: the server starts serving and sends the replay our heartbeat's report asked for.
      const pushed = link.takePushedReplay();
      this.sequencer.beginReplay();
      this.sm.transition(seen, 'replaying', `primary ${link.url}: replay after seq ${afterSeq}${pushed ? ', pushed behind its info' : ''}`);
      this.sendReplay(link, afterSeq, pushed);
    }
    for (const p of this.pending.values()) if (p.sentTo !== link) this.sendPending(p);
    this.registrations.primaryChosen(link);
  }

  private sendReplay(link: ServerLink, afterSeq: number, answer: Promise<unknown> = link.call({ request: 'RequestReplay', afterSeq })): void {
    answer.then(() => this.endReplay(link), (err: TandemError) => this.replayRefused(link, afterSeq, err));
  }

  private replayRefused(link: ServerLink, afterSeq: number, err: TandemError): void {
    if (!this.replayingOn(link)) return;
    if (err.errorCode === 'ReplayGap') {
      this.status({ type: 'replay-gap', server: link.url, lastSeq: afterSeq, oldestSeq: err.event?.oldestSeq ?? 0 });
      this.endReplay(link);
    } else if (err.errorCode !== 'ConnectionLost') {
      // Overloaded or a role change in between: keep holding events back and ask again; after
      // Overloaded, after the server's hint with jitter (a whole floor replays at once).
      const hint = err.errorCode === 'Overloaded' ? (err.event?.retryAfterMs ?? 100) : 0;
      const delay = hint > 0 ? hint + Math.floor(Math.random() * hint) : 100;
      setTimeout(() => { if (this.replayingOn(link)) this.sendReplay(link, afterSeq); }, delay);
    }
    // ConnectionLost: linkDown already discarded the replay; the next primary replays again.
  }

  /**
   * The primary was lost: ask another open server now for a standing replay (docs/protocol.md,
   * Session 4), answered right behind the EventServerInfo it pushes when it serves: after a crash the
   * desktop resumes on reading that info. Not needed where our heartbeat reported lastSeq.
   */
  private replayAhead(lost: ServerLink | null): void {
    const afterSeq = this.sequencer.lastSeq;
    const link = this.links.find((l) => l !== lost && l.isOpen);
    if (afterSeq === undefined || this.ahead || !link || link.reporting) return;
    this.ahead = link;
    this.sequencer.beginReplay();
    link.call({ request: 'RequestReplay', afterSeq, untilPrimary: true }).then(
      () => { if (this.takeAhead(link)) this.endReplay(link); },
      (err: TandemError) => { if (this.takeAhead(link)) this.replayRefused(link, afterSeq, err); },
    );
  }

  /**
   * The standing replay on `link` was answered: true if it still counts (its link is the primary
   * now, replaying). Otherwise what it delivered is not known to be complete: dropped, the primary's
   * own replay covers it.
   */
  private takeAhead(link: ServerLink): boolean {
    if (this.ahead !== link) return false;
    this.ahead = null;
    if (this.replayingOn(link)) return true;
    this.sequencer.discardReplay();
    return false;
  }

  private dropAhead(): void {
    this.ahead = null;
    this.sequencer.discardReplay();
  }

  private replayingOn(link: ServerLink): boolean {
    return this.sm.is('replaying') && this.primaryLink === link;
  }

  private endReplay(link: ServerLink): void {
    if (!this.replayingOn(link) || !this.sm.transition('replaying', 'live', `replay from ${link.url} done`)) return;
    for (const e of this.sequencer.endReplay()) this.emit('event', e);
    this.completeFailover(link);
  }

  private completeFailover(link: ServerLink): void {
    if (this.failoverSince === null) return;
    const ms = Math.round(now() - this.failoverSince);
    this.failoverSince = null;
    this.status({ type: 'failover-complete', server: link.url, ms });
  }

  private sendPending(p: Pending): void {
    const link = this.primaryLink;
    if (link && link.send(p.req)) p.sentTo = link;
    else p.sentTo = null; // parked: sent when a primary is known
  }

  private onAnswer(link: ServerLink, ev: TEvent): void {
    const ref = ev.referenceId!;
    const p = this.pending.get(ref);
    if (p) {
      if (ev.event === 'EventError' && ev.errorCode === 'NotPrimary') {
        if (p.sentTo !== link) return; // an older copy's answer: the request already went elsewhere
        p.sentTo = null;
        p.notPrimaryRetries += 1;
        link.refreshInfo();
        this.scheduleRetry(backoffDelay(REFUSED_RETRY, p.notPrimaryRetries - 1));
        return;
      }
      if (ev.event === 'EventError' && ev.errorCode === 'SwitchUnavailable') {
        // A new primary whose switch link is not up yet (it comes up right after a promotion): the
        // server did not run the request and did not remember it for de-dup, so the same
        // referenceId is sent again on EventLinkConnected, or after a backoff, until requestTimeoutMs.
        if (p.sentTo !== link) return;
        p.sentTo = null;
        p.notPrimaryRetries += 1;
        p.lastRefusal = TandemError.fromEvent(ev);
        this.scheduleRetry(backoffDelay(REFUSED_RETRY, p.notPrimaryRetries - 1));
        return;
      }
      if (ev.event === 'EventError' && ev.errorCode === 'Overloaded') {
        // Not admitted: the server did nothing and remembered nothing, so the same referenceId goes
        // again after the hint (with jitter: a floor of desktops must not come back in one burst),
        // until requestTimeoutMs.
        if (p.sentTo !== link) return;
        p.sentTo = null;
        p.lastRefusal = TandemError.fromEvent(ev);
        const hint = ev.retryAfterMs ?? 100;
        this.scheduleRetry(hint + Math.floor(Math.random() * hint));
        return;
      }
      this.settle(ref, ev.event === 'EventError' ? TandemError.fromEvent(ev) : ev);
    }
  }

  /** Re-sends parked requests after a NotPrimary or SwitchUnavailable, once the servers had a moment to settle. */
  private scheduleRetry(ms: number): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => this.resendParked(), ms);
  }

  private resendParked(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const p of this.pending.values()) if (p.sentTo === null) this.sendPending(p);
  }

  private settle(ref: number, outcome: TEvent | TandemError): void {
    const p = this.pending.get(ref);
    if (!p) return;
    this.pending.delete(ref);
    clearTimeout(p.timeout);
    if (outcome instanceof TandemError) p.reject(outcome);
    else p.resolve(outcome);
  }
}

// A thin typed client for one switch link: Hello on open, every LinkDown as an event, and request
// helpers that resolve by request id / command id / epoch. No reconnect logic: the T-Server's link
// adapter owns that. Used by the T-Server, `tandem call`, load tools and tests.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { sw } from '../../wire/switch-proto.js';
import { oneof, unhandled, type Oneof } from '../../lib/oneof.js';
import { LINK_PATH, linkClientMethod, type LinkUpOut } from '../../wire/switch-service.js';
import { grpcClientCredentials, grpcClientOptions, type TlsMaterial } from '../../lib/tls.js';

export interface LinkOptions {
  /** host:port of the switch, e.g. 127.0.0.1:7200. */
  address: string;
  /** Sent in Hello: "A", "B", "caller", ... */
  serverName: string;
  secret?: string;
  /** Rejects requests (and `welcome`) not answered within this long. Default 10 s. */
  timeoutMs?: number;
  /** false: do not send Hello on open (tests of the NotHello rule); send it yourself. Default true. */
  hello?: boolean;
  /** Mutual TLS: our certificate and key, and the CA the switch's certificate must chain to. */
  tls?: TlsMaterial;
}

export interface SwitchLinkEvents {
  /** Every message from the switch, in order. */
  message: [sw.LinkDown];
  /** The events of each EventBatch, in seq order. */
  events: [sw.ISwitchEvent[]];
  /** The link is gone: error when it failed (unreachable, switch closed it), undefined after close(). */
  close: [Error | undefined];
}

export class SwitchLinkError extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

interface Waiter<T> { resolve(v: T): void; reject(e: Error): void; timer: NodeJS.Timeout }

/** A LinkDown that answers a request by its request id (SnapshotQuery, CommandLogQuery, Simulate). */
type Answer = Extract<Oneof<sw.LinkDown, 'msg'>, { case: 'simulateResult' | 'snapshot' | 'commandLog' }>;
type AnswerValue<C extends Answer['case']> = Extract<Answer, { case: C }>['value'];

/** Messages per LinkUpBatch at most (a command is ~100 bytes). */
export const MAX_UP_BATCH = 256;

export class LinkClient extends EventEmitter<SwitchLinkEvents> {
  /** Resolves with Welcome; rejects when the switch refuses the Hello or cannot be reached. */
  readonly welcome: Promise<sw.Welcome>;
  private readonly client: grpc.Client;
  private readonly stream: grpc.ClientDuplexStream<LinkUpOut, sw.LinkDown>;
  private readonly timeoutMs: number;
  private nextRequestId = 1;
  private readonly byRequest = new Map<number, Waiter<Answer>>();
  private readonly byCommand = new Map<string, Waiter<sw.CommandResult>[]>();
  private readonly claims: Array<Waiter<sw.LinkDown> & { epoch: number }> = [];
  private readonly heartbeats: Waiter<sw.HeartbeatAck>[] = [];
  private welcomeWaiter?: Waiter<sw.Welcome>;
  private isClosed = false;
  /** Welcome.batches: the switch reads LinkUpBatch. */
  private peerBatches = false;
  /** This turn's batchable messages (send()), written as one at the end of the turn. */
  private outbox: sw.ILinkUp[] = [];

  constructor(readonly opts: LinkOptions) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    // HTTP/2 window 16 MiB instead of 64 KiB: events (and the heartbeat acks behind them) must not
    // wait for a window update from a busy event loop (see SYNC_CHANNEL_OPTIONS).
    this.client = new grpc.Client(opts.address, grpcClientCredentials(opts.tls), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc-node.flow_control_window': 16 * 1024 * 1024, ...grpcClientOptions(opts.tls),
    });
    this.stream = this.client.makeBidiStreamRequest(LINK_PATH, linkClientMethod.requestSerialize, linkClientMethod.responseDeserialize);
    this.welcome = new Promise<sw.Welcome>((resolve, reject) => { this.welcomeWaiter = this.waiter(resolve, reject, 'Welcome'); });
    this.welcome.catch(() => { /* observed through close / the caller's await */ });
    this.stream.on('data', (m: sw.LinkDown) => this.onMessage(m));
    this.stream.on('error', (err: grpc.ServiceError) => this.shutdown(err.code === grpc.status.CANCELLED && this.isClosed ? undefined
      : new SwitchLinkError(err.code === grpc.status.UNAVAILABLE ? 'SwitchUnavailable' : 'LinkFailed', `switch link to ${opts.address} failed: ${err.details || err.message}${err.code === grpc.status.UNAVAILABLE ? ' (is `tandem switch` running there?)' : ''}`)));
    this.stream.on('end', () => this.shutdown(this.isClosed ? undefined : new SwitchLinkError('LinkClosed', `the switch at ${opts.address} closed the link`)));
    if (opts.hello !== false) this.sendHello();
  }

  sendHello(): void {
    this.send({ hello: { serverName: this.opts.serverName, secret: this.opts.secret ?? '' } });
  }

  get closed(): boolean { return this.isClosed; }

  /** Stops reading from the switch (grpc stops consuming: HTTP/2 flow control pushes back). */
  pause(): void { this.stream.pause(); }
  resume(): void { this.stream.resume(); }

  /**
   * Sends a message. Once the switch said it reads batches (Welcome.batches), commands, simulations,
   * queries and overload control wait for the end of the event-loop turn and go out together as one
   * LinkUpBatch (one gRPC message per turn instead of one per command); anything else (Hello, the
   * lease's Claim, Heartbeat, ReleaseLease) goes out at once, after what the turn queued before it, so
   * the order on the link is the order of the calls and the lease never waits behind commands.
   */
  send(msg: sw.ILinkUp): void {
    if (this.isClosed) return;
    if (msg.hello) {
      this.stream.write({ hello: { ...msg.hello, batches: true } });
      return;
    }
    if (this.peerBatches && (msg.command || msg.simulate || msg.snapshotQuery || msg.commandLogQuery || msg.overloadControl)) {
      if (this.outbox.push(msg) === 1) setImmediate(() => this.flushOutbox());
      return;
    }
    this.flushOutbox();
    this.stream.write(msg);
  }

  private flushOutbox(): void {
    if (this.outbox.length === 0) return;
    const out = this.outbox;
    this.outbox = [];
    if (this.isClosed) return;
    if (out.length === 1) return void this.stream.write(out[0]!);
    // Bounded, whatever a turn queued: far under the switch's 16 MiB message limit.
    for (let i = 0; i < out.length; i += MAX_UP_BATCH) this.stream.write({ batch: { msgs: out.slice(i, i + MAX_UP_BATCH) } });
  }

  /** Raw bytes as one frame (tests: malformed input). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.isClosed) this.stream.write(bytes);
  }

  /** The next message (after now) that matches; rejects on timeout or close. */
  next(pred: (m: sw.LinkDown) => boolean, timeoutMs = this.timeoutMs): Promise<sw.LinkDown> {
    return new Promise((resolve, reject) => {
      const onMsg = (m: sw.LinkDown) => { if (pred(m)) { done(); resolve(m); } };
      const onClose = (err?: Error) => { done(); reject(err ?? new SwitchLinkError('LinkClosed', 'link closed while waiting')); };
      const timer = setTimeout(() => { done(); reject(new SwitchLinkError('Timeout', `no matching message from the switch within ${timeoutMs} ms`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); this.off('message', onMsg); this.off('close', onClose); };
      this.on('message', onMsg);
      this.on('close', onClose);
    });
  }

  simulate(op: Omit<sw.ISimulate, 'requestId'>): Promise<sw.SimulateResult> {
    return this.request('simulateResult', (requestId) => ({ simulate: { ...op, requestId } }));
  }

  inboundCall(ani: string, dnis: string, hangupAfterMs = 0): Promise<sw.SimulateResult> {
    return this.simulate({ inboundCall: { ani, dnis, hangupAfterMs } });
  }

  snapshot(): Promise<sw.Snapshot> {
    return this.request('snapshot', (requestId) => ({ snapshotQuery: { requestId } }));
  }

  commandLog(): Promise<sw.CommandLog> {
    return this.request('commandLog', (requestId) => ({ commandLogQuery: { requestId } }));
  }

  /** Sends a command; resolves with its CommandResult (matched by command id, in order). */
  command(cmd: sw.ICommand): Promise<sw.CommandResult> {
    const id = cmd.commandId ?? '';
    return new Promise((resolve, reject) => {
      const queue = this.byCommand.get(id) ?? [];
      this.byCommand.set(id, queue);
      const w: Waiter<sw.CommandResult> = this.waiter(resolve, reject, `CommandResult ${id}`, () => this.dropFrom(queue, w));
      queue.push(w);
      this.send({ command: cmd });
    });
  }

  /** Resolves with the Granted or Refused message that answers this claim. */
  claim(c: sw.IClaim): Promise<sw.LinkDown> {
    return new Promise((resolve, reject) => {
      const w: Waiter<sw.LinkDown> & { epoch: number } = Object.assign(this.waiter<sw.LinkDown>(resolve, reject, `claim epoch ${c.epoch ?? 0}`, () => this.dropFrom(this.claims, w)), { epoch: c.epoch ?? 0 });
      this.claims.push(w);
      this.send({ claim: c });
    });
  }

  heartbeat(epoch: number): Promise<sw.HeartbeatAck> {
    return new Promise((resolve, reject) => {
      const w: Waiter<sw.HeartbeatAck> = this.waiter(resolve, reject, 'HeartbeatAck', () => this.dropFrom(this.heartbeats, w));
      this.heartbeats.push(w);
      this.send({ heartbeat: { epoch } });
    });
  }

  /**
   * Heartbeats every `everyMs` (the Welcome's heartbeatMs) under `epoch` until the returned stop
   * function runs or the link closes. Acks are not awaited: a lost lease shows up as Deposed.
   */
  keepHeartbeating(epoch: number, everyMs: number): () => void {
    const timer = setInterval(() => { if (this.isClosed) stop(); else this.heartbeat(epoch).catch(() => {}); }, everyMs);
    const stop = () => { clearInterval(timer); this.off('close', stop); };
    this.on('close', stop);
    return stop;
  }

  /** Closes the link at once (the switch sees it gone); every pending request is rejected. */
  close(): void {
    if (this.isClosed) return;
    this.flushOutbox();
    this.isClosed = true;
    this.stream.cancel();
    this.shutdown(undefined);
  }

  /** Sends a request with a fresh request id; resolves with the reply of kind `expect` that carries it. */
  private request<C extends Answer['case']>(expect: C, build: (requestId: number) => sw.ILinkUp): Promise<AnswerValue<C>> {
    const requestId = this.nextRequestId++;
    const answer = new Promise<Answer>((resolve, reject) => {
      this.byRequest.set(requestId, this.waiter(resolve, reject, `reply to request ${requestId}`, () => this.byRequest.delete(requestId)));
      this.send(build(requestId));
    });
    return answer.then((a) => {
      if (a.case !== expect) throw new SwitchLinkError('BadMessage', `the switch answered request ${requestId} with ${a.case}, not ${expect}`);
      return a.value;
    }) as Promise<AnswerValue<C>>;
  }

  private onMessage(m: sw.LinkDown): void {
    const c = oneof(m, 'msg');
    switch (c.case) {
      case 'welcome': this.peerBatches = c.value.batches; this.settle(this.welcomeWaiter, c.value); this.welcomeWaiter = undefined; break;
      case 'batch':
        // A turn's messages from the switch, handled (and emitted) one by one as if sent apart.
        for (const inner of c.value.msgs) if (!inner.batch) this.onMessage(inner);
        return;
      case 'error': {
        const e = c.value;
        // Only Unauthorized ends a link before Welcome; NotHello/BadMessage leave it open.
        if (this.welcomeWaiter && e.code === 'Unauthorized') {
          clearTimeout(this.welcomeWaiter.timer);
          this.welcomeWaiter.reject(new SwitchLinkError(e.code, `switch refused the link: ${e.code}: ${e.message}`));
          this.welcomeWaiter = undefined;
        }
        break;
      }
      case 'events': this.emit('events', c.value.events); break;
      case 'simulateResult': case 'snapshot': case 'commandLog': this.settleRequest(c.value.requestId, c); break;
      case 'commandResult': {
        const r = c.value;
        const queue = this.byCommand.get(r.commandId);
        const w = queue?.shift();
        if (queue && queue.length === 0) this.byCommand.delete(r.commandId);
        this.settle(w, r);
        break;
      }
      case 'granted': case 'refused': {
        const epoch = c.value.epoch;
        const i = this.claims.findIndex((w) => w.epoch === epoch);
        if (i >= 0) this.settle(this.claims.splice(i, 1)[0], m);
        break;
      }
      case 'heartbeatAck': this.settle(this.heartbeats.shift(), c.value); break;
      // Seen through the 'message' event only (the T-Server's switch link reads them there).
      case 'deposed': case 'leaseNotice': case 'overloadStatus': case undefined: break;
      default: return unhandled(c);
    }
    this.emit('message', m);
  }

  private settleRequest(requestId: number, a: Answer): void {
    const w = this.byRequest.get(requestId);
    this.byRequest.delete(requestId);
    this.settle(w, a);
  }

  private settle<T>(w: Waiter<T> | undefined, v: T): void {
    if (!w) return;
    clearTimeout(w.timer);
    w.resolve(v);
  }

  private waiter<T>(resolve: (v: T) => void, reject: (e: Error) => void, what: string, onTimeout: () => void = () => {}): Waiter<T> {
    const timer = setTimeout(() => { onTimeout(); reject(new SwitchLinkError('Timeout', `no ${what} from the switch at ${this.opts.address} within ${this.timeoutMs} ms`)); }, this.timeoutMs);
    return { resolve, reject, timer };
  }

  private dropFrom<T>(list: T[], item: T): void {
    const i = list.indexOf(item);
    if (i >= 0) list.splice(i, 1);
  }

  private shutdown(err: Error | undefined): void {
    const reason = err ?? new SwitchLinkError('LinkClosed', 'the switch link was closed');
    const pending: Waiter<unknown>[] = [
      ...(this.welcomeWaiter ? [this.welcomeWaiter as Waiter<unknown>] : []),
      ...this.byRequest.values(), ...[...this.byCommand.values()].flat(), ...this.claims, ...this.heartbeats,
    ] as Waiter<unknown>[];
    this.welcomeWaiter = undefined;
    this.byRequest.clear(); this.byCommand.clear(); this.claims.length = 0; this.heartbeats.length = 0;
    for (const w of pending) { clearTimeout(w.timer); w.reject(reason); }
    if (this.closedEmitted) return;
    this.closedEmitted = true;
    this.isClosed = true;
    this.client.close();
    this.emit('close', err);
  }

  private closedEmitted = false;
}

/** Opens a link and sends Hello; `link.welcome` tells whether the switch accepted it. */
export function openLink(opts: LinkOptions): LinkClient {
  return new LinkClient(opts);
}

/** Opens a link and waits for Welcome; rejects (and closes) when unreachable or refused. */
export async function connectLink(opts: LinkOptions): Promise<LinkClient> {
  const link = openLink(opts);
  try {
    await link.welcome;
    return link;
  } catch (err) {
    link.close();
    throw err;
  }
}

// One desktop connection. Owns the send path with its bounds: a desktop that does not read fast
// enough is closed (4008) instead of making the server buffer without limit.
//
// Invariants: `clientName` is set iff RequestOpen succeeded on this connection. `closing` is true
// from the first close decision on; nothing is sent after it.
import type { WebSocket } from 'ws';
import type { Logger } from '../../lib/log.js';
import type { SessionRef } from '../../pipeline/outbound.js';
import type { Request } from '../../protocol/messages.js';
import { TokenBucket } from '../../auth/rate-limit.js';
import { LogBudget } from './guard.js';

export interface SendLimits {
  /** Bytes the socket may hold unsent (ws.bufferedAmount) before the desktop counts as too slow. */
  maxBufferedBytes: number;
  /** Frames handed to the socket and not yet written out. */
  maxQueuedMessages: number;
}

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  tooBig: 1009,
  replaced: 4000,
  noPong: 4001,
  tooSlow: 4008,
  /** No valid RequestOpen within tserver.openTimeoutMs of the upgrade. */
  openTimeout: 4002,
  /** RequestOpen refused (wrong/expired token, blocked address): closed after the EventError. */
  unauthorized: 4003,
} as const;

/** Requests held behind a RequestOpen being checked (a moment only); one more is answered Overloaded. */
export const MAX_HELD_UNTIL_OPEN = 64;

let nextId = 1;

/** Text frames, never compressed: one options object for every send (ws copies it). */
const TEXT_FRAME = { binary: false, compress: false } as const;

/** Sessions corked in the current synchronous run; uncorked together in a microtask after it. */
let corkedSessions: Session[] = [];

/** Uncorks every session corked since the last call: each socket writes its frames in one go. */
export function uncorkAll(): void {
  const list = corkedSessions;
  corkedSessions = [];
  for (const s of list) s.uncork();
}

export class Session implements SessionRef {
  readonly id = nextId++;
  clientName: string | undefined;
  closing = false;
  /** Pong seen since the last ping. */
  alive = true;
  /** When the gateway last pinged this connection (ms, 0 = never). */
  pingedAt = 0;
  readonly openedAt = Date.now();
  /** DNs the client's token allows; undefined = any. Set by RequestOpen. */
  scope: ReadonlySet<string> | undefined;
  /** RequestOpen was refused: every later frame is ignored until the close goes out. */
  denied = false;
  /** The remote IP (no port): the unit of the unopened-socket cap. */
  readonly address: string;
  /** Counted in the gateway's unopened sockets; cleared (once) when it opens or closes. */
  countedUnopened = true;
  /** Set iff this connection's RequestOpen waits for its JWT's check: the requests that came meanwhile, in order. */
  heldUntilOpen: Request[] | undefined;
  /** Closes the connection when no RequestOpen succeeded in time; cleared on open. */
  openTimer: NodeJS.Timeout | undefined;
  /** Requests per second (limits.maxRequestsPerSecond). */
  readonly bucket: TokenBucket;
  /** Rejected-request log lines per second, so a garbage flood cannot flood the log. */
  readonly logBudget = new LogBudget();
  private queued = 0;
  /** The socket while corked (frames of this run not yet written out); undefined otherwise. */
  private corked: { cork(): void; uncork(): void } | undefined;

  constructor(readonly ws: WebSocket, readonly remote: string, private readonly limits: SendLimits & { maxRequestsPerSecond?: number; requestBurst?: number },
    private readonly log: Logger, private readonly onSent: () => void) {
    this.address = remote.slice(0, Math.max(0, remote.lastIndexOf(':'))) || remote;
    this.bucket = new TokenBucket(limits.maxRequestsPerSecond ?? 0, limits.requestBurst ?? 0, Date.now());
  }

  /** Holds a request while RequestOpen is checked (heldUntilOpen set); false when MAX_HELD_UNTIL_OPEN already wait. */
  hold(req: Request): boolean {
    if (!this.heldUntilOpen || this.heldUntilOpen.length >= MAX_HELD_UNTIL_OPEN) return false;
    this.heldUntilOpen.push(req);
    return true;
  }

  /**
   * Sends one serialized frame (a string, or the same Buffer shared by every recipient of an event);
   * false when the connection is (now) closed. Frames sent in one synchronous run (a released batch)
   * are corked and go out in one write per socket (uncorkAll, at the end of the run).
   */
  send(frame: string | Buffer): boolean {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes || this.queued >= this.limits.maxQueuedMessages) {
      this.close(CLOSE.tooSlow, 'too slow; reconnect and RequestReplay', {
        bufferedBytes: this.ws.bufferedAmount, queuedMessages: this.queued,
        maxBufferedBytes: this.limits.maxBufferedBytes, maxQueuedMessages: this.limits.maxQueuedMessages,
      });
      return false;
    }
    if (!this.corked) this.cork();
    this.queued += 1;
    this.ws.send(frame, TEXT_FRAME, this.written);
    this.onSent();
    return true;
  }

  /** One frame was written out (or failed: the connection is going down). */
  private readonly written = (err?: Error): void => {
    this.queued -= 1;
    if (err && !this.closing) this.log.debug({ clientName: this.clientName, err: err.message }, 'send failed');
  };

  private cork(): void {
    // ws writes each frame as its own socket write (header + payload, corked inside ws): corked here,
    // the frames of a whole batch leave in one writev. ws has no public handle on its socket.
    const socket = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (!socket) return;
    this.corked = socket;
    socket.cork();
    if (corkedSessions.push(this) === 1) queueMicrotask(uncorkAll);
  }

  /** Writes what was corked. */
  uncork(): void {
    const socket = this.corked;
    this.corked = undefined;
    socket?.uncork();
  }

  /** Closes with a code and a logged reason; a peer that does not finish the close handshake is cut. */
  close(code: number, reason: string, detail: Record<string, unknown> = {}): void {
    if (this.closing) return;
    this.closing = true;
    this.log.info({ clientName: this.clientName, session: this.id, remote: this.remote, code, reason, ...detail }, 'client connection closed by server');
    try { this.ws.close(code, reason); } catch { /* already closing */ }
    // A slow or hung desktop never reads the close frame: do not wait for it.
    setTimeout(() => this.ws.terminate(), 1_000).unref();
  }
}

// Rate-limited logging of junk at a peer port (undecodable frames, unauthenticated calls, refused TLS
// handshakes). A burst from one peer must not write a line per message (issue 11: ~2,000 lines from
// one burst): the first junk of each kind from a peer host is logged in full, the rest of its window
// is counted, and one summary line per window tells how many were left out. The kind is the message
// (or a finer key the caller gives, e.g. a TLS error code), never free text such as a decode error.
import type { Logger } from './log.js';

export interface JunkLogOptions {
  /** One full line per peer per window, then a summary at the window's end. Default 10 s. */
  windowMs?: number;
  /** (peer host, kind) pairs tracked at once; beyond that, junk counts under the host "other". Default 1,000. */
  maxPeers?: number;
  /** Timer hooks (tests). */
  setTimer?: (fn: () => void, ms: number) => { unref?: () => unknown };
  clearTimer?: (t: unknown) => void;
}

interface PeerWindow {
  host: string;
  kind: string;
  suppressed: number;
  timer: unknown;
}

type WarnLog = Pick<Logger, 'warn'>;

/**
 * The host part of a peer string "<address>:<port>" as grpc-js and our TLS hook write it:
 * "127.0.0.1:53122" -> "127.0.0.1", "::1:53122" and "[::1]:53122" -> "::1".
 */
export function peerHost(peer: string): string {
  const m = /^(.+):\d+$/.exec(peer);
  const host = m ? m[1]! : peer;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export class JunkLog {
  private readonly peers = new Map<string, PeerWindow>();
  private readonly windowMs: number;
  private readonly maxPeers: number;
  private readonly setTimer: NonNullable<JunkLogOptions['setTimer']>;
  private readonly clearTimer: NonNullable<JunkLogOptions['clearTimer']>;

  constructor(private readonly log: WarnLog, opts: JunkLogOptions = {}) {
    this.windowMs = opts.windowMs ?? 10_000;
    this.maxPeers = opts.maxPeers ?? 1_000;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  /** Junk from `peer` (a gRPC peer string or an address); `kind` (default: msg) groups it. */
  report(peer: string, fields: Record<string, unknown>, msg: string, kind: string = msg): void {
    let host = peerHost(peer);
    let key = `${host}\u0000${kind}`;
    if (!this.peers.has(key) && this.peers.size >= this.maxPeers) { host = 'other'; key = `other\u0000${kind}`; }
    const w = this.peers.get(key);
    if (w) {
      w.suppressed += 1;
      return;
    }
    // The message stays as given (operators and tests search for it); the field says what follows.
    this.log.warn({ ...fields, peer, junk: `more of this from ${host} is counted, summarized every ${this.windowMs / 1000} s` }, msg);
    this.open(key, host, kind);
  }

  /** Writes the pending summaries now and stops the timers. */
  close(): void {
    for (const w of this.peers.values()) {
      this.clearTimer(w.timer);
      this.summarize(w);
    }
    this.peers.clear();
  }

  private open(key: string, host: string, kind: string): void {
    const w: PeerWindow = { host, kind, suppressed: 0, timer: undefined };
    const t = this.setTimer(() => this.windowEnded(key, w), this.windowMs);
    t.unref?.();
    w.timer = t;
    this.peers.set(key, w);
  }

  /** A window with junk left out gets its summary and a new window; a quiet one ends. */
  private windowEnded(key: string, w: PeerWindow): void {
    if (this.peers.get(key) !== w) return;
    this.peers.delete(key);
    if (w.suppressed === 0) return;
    this.summarize(w);
    this.open(key, w.host, w.kind);
  }

  private summarize(w: PeerWindow): void {
    if (w.suppressed === 0) return;
    this.log.warn({ peerHost: w.host, kind: w.kind, suppressed: w.suppressed, windowMs: this.windowMs },
      `junk from ${w.host}: ${w.suppressed} more "${w.kind}" in the last ${this.windowMs / 1000} s (not logged one by one)`);
  }
}

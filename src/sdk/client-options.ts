// What an application passes to createClient / createNodeClient (docs/sdk.md, "Options").
import type { BackoffOptions } from '../lib/backoff.js';
import type { WebSocketConstructor } from './transport.js';

export interface TandemClientOptions {
  /** WebSocket URLs of both servers, e.g. ['ws://host-a:7001/tlib', 'ws://host-b:7002/tlib']. */
  servers: string[];
  /** Identifies this desktop to both servers: registrations and de-duplication are per client name. */
  clientName: string;
  token?: string;
  /** WebSocket constructor; default globalThis.WebSocket. In Node pass `WebSocket` from 'ws'. */
  WebSocket?: WebSocketConstructor;
  /** Heartbeat period in ms (default 2000; every probe is a frame each way on the server, per desktop). */
  heartbeatMs?: number;
  /** A server silent this long is dead (default 3 × heartbeatMs, at least 1000). */
  deadAfterMs?: number;
  /** 'ping' (Node ws only), 'app' (RequestQueryServer) or 'auto' (ping when the socket can; default). */
  heartbeat?: 'ping' | 'app' | 'auto';
  /** Reject a request with RequestTimeout when it has no answer after this long (default 60000, 0 = never). */
  requestTimeoutMs?: number;
  /** Seq of the last event the application already has (resume after a restart); default none. */
  lastSeq?: number;
  /** First referenceId (default Date.now() × 1000, see docs/sdk.md); each request takes the next one. */
  firstReferenceId?: number;
  /** Reconnect delays; default 100 ms doubling to 5 s, jitter 0.5 (given fields override these). */
  reconnect?: Partial<BackoffOptions>;
  /**
   * After a failover, the lost server is reconnected a random delay in [½, 1] × this later (default
   * 5000; 0 = one reconnect backoff step): it is redundancy only then, and most likely dead or restarting.
   */
  reconnectAfterFailoverMs?: number;
  /** Diagnostic log sink (default: silent). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Jittered, so a floor of desktops that lost the same server do not all come back in one millisecond. */
export const DEFAULT_RECONNECT: BackoffOptions = { initialMs: 100, maxMs: 5_000, jitter: 0.5 };

/**
 * A floor of desktops that finished their failovers within a second must not all reconnect to the
 * lost server together, nor while the rest of the floor (or of a desktop process) still fails over:
 * 1,000 refused reconnects cost a Node process 0.5–1 s of CPU (bench:desktops, docs/benchmarks.md).
 * A killed T-Server accepts again ~2 s after its restart began (bench:desktops' storm figures), so
 * earlier attempts are refused anyway; [2.5, 5] s spreads a floor's return over 2.5 s.
 */
export const DEFAULT_RECONNECT_AFTER_FAILOVER_MS = 5_000;

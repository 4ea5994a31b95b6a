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
  /** Diagnostic log sink (default: silent). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Jittered, so a floor of desktops that lost the same server do not all come back in one millisecond. */
export const DEFAULT_RECONNECT: BackoffOptions = { initialMs: 100, maxMs: 5_000, jitter: 0.5 };

// Node entry point: the SDK with the 'ws' package's WebSocket, which also gives protocol-level
// ping/pong for hung-server detection. Browsers import index.js instead.
import WebSocket from 'ws';
import { TandemClient } from './tandem-client.js';
import type { TandemClientOptions } from './failover-client.js';

export * from './index.js';

/** A TandemClient using ws (Node). Same options as the constructor, WebSocket filled in. */
export function createNodeClient(opts: Omit<TandemClientOptions, 'WebSocket'>): TandemClient {
  return new TandemClient({ ...opts, WebSocket });
}

// The WebSocket shape the SDK needs: the standard browser API, which the Node `ws` package also
// implements. Handler parameters are typed `never` so both the DOM's and ws's WebSocket classes fit
// without the SDK importing either.

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: never) => unknown) | null;
  onmessage: ((ev: never) => unknown) | null;
  onclose: ((ev: never) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The extra surface of the Node `ws` package used for protocol-level ping/pong. */
export interface NodeWsExtras {
  ping(data?: string): void;
  on(event: 'pong', fn: (data: unknown) => void): unknown;
  terminate(): void;
}

/** True when the socket is a Node `ws` socket that can send WebSocket pings. */
export function hasPing(ws: WebSocketLike): ws is WebSocketLike & NodeWsExtras {
  const x = ws as unknown as Partial<NodeWsExtras>;
  return typeof x.ping === 'function' && typeof x.on === 'function' && typeof x.terminate === 'function';
}

/** WebSocket.OPEN in both implementations. */
export const WS_OPEN = 1;

/** Monotonic ms where the platform has it (browsers, Node), wall-clock ms otherwise. */
export const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

// The desktop SDK (browser-safe). In Node, pass `WebSocket` from the 'ws' package (see node.ts).
// Guide and example: docs/sdk.md.
export { TandemClient, type LoginOptions } from './tandem-client.js';
export { FailoverClient, type TandemClientOptions, type RequestBody, type RequestBodyOf } from './failover-client.js';
export { TandemError, type ClientErrorCode } from './errors.js';
export type { ClientStatus, ClientEvents, ControlEvent } from './status.js';
export type { WebSocketLike, WebSocketConstructor } from './transport.js';
export { EventSequencer } from './event-order.js';
export type { TEvent, EventOf, EventName, AnswerTo, Request, RequestName, RequestOf, UserData, WorkMode, CallInfo, Role } from '../protocol/messages.js';

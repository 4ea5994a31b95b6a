// Errors the SDK rejects requests with. Server errors keep the wire code (PROTOCOL.md error codes);
// the SDK adds two of its own for things that happen on this side.
import type { ErrorCode, EventOf } from '../protocol/messages.js';

/**
 * SDK codes: `ClientClosed` (close() was called), `RequestTimeout` (no answer within
 * requestTimeoutMs), `ConnectionLost` (a per-server request whose link dropped; never seen by
 * request() callers, whose requests are retried instead).
 */
export type ClientErrorCode = ErrorCode | 'ClientClosed' | 'RequestTimeout' | 'ConnectionLost';

export class TandemError extends Error {
  override readonly name = 'TandemError';
  constructor(
    /** The PROTOCOL.md error code, or an SDK code. */
    readonly errorCode: ClientErrorCode,
    /** What went wrong and what to do, as the server (or the SDK) said it. */
    readonly errorMessage: string,
    /** referenceId of the request this error answers, when there is one. */
    readonly referenceId?: number,
    /** The EventError as received, for server errors. */
    readonly event?: EventOf<'EventError'>,
  ) {
    super(`${errorCode}: ${errorMessage}`);
  }

  static fromEvent(ev: EventOf<'EventError'>): TandemError {
    return new TandemError(ev.errorCode ?? 'BadRequest', ev.errorMessage || 'the server gave no message', ev.referenceId, ev);
  }
}

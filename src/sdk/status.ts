// What the SDK tells an application about its connections, as one tagged union. `server` is always
// the URL the application configured, so it can be matched against its own list.
import type { Role, TEvent } from '../protocol/messages.js';

export type ClientStatus =
  /** The link to `server` is open (RequestOpen answered). */
  | { type: 'connected'; server: string; serverName: string }
  /** The link to `server` went down; the SDK reconnects with backoff on its own. */
  | { type: 'disconnected'; server: string; reason: string }
  /** `server` said what it is (solicited or unsolicited EventServerInfo). */
  | { type: 'role'; server: string; role: Role; epoch: number; serving: boolean }
  /** The SDK lost its primary (or saw it replaced) and holds requests until a new one is known. */
  | { type: 'failover-started'; from: string }
  /** A new primary was chosen (`from` is null the first time). */
  | { type: 'switched'; from: string | null; to: string; epoch: number }
  /** Requests flow again and missed events were replayed: `ms` since failover-started. */
  | { type: 'failover-complete'; server: string; ms: number }
  /** The primary's journal no longer reaches back to lastSeq: events were lost; re-read state (register again). */
  | { type: 'replay-gap'; server: string; lastSeq: number; oldestSeq: number };

/** A reply without seq (EventACK, EventError, EventServerInfo, EventRegistered, info answers…). */
export interface ControlEvent { server: string; event: TEvent }

/** The events a TandemClient emits. */
export interface ClientEvents extends Record<string, unknown> {
  /** State events in seq order, each exactly once, across failovers. */
  event: TEvent;
  /** Events without seq, with the server that sent them. */
  control: ControlEvent;
  status: ClientStatus;
}

// The contracts around the T-Server's switch link (switch-link.ts): the transport it runs over, what
// it tells the process, the liveness worker's renewer, and its options.
import type { Logger } from '../../lib/log.js';
import type { sw } from '../../wire/switch-proto.js';
import type { Backoff, BackoffOptions } from '../../lib/backoff.js';
import type { ServerRole } from '../../ha/role.js';

/** One open stream to the switch (link-binding.ts adapts the gRPC link client to this). */
export interface LinkTransport {
  send(msg: sw.ILinkUp): void;
  close(): void;
  /** Switch messages received and waiting for a later turn (turn-budget.ts); an overload signal. */
  inboundQueued?(): number;
}

export interface TransportHandlers {
  onMessage(msg: sw.ILinkDown): void;
  /** Called once when the stream ends, whoever ended it. */
  onClose(reason: string): void;
}

export type OpenTransport = (handlers: TransportHandlers) => LinkTransport;

export interface LeaseLoss {
  kind: 'refused' | 'deposed';
  code: string;
  currentEpoch: number;
  holder: string;
}

/** What the link tells the process. Called synchronously from stream callbacks. */
export interface SwitchLinkHandlers {
  events(events: sw.ISwitchEvent[]): void;
  commandResult(result: sw.ICommandResult): void;
  snapshot(snapshot: sw.ISnapshot): void;
  /** The link became usable for call control (state `up`), or stopped being usable. */
  linkUp(up: boolean, why: string): void;
  /** The switch refused our claim or took the lease away. Single server: stop serving. */
  leaseLost(loss: LeaseLoss): void;
  /** HA mode: every Welcome (the HA controller decides whether to claim). */
  welcome?(w: sw.IWelcome): void;
  /** HA mode: our claim was granted (the HA controller changes the role). */
  granted?(g: sw.IGranted): void;
  /**
   * The lease was renewed (a HeartbeatAck on this link, or the liveness worker's renewals advanced:
   * polled every ~10 ms). The ack releaser may deliver what it held back; serving may resume.
   */
  renewed?(): void;
  /**
   * The switch's LeaseNotice, sent to every link on every lease change: the lease became free
   * (LeaseLapsed, LinkGone, Released) or changed holder or epoch (Claimed, Forced). `holder` is ''
   * when free. The old holder also gets Deposed (leaseLost) first.
   */
  leaseChanged?(n: LeaseNotice): void;
  /** The switch applied our OverloadControl (overload-control.ts): its gate's level and counters. */
  overloadStatus?(s: sw.IOverloadStatus): void;
}

export interface LeaseNotice { epoch: number; holder: string; reason: string }

/**
 * Renews the main link's lease off the main thread (src/adapters/switch-client/liveness.ts: the liveness worker). The
 * lease check reads it synchronously; the main link's own heartbeats go on as well (fallback).
 */
export interface LeaseRenewer {
  /** A Welcome on a new stream: renew for the link with this token. */
  attach(renewToken: string, leaseMs: number, heartbeatMs: number): void;
  /** The stream is gone. */
  detach(): void;
  /** The epoch this link holds (0 = none). */
  setEpoch(epoch: number): void;
  /** Until when (Date.now() ms) the renewer's acknowledged renewals cover `epoch`; 0 = no word. */
  deadline(epoch: number): number;
  /** The renewer's watchdog gave `epoch` up (main thread hung): never act as its holder again. */
  tripped(epoch: number): boolean;
  onRenewal(fn: () => void): void;
}

export interface ClaimOptions {
  /** Ask for redelivery from appliedSeq (a promoted backup); false = rebuild from a snapshot. */
  redeliver: boolean;
  /** Operator switchover: take the lease even from a live holder. */
  force?: boolean;
}

/** Reconnects to the switch: 80-120 ms at first, 1.6-2.4 s at the cap (two servers restarting together do not reconnect in lockstep). */
export const SWITCH_RECONNECT: BackoffOptions = { initialMs: 120, maxMs: 2_400, jitter: 1 / 3 };

export interface SwitchLinkOptions {
  serverName: string;
  /** Shared secret for Hello when the switch requires one. */
  secret?: string;
  role: ServerRole;
  /** Last switch event seq applied to the core state (0 = nothing: rebuild from a snapshot). */
  appliedSeq: () => number;
  open: OpenTransport;
  log: Logger;
  backoff?: Backoff;
  /** Events buffered while a snapshot is awaited; beyond this the link restarts. */
  maxBufferedEvents?: number;
  /**
   * HA pair: never claim by itself (every Welcome goes to `welcome` and the link follows until the
   * controller calls claim()), and leave the role to the controller on Granted. Default false:
   * single server, role 'primary' claims at every Welcome.
   */
  ha?: boolean;
  /** HA: the liveness worker that renews the lease off the main thread (docs/liveness.md). */
  renewer?: LeaseRenewer;
}

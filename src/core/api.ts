// The pure CTI core's contract: what goes in, what comes out, and the shape of the replicated
// state. Every adapter (gateway, switch link, sync, timers) talks to the core through these types.
//
// Rule: the state is changed ONLY by applyDelta (delta.ts). The core's handlers compute deltas and
// apply them as they go; the primary streams exactly these deltas to the backup, which applies them
// with the same function. So "backup equals primary" is a comparison of two CoreState values.
import type { sw } from '../wire/switch-proto.js';
import type { AgentState, CallState, CallType, DNType, ErrorCode, Request, TEvent, UserData, WorkMode } from '../protocol/messages.js';
import type { ReadyIndex, Timers } from './derived.js';
import type { QueueIndex } from './queue-index.js';
import type { JournalDnIndex } from './journal-index.js';

// ------------------------------------------------------------------ state (replicated)

/** Names of the keyed collections in CoreState; a delta names one of them. */
export type CollectionName =
  | 'devices' | 'calls' | 'agents' | 'registrations' | 'routeRequests' | 'queues' | 'queueEntries' | 'pending' | 'dedup';

export interface Device {
  dn: string;
  type: DNType;
  /** Set (true) only while the switch reports the DN out of service (SIP: no phone registered); absent when in service. */
  outOfService?: true;
}

export interface Party {
  dn: string;
  dnType: DNType;
  state: CallState;
}

/** A call as the T-Server knows it. Immutable value: a change is a new object put with a delta. */
export interface Call {
  connId: string;
  switchCallId: string;
  callType: CallType;
  ani: string;
  dnis: string;
  parties: Party[];
  userData: UserData;
  /** ConnID of the call this one consults from (consultation calls only). */
  consultOf?: string;
  /** Route point or queue where the call is parked, and since when (ms). */
  parkedAt?: { dn: string; since: number; kind: 'routePoint' | 'queue' };
  /** Counter for core-issued commands on this call (routing, distribution): gives stable command ids. */
  autoCommands: number;
}

export interface Agent {
  dn: string;
  agentId: string;
  queue: string;
  state: AgentState;
  workMode: WorkMode;
  reasons?: UserData;
  /** When the agent last became idle (Ready): the ACD picks the smallest (longest idle). */
  idleSince: number;
  /** AfterCallWork ends at this time (ms) when the queue has a wrap-up time. */
  wrapUpUntil?: number;
}

export interface Registration { clientName: string; dns: string[] }

export interface RouteRequest { connId: string; routePoint: string; deadline: number; defaultTarget: string }

/**
 * A queue DN's FIFO numbering: its next caller gets `lastOrder + 1`. Put with every enqueue, never
 * deleted (one per queue DN). The callers themselves are `queueEntries`, one entity each.
 */
export interface QueueState {
  dn: string;
  lastOrder: number;
}

/**
 * One waiting caller, its own entity (key: its ConnID; a call waits in one queue at most), so that
 * joining, leaving or being offered costs one small delta whatever the queue's length.
 * `offer` is set while the ACD's Deflect to an agent is in flight (agent reserved); its command id
 * names this entry's ConnID (acd.ts).
 */
export interface QueueEntry {
  connId: string;
  /** The queue DN it waits in. */
  queue: string;
  /** Its place in the queue: callers are served in ascending order (QueueState.lastOrder numbers them). */
  order: number;
  since: number;
  treatment: string;
  offer?: { agentDn: string; commandId: string; at: number };
}

/** A client request waiting for the switch (command id = clientName#referenceId). */
export interface PendingRequest {
  commandId: string;
  clientName: string;
  referenceId: number;
  request: Request['request'];
  thisDN: string;
  /** requestFingerprint of the request (fingerprint.ts): a reuse of its referenceId for another request is refused. */
  fp?: string;
  since: number;
  /** The command sent for it: a retried request re-issues exactly this (same command id). */
  command?: SwitchCommand;
  /** User data for the call the command creates (RequestMakeCall, consultation). */
  userData?: UserData;
}

/** The direct answer given to (clientName, referenceId): a retry gets it again, nothing re-runs. */
export interface DedupRecord {
  key: string; // `${clientName}#${referenceId}`
  answer: TEvent;
  at: number;
  /**
   * requestFingerprint of the request answered (fingerprint.ts): the same clientName + referenceId
   * with another fingerprint is another request, refused with DuplicateReferenceId. Absent on records
   * an older version made: any request then gets the stored answer.
   */
  fp?: string;
}

export interface JournalEntry {
  seq: number;
  /** The DN the event is about: it fans out to clients that registered it. */
  dn: string;
  event: TEvent; // with seq and time, without referenceId
  /** The direct answer this event was, if any: only that client sees the referenceId. */
  answer?: { clientName: string; referenceId: number };
  /** The switch command that caused it (for answering a retried request after failover). */
  commandId?: string;
}

export interface CoreState {
  /** Newest event seq issued (pair-wide, strictly increasing, never reused). */
  seq: number;
  /** ConnID numbering: the next ConnID is derived from it; never reused. */
  connIdCounter: number;
  /** Last switch event seq applied. A promoted backup claims the switch with it. */
  appliedSwitchSeq: number;
  devices: Map<string, Device>;
  calls: Map<string, Call>;            // by ConnID
  agents: Map<string, Agent>;          // by DN
  registrations: Map<string, Registration>; // by clientName
  routeRequests: Map<string, RouteRequest>; // by ConnID
  queues: Map<string, QueueState>;     // by queue DN
  queueEntries: Map<string, QueueEntry>; // by ConnID
  pending: Map<string, PendingRequest>; // by command id
  dedup: Map<string, DedupRecord>;     // by clientName#referenceId
  journal: JournalEntry[];             // ascending seq, bounded (trimmed by delta)
  /** Derived index switchCallId -> ConnID, maintained by applyDelta (not replicated separately). */
  bySwitchCall: Map<string, string>;
  /** Derived index DN -> ConnIDs of the calls it is a party of, maintained by applyDelta. */
  callsByDN: Map<string, Set<string>>;
  /** Derived index command id -> the journal entries it caused (ascending seq), maintained by applyDelta. */
  journalByCommand: Map<string, JournalEntry[]>;
  /** Derived index DN -> its journal entries (ascending seq), for replay (journal-index.ts), maintained by applyDelta. */
  journalByDn: JournalDnIndex;
  /**
   * Derived: de-dup keys in insertion order (= the Map's order), oldest at `head`, maintained by
   * applyDelta. Trimming and nextDeadline read the oldest record here in O(1): walking the Map from its
   * start skips every deleted slot not yet rehashed away (~4 ms per input at 100k records).
   * Only trim deletes de-dup records, oldest first, so the two orders stay equal.
   */
  dedupOrder: { keys: string[]; head: number };
  /** Derived index queue DN -> its waiting callers in FIFO order, and offers per agent (queue-index.ts), maintained by applyDelta. */
  queueIndex: QueueIndex;
  /** Derived index queue DN -> its Ready agents, longest idle first (derived.ts), maintained by applyDelta. */
  readyByQueue: ReadyIndex;
  /** Derived: when each timed collection next needs a tick (derived.ts), maintained by applyDelta. */
  timers: Timers;
  /** Derived: deltas applied so far; caches of the whole state (its digest) key on it. Not replicated. */
  version: number;
}

// ------------------------------------------------------------------ deltas (the sync stream payload)

export type Delta =
  | { op: 'put'; coll: CollectionName; key: string; value: unknown }
  | { op: 'del'; coll: CollectionName; key: string }
  | { op: 'counters'; seq: number; connIdCounter: number; appliedSwitchSeq: number }
  | { op: 'journal'; entry: JournalEntry }
  | { op: 'journalTrim'; upToSeq: number }; // drop entries with seq <= upToSeq

// ------------------------------------------------------------------ inputs and outputs

export interface CoreConfig {
  /** Route point DN -> default target and the time a router has to answer. */
  routePoints: Record<string, { defaultTarget: string; timeoutMs: number }>;
  /** Queue DN -> wrap-up time after a call (0 = none) and the treatment played to waiting callers. */
  queues: Record<string, { wrapUpMs: number; treatment: string }>;
  defaultRouteTimeoutMs: number;
  defaultTreatment: string;
  journal: { maxEvents: number; maxAgeMs: number };
  dedup: { maxRecords: number; maxAgeMs: number };
  /** A request (or ACD offer) with no switch answer after this long: SwitchUnavailable / re-issue. Default 10 s. */
  pendingTimeoutMs?: number;
  /** Bytes of one call's user data as JSON an attach/update (or a consultation call) may reach; over it: UserDataTooLarge. 0/absent = no bound. */
  maxCallUserDataBytes?: number;
  /** ConnID prefix bits so the two servers' numbering spaces never collide is NOT needed: numbering is replicated. */
}

export interface CoreContext {
  now: number;
  config: CoreConfig;
  /** False while the switch link is down: call-control requests answer SwitchUnavailable. */
  switchUp: boolean;
  /** Called before each delta is applied (a primary's undo log records what the delta overwrites). */
  beforeApply?: (state: CoreState, d: Delta) => void;
}

export type CoreInput =
  | { kind: 'request'; clientName: string; request: Request }
  | { kind: 'switchEvents'; events: sw.ISwitchEvent[] }
  | { kind: 'commandResult'; result: sw.ICommandResult }
  | { kind: 'switchSnapshot'; snapshot: sw.ISnapshot }
  | { kind: 'tick' };

/** A reply to one client that is not a journalled state event (EventACK, EventError, info answers). */
export interface Reply { clientName: string; event: TEvent }

/** A call-control command for the switch; the link adapter stamps the epoch. */
export type SwitchCommand = Omit<sw.ICommand, 'epoch'> & { commandId: string };

export interface CoreOutput {
  deltas: Delta[];
  /** New state events, in seq order (also appended to the journal by a delta). */
  events: JournalEntry[];
  replies: Reply[];
  commands: SwitchCommand[];
}

export type { AgentState, CallState, CallType, DNType, ErrorCode, WorkMode };

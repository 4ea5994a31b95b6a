// Every desktop event, as one TypeBox schema each, tagged by `event`: the event types (TEvent is
// their union), the SDK's answer types and the published JSON Schema
// (docs/schemas/events.schema.json) all come from here. Events of one family (call, agent, address…)
// share their attribute set; the table says which family each event belongs to.
import { Type, type Static, type TLiteral, type TObject, type TProperties } from '@sinclair/typebox';
import {
  AgentState, CallInfo, CallInfoAttrs, CallState, CallType, ConnId, DNRole, DNType, ErrorCode, PartyInfo, ReferenceId, Role, Seq,
  ServerLocation, UserData, WorkMode,
} from './attributes.js';
import type { RequestName } from './requests.js';

/** On every event: state events carry `seq`; the requester's copy of a direct answer `referenceId`. */
const ENVELOPE = {
  seq: Type.Optional(Seq),
  referenceId: Type.Optional(ReferenceId),
  time: Type.Optional(Type.String({ description: 'ISO-8601.' })),
};

/** What every call event says about the call and the DN it is about. */
const CALL = {
  thisDN: Type.String(),
  connId: ConnId,
  callType: CallType,
  /** This DN's state on the call; EventReleased: Released, Transferred or Conferenced. */
  callState: Type.Optional(CallState),
  otherDN: Type.Optional(Type.String()),
  /** EventPartyChanged: the transferring/conferencing agent; EventPartyDeleted: the removed DN. */
  thirdDN: Type.Optional(Type.String()),
  /** EventPartyChanged: the ConnID the party was on before the merge. */
  previousConnId: Type.Optional(ConnId),
  /** On a consultation call: the ConnID of the call it consults from. */
  transferConnId: Type.Optional(ConnId),
  /** EventQueued: the queue. */
  thisQueue: Type.Optional(Type.String()),
  ani: Type.Optional(Type.String()),
  dnis: Type.Optional(Type.String()),
  userData: UserData,
  /** EventQueued: what the caller hears while waiting. */
  treatment: Type.Optional(Type.String()),
  /** EventPartyAdded / EventPartyChanged after a conference: every party of the merged call. */
  parties: Type.Optional(Type.Array(PartyInfo)),
  /** EventDialing / EventRinging. */
  thisDNRole: Type.Optional(DNRole),
  otherDNRole: Type.Optional(DNRole),
};

const AGENT = {
  thisDN: Type.String(),
  agentId: Type.String(),
  agentState: AgentState,
  workMode: WorkMode,
  thisQueue: Type.Optional(Type.String()),
  reasons: Type.Optional(UserData),
};

/** A DN as it is now: its type, its agent, its calls (EventRegistered, EventAddressInfo). */
const ADDRESS = {
  thisDN: Type.String(),
  thisDNType: Type.Optional(DNType),
  /** Present (true) while the switch reports the DN out of service. */
  outOfService: Type.Optional(Type.Literal(true)),
  agentId: Type.Optional(Type.String()),
  /** LoggedOut on an extension without an agent. */
  agentState: Type.Optional(AgentState),
  workMode: Type.Optional(WorkMode),
  thisQueue: Type.Optional(Type.String()),
  reasons: Type.Optional(UserData),
  calls: Type.Array(CallInfo),
};

export const CALL_EVENTS = [
  'EventDialing', 'EventNetworkReached', 'EventRinging', 'EventEstablished', 'EventReleased', 'EventHeld',
  'EventRetrieved', 'EventPartyChanged', 'EventPartyAdded', 'EventPartyDeleted', 'EventAttachedDataChanged',
  'EventRouteRequest', 'EventRouteUsed', 'EventQueued', 'EventDiverted', 'EventAbandoned',
] as const;
export const AGENT_EVENTS = ['EventAgentLogin', 'EventAgentLogout', 'EventAgentReady', 'EventAgentNotReady'] as const;

function family<const N extends readonly string[], P extends TProperties>(names: N, attrs: P): { [K in N[number]]: P } {
  return Object.fromEntries(names.map((n) => [n, attrs])) as { [K in N[number]]: P };
}

/** Each event's own attributes (besides `event` and the envelope), by event name. */
const ATTRIBUTES = {
  EventServerInfo: {
    role: Role,
    epoch: Type.Integer({ minimum: 0 }),
    serverName: Type.String(),
    peer: Type.Optional(ServerLocation),
    /** The newest event seq this server knows (not this event's place in the stream). */
    seq: Seq,
    /** False on a backup, or on a primary that lost the switch lease: requests get NotPrimary. */
    serving: Type.Boolean(),
    switchLink: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    /** `alone` for a single server; else the sync stream's state. */
    syncState: Type.String(),
    /** Pushed as this server starts serving: each connection whose heartbeat reported its lastSeq gets its replay right behind it. */
    replayFollows: Type.Optional(Type.Boolean()),
  },
  EventRegistered: ADDRESS,
  EventAddressInfo: ADDRESS,
  EventUnregistered: { thisDN: Type.String() },
  ...family(AGENT_EVENTS, AGENT),
  ...family(CALL_EVENTS, CALL),
  EventPartyInfo: CallInfoAttrs,
  EventDNOutOfService: { thisDN: Type.String(), thisDNType: Type.Optional(DNType) },
  EventDNBackInService: { thisDN: Type.String(), thisDNType: Type.Optional(DNType) },
  EventLinkConnected: {},
  EventLinkDisconnected: {},
  /** The direct answer of a request that caused no event on its DN, and the end of a replay. */
  EventACK: { thisDN: Type.Optional(Type.String()) },
  EventError: {
    errorCode: ErrorCode,
    /** What went wrong and what to do. */
    errorMessage: Type.String(),
    /** ReplayGap: the oldest seq the journal still holds. */
    oldestSeq: Type.Optional(Seq),
    /** Overloaded: wait at least this long (ms, add jitter) before sending the request again. */
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** NotPrimary: where the primary is, when known. */
    primary: Type.Optional(ServerLocation),
  },
} satisfies Record<string, TProperties>;

export type EventName = keyof typeof ATTRIBUTES;
export type CallEventName = (typeof CALL_EVENTS)[number];
export type AgentEventName = (typeof AGENT_EVENTS)[number];

type Props<T> = T extends TProperties ? T : never;
type EventSchema<N extends EventName> = TObject<{ event: TLiteral<N> } & Omit<typeof ENVELOPE, keyof (typeof ATTRIBUTES)[N]> & Props<(typeof ATTRIBUTES)[N]>>;

/** Every event's schema, by name. */
export const EVENTS = Object.fromEntries((Object.keys(ATTRIBUTES) as EventName[]).map((name) => [
  name, Type.Object({ event: Type.Literal(name), ...ENVELOPE, ...ATTRIBUTES[name] }, { $id: name, title: name }),
])) as unknown as { [N in EventName]: EventSchema<N> };

export const EVENT_NAMES = Object.keys(EVENTS) as EventName[];

/** One event, discriminated by `event`. */
export type TEvent = { [N in EventName]: Static<EventSchema<N>> }[EventName];

export type EventOf<N extends EventName> = Extract<TEvent, { event: N }>;
export type CallEvent = EventOf<CallEventName>;
export type AgentEvent = EventOf<AgentEventName>;

export function isEventName(x: unknown): x is EventName {
  return typeof x === 'string' && Object.hasOwn(EVENTS, x);
}

/**
 * Each request's direct answer when it works (docs/protocol.md "Requests"). A request that changes
 * state and causes no event on its own DN (Ready when already Ready, a command whose events land
 * elsewhere) is answered EventACK instead; any request may be answered EventError.
 */
export const DIRECT_ANSWERS = {
  RequestOpen: 'EventServerInfo',
  RequestQueryServer: 'EventServerInfo',
  RequestRegisterAddress: 'EventRegistered',
  RequestUnregisterAddress: 'EventUnregistered',
  RequestAgentLogin: 'EventAgentLogin',
  RequestAgentReady: 'EventAgentReady',
  RequestAgentNotReady: 'EventAgentNotReady',
  RequestAgentLogout: 'EventAgentLogout',
  RequestMakeCall: 'EventDialing',
  RequestAnswerCall: 'EventEstablished',
  RequestReleaseCall: 'EventReleased',
  RequestHoldCall: 'EventHeld',
  RequestRetrieveCall: 'EventRetrieved',
  RequestInitiateTransfer: 'EventHeld',
  RequestCompleteTransfer: 'EventReleased',
  RequestSingleStepTransfer: 'EventReleased',
  RequestInitiateConference: 'EventHeld',
  RequestCompleteConference: 'EventPartyAdded',
  RequestDeleteFromConference: 'EventPartyDeleted',
  RequestAttachUserData: 'EventAttachedDataChanged',
  RequestUpdateUserData: 'EventAttachedDataChanged',
  RequestDeleteUserData: 'EventAttachedDataChanged',
  RequestRouteCall: 'EventRouteUsed',
  RequestQueryAddress: 'EventAddressInfo',
  RequestQueryCall: 'EventPartyInfo',
  RequestReplay: 'EventACK',
} as const satisfies Record<RequestName, EventName>;

/** Requests answered by what they describe or by the gateway: never EventACK in place of their answer. */
const INFO_REQUESTS = [
  'RequestOpen', 'RequestQueryServer', 'RequestRegisterAddress', 'RequestUnregisterAddress', 'RequestQueryAddress', 'RequestQueryCall', 'RequestReplay',
] as const satisfies readonly RequestName[];
type InfoRequest = (typeof INFO_REQUESTS)[number];

/** What a request is answered with when it works (EventError is a refusal: the SDK rejects with it). */
export type AnswerTo<N extends RequestName> = EventOf<(typeof DIRECT_ANSWERS)[N]> | (N extends InfoRequest ? never : EventOf<'EventACK'>);

/** The event names a request may be answered with when it works (for tests and tools). */
export function answerNames(request: RequestName): EventName[] {
  return (INFO_REQUESTS as readonly RequestName[]).includes(request) ? [DIRECT_ANSWERS[request]] : [DIRECT_ANSWERS[request], 'EventACK'];
}

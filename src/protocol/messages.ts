// The desktop protocol (T-Library vocabulary in JSON), typed once. The request table below is the
// single source of truth: request types and the edge validator are both derived from it.
// Contract and decisions: docs/protocol.md.

/** Attribute kinds the validator understands. */
type Kind = 'string' | 'token' | 'dn' | 'connId' | 'uint' | 'object' | 'workMode' | 'bool';

interface Shape {
  readonly required: Readonly<Record<string, Kind>>;
  readonly optional: Readonly<Record<string, Kind>>;
}

const s = <R extends Record<string, Kind>, O extends Record<string, Kind>>(required: R, optional: O) => ({ required, optional });

export const REQUESTS = {
  RequestOpen: s({ clientName: 'string' }, { token: 'token', lastSeq: 'uint' }),
  RequestQueryServer: s({}, {}),
  RequestRegisterAddress: s({ thisDN: 'dn' }, {}),
  RequestUnregisterAddress: s({ thisDN: 'dn' }, {}),
  RequestAgentLogin: s({ thisDN: 'dn', agentId: 'string' }, { thisQueue: 'dn', workMode: 'workMode', password: 'string', reasons: 'object' }),
  RequestAgentReady: s({ thisDN: 'dn' }, { workMode: 'workMode', reasons: 'object' }),
  RequestAgentNotReady: s({ thisDN: 'dn' }, { workMode: 'workMode', reasons: 'object' }),
  RequestAgentLogout: s({ thisDN: 'dn' }, { reasons: 'object' }),
  RequestMakeCall: s({ thisDN: 'dn', otherDN: 'dn' }, { userData: 'object' }),
  RequestAnswerCall: s({ thisDN: 'dn', connId: 'connId' }, {}),
  RequestReleaseCall: s({ thisDN: 'dn', connId: 'connId' }, {}),
  RequestHoldCall: s({ thisDN: 'dn', connId: 'connId' }, {}),
  RequestRetrieveCall: s({ thisDN: 'dn', connId: 'connId' }, {}),
  RequestInitiateTransfer: s({ thisDN: 'dn', connId: 'connId', otherDN: 'dn' }, { userData: 'object' }),
  RequestCompleteTransfer: s({ thisDN: 'dn', connId: 'connId', transferConnId: 'connId' }, {}),
  RequestSingleStepTransfer: s({ thisDN: 'dn', connId: 'connId', otherDN: 'dn' }, {}),
  RequestInitiateConference: s({ thisDN: 'dn', connId: 'connId', otherDN: 'dn' }, { userData: 'object' }),
  RequestCompleteConference: s({ thisDN: 'dn', connId: 'connId', transferConnId: 'connId' }, {}),
  RequestDeleteFromConference: s({ thisDN: 'dn', connId: 'connId', otherDN: 'dn' }, {}),
  RequestAttachUserData: s({ thisDN: 'dn', connId: 'connId', userData: 'object' }, {}),
  RequestUpdateUserData: s({ thisDN: 'dn', connId: 'connId', userData: 'object' }, {}),
  RequestDeleteUserData: s({ thisDN: 'dn', connId: 'connId' }, { userData: 'object', keys: 'object' }),
  RequestRouteCall: s({ thisDN: 'dn', connId: 'connId', otherDN: 'dn' }, {}),
  RequestQueryAddress: s({ thisDN: 'dn' }, {}),
  RequestQueryCall: s({ connId: 'connId' }, {}),
  RequestReplay: s({ afterSeq: 'uint' }, {}),
} as const satisfies Record<string, Shape>;

export type RequestName = keyof typeof REQUESTS;

type KindType<K extends Kind> = K extends 'uint'
  ? number
  : K extends 'object'
    ? UserData
    : K extends 'bool'
      ? boolean
      : K extends 'workMode'
        ? WorkMode
        : string;

type AttrsOf<S extends Shape> = { -readonly [P in keyof S['required']]: KindType<S['required'][P]> } & {
  -readonly [P in keyof S['optional']]?: KindType<S['optional'][P]>;
};

/** One request, discriminated by `request`. */
export type Request = {
  [N in RequestName]: { request: N; referenceId: number } & AttrsOf<(typeof REQUESTS)[N]>;
}[RequestName];

export type RequestOf<N extends RequestName> = Extract<Request, { request: N }>;

/** Requests a backup answers itself; every other request on a backup is NotPrimary. */
export const BACKUP_ALLOWED: ReadonlySet<RequestName> = new Set<RequestName>([
  'RequestOpen', 'RequestRegisterAddress', 'RequestUnregisterAddress', 'RequestQueryServer', 'RequestReplay',
]);

export type UserData = { [key: string]: unknown };

export const WORK_MODES = ['Unknown', 'AuxWork', 'AfterCallWork', 'AutoIn', 'ManualIn'] as const;
export type WorkMode = (typeof WORK_MODES)[number];

export const ERROR_CODES = [
  'BadRequest', 'NotOpened', 'Unauthorized', 'NotPrimary', 'UnknownRequest', 'InvalidDN', 'InvalidConnID',
  'InvalidState', 'AgentAlreadyLoggedIn', 'NotRegistered', 'ReplayGap', 'Overloaded', 'SwitchUnavailable',
  'UserDataTooLarge', 'DuplicateReferenceId',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const EVENT_NAMES = [
  'EventServerInfo', 'EventRegistered', 'EventUnregistered', 'EventAgentLogin', 'EventAgentLogout',
  'EventAgentReady', 'EventAgentNotReady', 'EventDialing', 'EventNetworkReached', 'EventRinging',
  'EventEstablished', 'EventReleased', 'EventHeld', 'EventRetrieved', 'EventPartyChanged', 'EventPartyAdded',
  'EventPartyDeleted', 'EventAttachedDataChanged', 'EventRouteRequest', 'EventRouteUsed', 'EventQueued',
  'EventDiverted', 'EventAbandoned', 'EventAddressInfo', 'EventPartyInfo', 'EventLinkConnected',
  'EventLinkDisconnected', 'EventACK', 'EventError', 'EventDNOutOfService', 'EventDNBackInService',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export type CallType = 'Internal' | 'Inbound' | 'Outbound' | 'Consult';
export type Role = 'primary' | 'backup';
export type AgentState = 'LoggedOut' | 'NotReady' | 'Ready' | 'Busy' | 'AfterCallWork';
export type DNType = 'Extension' | 'RoutePoint' | 'ACDQueue' | 'External';
/** A party's state on a call, as desktops see it. */
export type CallState = 'Dialing' | 'Ringing' | 'Established' | 'Held' | 'Queued' | 'NetworkReached' | 'Released' | 'Transferred' | 'Conferenced' | 'Abandoned';

export interface PartyInfo { dn: string; dnType: DNType; state: CallState }

export interface CallInfo {
  connId: string;
  callType: CallType;
  ani?: string;
  dnis?: string;
  parties: PartyInfo[];
  userData: UserData;
  state?: CallState;
}

/**
 * Every event. `event` discriminates; the other attributes are the T-Library ones in camelCase,
 * present where they apply. State events carry `seq`; replies (EventACK, EventError,
 * EventServerInfo, info answers) do not.
 */
export interface TEvent {
  event: EventName;
  seq?: number;
  referenceId?: number;
  time?: string;
  thisDN?: string;
  thisDNType?: DNType;
  /** EventRegistered / EventAddressInfo: present (true) while the switch reports the DN out of service. */
  outOfService?: boolean;
  otherDN?: string;
  thirdDN?: string;
  connId?: string;
  previousConnId?: string;
  transferConnId?: string;
  thisQueue?: string;
  callType?: CallType;
  callState?: CallState;
  ani?: string;
  dnis?: string;
  userData?: UserData;
  agentId?: string;
  agentState?: AgentState;
  workMode?: WorkMode;
  reasons?: UserData;
  thisDNRole?: string;
  otherDNRole?: string;
  parties?: PartyInfo[];
  calls?: CallInfo[];
  treatment?: string;
  errorCode?: ErrorCode;
  errorMessage?: string;
  oldestSeq?: number;
  /** EventError Overloaded: wait at least this long (ms, add jitter) before sending the request again. */
  retryAfterMs?: number;
  // EventServerInfo
  role?: Role;
  epoch?: number;
  serverName?: string;
  peer?: { serverName: string; url: string };
  primary?: { serverName: string; url: string };
  serving?: boolean;
  switchLink?: 'up' | 'down';
  syncState?: string;
}

export function isEventName(x: unknown): x is EventName {
  return typeof x === 'string' && (EVENT_NAMES as readonly string[]).includes(x);
}

// The T-Library attributes of the desktop protocol, as TypeBox schemas: each is at once a JSON
// Schema (emitted into docs/schemas/), a TypeScript type (Static<>) and, for requests, the edge
// validator's rule. Options beyond JSON Schema's own: `expect` (what the error message says a value
// must be) and `errorCode` (the EventError code a malformed value gets; default BadRequest).
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';

/**
 * The longest `token` a RequestOpen (or an HTTP Bearer) may carry: bounded work on hostile input,
 * nothing longer is even decoded (auth/jwt.ts). A signed token's `dns` list makes it long: this fits
 * about 500 four-digit or 250 twelve-digit DNs.
 */
export const MAX_TOKEN_CHARS = 8192;
/** The longest plain string attribute (clientName, agentId, password…). */
export const MAX_STRING_CHARS = 256;

/** Options the edge validator reads from an attribute schema to word its EventError. */
export interface EdgeHints {
  /** "must be …" in the error message. */
  expect?: string;
  /** The EventError code a malformed value gets (absent: BadRequest). */
  errorCode?: 'InvalidDN' | 'InvalidConnID';
}

const hinted = <T extends TSchema>(schema: T): T & EdgeHints => schema as T & EdgeHints;

/** Literal union from a readonly list of names (one list: the type, the schema and the docs agree). */
export function oneOfNames<const N extends readonly string[]>(names: N, options: { description?: string; expect?: string } = {}): TUnion<TLiteral<N[number]>[]> {
  return Type.Union(names.map((n) => Type.Literal(n)), { expect: `one of ${names.join(', ')}`, ...options });
}

export const DN = hinted(Type.String({
  pattern: '^[0-9A-Za-z+*#._-]{1,32}$',
  description: 'A directory number: 1–32 of [0-9A-Za-z+*#._-].',
  expect: 'a DN (digits, at most 32 characters)', errorCode: 'InvalidDN',
}));

export const ConnId = hinted(Type.String({
  pattern: '^[0-9a-f]{16}$',
  description: 'A ConnID: 16 lowercase hex digits, unique for the life of the pair, never reused after a failover.',
  expect: 'a ConnID: 16 lowercase hex digits', errorCode: 'InvalidConnID',
}));

export const ShortString = Type.String({ maxLength: MAX_STRING_CHARS, expect: `a string of at most ${MAX_STRING_CHARS} characters` });

export const Token = Type.String({
  maxLength: MAX_TOKEN_CHARS,
  description: 'A shared token or a signed token (docs/security.md); never logged.',
  expect: `a string of at most ${MAX_TOKEN_CHARS} characters: a signed token's "dns" list makes it long; mint it for fewer DNs`,
});

export const Seq = Type.Integer({ minimum: 0, description: 'A pair-wide event sequence number.', expect: 'a non-negative integer' });

export const ReferenceId = Type.Integer({ minimum: 1, description: 'Chosen by the client, unique per client name across all its connections.' });

/** Flat or nested JSON object attached to a call (or an agent's reason codes). */
export const UserData = Type.Record(Type.String(), Type.Unknown(), { description: 'A flat or nested JSON object.', expect: 'a JSON object' });
export type UserData = Static<typeof UserData>;

export const WORK_MODES = ['Unknown', 'AuxWork', 'AfterCallWork', 'AutoIn', 'ManualIn'] as const;
export const WorkMode = oneOfNames(WORK_MODES);
export type WorkMode = (typeof WORK_MODES)[number];

export const ERROR_CODES = [
  'BadRequest', 'NotOpened', 'Unauthorized', 'NotPrimary', 'UnknownRequest', 'InvalidDN', 'InvalidConnID',
  'InvalidState', 'AgentAlreadyLoggedIn', 'NotRegistered', 'ReplayGap', 'Overloaded', 'SwitchUnavailable',
  'UserDataTooLarge', 'DuplicateReferenceId',
] as const;
export const ErrorCode = oneOfNames(ERROR_CODES, { description: 'docs/protocol.md "Error codes" says what each means and what to do.' });
export type ErrorCode = (typeof ERROR_CODES)[number];

export const CALL_TYPES = ['Internal', 'Inbound', 'Outbound', 'Consult'] as const;
export const CallType = oneOfNames(CALL_TYPES);
export type CallType = (typeof CALL_TYPES)[number];

export const ROLES = ['primary', 'backup'] as const;
export const Role = oneOfNames(ROLES);
export type Role = (typeof ROLES)[number];

export const AGENT_STATES = ['LoggedOut', 'NotReady', 'Ready', 'Busy', 'AfterCallWork'] as const;
export const AgentState = oneOfNames(AGENT_STATES);
export type AgentState = (typeof AGENT_STATES)[number];

export const DN_TYPES = ['Extension', 'RoutePoint', 'ACDQueue', 'External'] as const;
export const DNType = oneOfNames(DN_TYPES);
export type DNType = (typeof DN_TYPES)[number];

/** A party's state on a call, as desktops see it. */
export const CALL_STATES = ['Dialing', 'Ringing', 'Established', 'Held', 'Queued', 'NetworkReached', 'Released', 'Transferred', 'Conferenced', 'Abandoned'] as const;
export const CallState = oneOfNames(CALL_STATES);
export type CallState = (typeof CALL_STATES)[number];

/** thisDNRole / otherDNRole on EventDialing and EventRinging. */
export const DN_ROLES = ['Origination', 'Destination'] as const;
export const DNRole = oneOfNames(DN_ROLES);
export type DNRole = (typeof DN_ROLES)[number];

export const PartyInfo = Type.Object({ dn: Type.String(), dnType: DNType, state: CallState });
export type PartyInfo = Static<typeof PartyInfo>;

/** A call as EventPartyInfo, EventRegistered and EventAddressInfo describe it. */
export const CallInfoAttrs = {
  connId: ConnId,
  callType: CallType,
  ani: Type.Optional(Type.String()),
  dnis: Type.Optional(Type.String()),
  parties: Type.Array(PartyInfo),
  userData: UserData,
  /** The party's state on the call, when described for one DN. */
  state: Type.Optional(CallState),
};
export const CallInfo = Type.Object(CallInfoAttrs);
export type CallInfo = Static<typeof CallInfo>;

/** Where a server is: EventServerInfo's `peer`, EventError NotPrimary's `primary`. */
export const ServerLocation = Type.Object({ serverName: Type.String(), url: Type.String() });
export type ServerLocation = Static<typeof ServerLocation>;

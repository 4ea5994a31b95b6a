// Every desktop request, as one TypeBox schema each: the request types, the edge validator
// (validate.ts) and the published JSON Schema (docs/schemas/requests.schema.json) all come from here.
// Unknown attributes are allowed (and ignored); an attribute set to null counts as absent.
import { Type, type Static, type TLiteral, type TObject, type TProperties } from '@sinclair/typebox';
import { ConnId, DN, ReferenceId, Seq, ShortString, Token, UserData, WorkMode } from './attributes.js';

const Keys = Type.Union([Type.Array(Type.String()), UserData], {
  description: 'The user-data keys to delete: an array of names, or an object whose keys are the names.',
  expect: 'an array of key names (or an object whose keys are the names)',
});

/** A request's own attributes (besides `request` and `referenceId`), by request name. */
const ATTRIBUTES = {
  RequestOpen: { clientName: ShortString, token: Type.Optional(Token), lastSeq: Type.Optional(Seq) },
  RequestQueryServer: {
    lastSeq: Type.Optional(Type.Integer({ minimum: 0, description: 'With replayReferenceId: the newest seq this desktop has, reported for a pushed replay (docs/protocol.md, Session 4).', expect: 'a non-negative integer' })),
    replayReferenceId: Type.Optional(Type.Integer({ minimum: 1, description: 'With lastSeq: the referenceId of the EventACK that ends the replay pushed when this server starts serving.' })),
  },
  RequestRegisterAddress: { thisDN: DN },
  RequestUnregisterAddress: { thisDN: DN },
  RequestAgentLogin: { thisDN: DN, agentId: ShortString, thisQueue: Type.Optional(DN), workMode: Type.Optional(WorkMode), password: Type.Optional(ShortString), reasons: Type.Optional(UserData) },
  RequestAgentReady: { thisDN: DN, workMode: Type.Optional(WorkMode), reasons: Type.Optional(UserData) },
  RequestAgentNotReady: { thisDN: DN, workMode: Type.Optional(WorkMode), reasons: Type.Optional(UserData) },
  RequestAgentLogout: { thisDN: DN, reasons: Type.Optional(UserData) },
  RequestMakeCall: { thisDN: DN, otherDN: DN, userData: Type.Optional(UserData) },
  RequestAnswerCall: { thisDN: DN, connId: ConnId },
  RequestReleaseCall: { thisDN: DN, connId: ConnId },
  RequestHoldCall: { thisDN: DN, connId: ConnId },
  RequestRetrieveCall: { thisDN: DN, connId: ConnId },
  RequestInitiateTransfer: { thisDN: DN, connId: ConnId, otherDN: DN, userData: Type.Optional(UserData) },
  RequestCompleteTransfer: { thisDN: DN, connId: ConnId, transferConnId: ConnId },
  RequestSingleStepTransfer: { thisDN: DN, connId: ConnId, otherDN: DN },
  RequestInitiateConference: { thisDN: DN, connId: ConnId, otherDN: DN, userData: Type.Optional(UserData) },
  RequestCompleteConference: { thisDN: DN, connId: ConnId, transferConnId: ConnId },
  RequestDeleteFromConference: { thisDN: DN, connId: ConnId, otherDN: DN },
  RequestAttachUserData: { thisDN: DN, connId: ConnId, userData: UserData },
  RequestUpdateUserData: { thisDN: DN, connId: ConnId, userData: UserData },
  RequestDeleteUserData: { thisDN: DN, connId: ConnId, userData: Type.Optional(UserData), keys: Type.Optional(Keys) },
  RequestRouteCall: { thisDN: DN, connId: ConnId, otherDN: DN },
  RequestQueryAddress: { thisDN: DN },
  RequestQueryCall: { connId: ConnId },
  RequestReplay: {
    afterSeq: Seq,
    untilPrimary: Type.Optional(Type.Boolean({ description: 'On a server not serving: replay now, answer EventACK (with the rest) when it serves, after its EventServerInfo (the SDK sends it to the backup when its primary is lost).' })),
  },
} satisfies Record<string, TProperties>;

export type RequestName = keyof typeof ATTRIBUTES;

type Props<T> = T extends TProperties ? T : never;
type RequestSchema<N extends RequestName> = TObject<{ request: TLiteral<N>; referenceId: typeof ReferenceId } & Props<(typeof ATTRIBUTES)[N]>>;

/** Every request's schema, by name. */
export const REQUESTS = Object.fromEntries((Object.keys(ATTRIBUTES) as RequestName[]).map((name) => [
  name, Type.Object({ request: Type.Literal(name), referenceId: ReferenceId, ...ATTRIBUTES[name] }, { $id: name, title: name }),
])) as unknown as { [N in RequestName]: RequestSchema<N> };

export const REQUEST_NAMES = Object.keys(REQUESTS) as RequestName[];

/** One request, discriminated by `request`. */
export type Request = { [N in RequestName]: Static<RequestSchema<N>> }[RequestName];

export type RequestOf<N extends RequestName> = Extract<Request, { request: N }>;

export function isRequestName(x: unknown): x is RequestName {
  return typeof x === 'string' && Object.hasOwn(REQUESTS, x);
}

/** Requests a backup answers itself; every other request on a backup is NotPrimary. */
export const BACKUP_ALLOWED: ReadonlySet<RequestName> = new Set<RequestName>([
  'RequestOpen', 'RequestRegisterAddress', 'RequestUnregisterAddress', 'RequestQueryServer', 'RequestReplay',
]);

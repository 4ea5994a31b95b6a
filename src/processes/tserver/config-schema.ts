// The T-Server's config file sections as TypeBox schemas: `tserver` (desktop-port limits, overload,
// security, HA pair, memory, logs) and `core` (route points, queues, journal, de-dup). The file is
// checked against them once at start (config.ts); the typed settings, the error messages
// (lib/config-check.ts) and docs/schemas/config.schema.json come from here. Every key is optional: a
// missing key takes its default (the defaults live with the code that uses them). Unknown keys in
// every section are refused, so a misspelt setting stops the start instead of being ignored.
// The `switch` section's schema is the switch's own (processes/switch/config.ts); the whole file's
// schema below includes it so that any process of a pair refuses the file the switch would refuse.
import { Type, type Static, type TInteger, type TOptional, type TSchema } from '@sinclair/typebox';
import { singleDocument, type SchemaDocument } from '../../protocol/json-schema.js';
import { closed, flag, names, port, text, uint } from '../../lib/config-check.js';
import { SECURITY_SETTINGS } from '../../auth/security-config.js';
import { SwitchSection } from '../switch/config.js';
import type { OverloadSettings } from './overload-governor.js';
import type { GatewayLimits } from '../../adapters/gateway/gateway.js';

/** Desktop-port limits (GatewayLimits): a new limit fails to compile until it is described here. */
const LIMITS = {
  maxFrameBytes: uint('Largest request frame answered normally; up to 2x gets EventError BadRequest, beyond that close 1009. Default 65536.'),
  maxBufferedBytes: uint('Bytes a desktop socket may hold unsent before it counts as too slow and is cut (4008). Default 4194304.'),
  maxQueuedMessages: uint('Frames handed to a socket and not yet written out, same rule. Default 10000.'),
  pingIntervalMs: uint('WebSocket ping period; a desktop that missed one pong is cut (0 = off). Default 10000.'),
  maxConnections: uint('Open WebSocket connections; one more is refused 503 (0 = no cap). Default 2000.'),
  maxRequestsPerSecond: uint('Requests per second per connection (token bucket); over it EventError Overloaded (0 = no limit). Default 200.'),
  requestBurst: uint('Requests a connection may send at once before the per-second rate applies. Default 400.'),
  maxDNsPerClient: uint('DNs one client name may register (0 = no limit). Default 200.'),
  maxUserDataBytes: uint("Bytes of one request's userData (or reasons) as JSON (0 = no limit). Default 32768."),
  maxCallUserDataBytes: uint("Bytes of one call's whole user data after an attach/update; over it UserDataTooLarge (0 = no bound). Default 65536."),
  openTimeoutMs: uint('A socket without a valid RequestOpen is closed (4002) after this long (0 = no deadline). Default 5000.'),
  maxUnopenedPerAddress: uint('Unopened sockets per remote address; one more upgrade is refused 503 (0 = no cap). Default 64.'),
  maxUnopenedPerLoopbackAddress: uint('The same for loopback addresses (0 = no cap). Default 0.'),
  maxRequestsPerTurn: uint('Requests run per event-loop turn; the rest wait for the next turn (0 = no bound). Default 256.'),
  maxQueuedRequests: uint('Requests received and not yet run; at or over it new requests get Overloaded (0 = no bound). Default 5000.'),
  maxEventLoopDelayMs: uint('Median event-loop delay at or over which new requests get Overloaded (0 = off). Default 100.'),
  maxReleaseDelayMs: uint('Age of the oldest unreleased batch at or over which new requests get Overloaded (0 = off). Default 2000.'),
  overloadRetryAfterMs: uint('The retryAfterMs hint in every Overloaded answer. Default 1000.'),
  maxLeaseHoldMs: uint('A primary whose own lease check failed holds requests this long for the renewal, then answers NotPrimary (0 = at once). Default 1000.'),
  maxLeaseHeldRequests: uint('Requests held that way at most; the next gets Overloaded. Default 5000.'),
} satisfies Record<keyof GatewayLimits, TOptional<TInteger>>;

export const LIMIT_NAMES = Object.keys(LIMITS) as (keyof GatewayLimits)[];

const ms = (description: string) => Type.Optional(Type.Number({ minimum: 0, description }));
/** `tserver.overload` (overload-governor.ts): a new setting fails to compile until it is described here. */
export const OverloadSection = Type.Object({
  enabled: flag('false: never send OverloadControl (the gateway\'s Overloaded answers remain). Default true.'),
  sampleMs: Type.Optional(Type.Number({ minimum: 10, description: 'Sampling period of the signals (at least 10). Default 50.' })),
  intervalMs: ms('Decision period (at least sampleMs). Default 250.'),
  validMs: Type.Optional(Type.Number({ minimum: 0, maximum: 60_000, description: 'How long the switch keeps a setting without renewal (2 x intervalMs .. 60000). Default 1500.' })),
  loopDelayHighMs: ms('Median event-loop delay (last 500 ms) at or over which new inbound calls are shed. Default 50.'),
  loopDelayLowMs: ms('...and under which every signal may clear. Default 25.'),
  queuedHigh: ms('Desktop requests admitted and not yet run: high mark. Default 1000.'),
  queuedLow: ms('Low mark. Default 100.'),
  unreleasedHighMs: ms('Age of the oldest batch not yet released (ack mode): high mark. Default 250.'),
  unreleasedLowMs: ms('Low mark. Default 100.'),
  switchBacklogHigh: ms('Switch-link messages waiting for a later turn: high mark. Default 16.'),
  switchBacklogLow: ms('Low mark. Default 2.'),
  decreasePercent: Type.Optional(Type.Number({ minimum: 1, maximum: 99, description: 'Multiplicative decrease of the admitted share when over (1..99). Default 20.', expect: 'between 1 and 99' })),
  decreaseEveryMs: ms('At most one decrease per this long. Default 500.'),
  increasePermille: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Additive increase per decision when every signal is clear. Default 25.' })),
  clearHoldMs: ms('Every signal must have been clear this long before the share grows. Default 1000.'),
  minAdmitPermille: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'The admitted share never goes below this (per 1,000). Default 50.' })),
} satisfies Record<keyof OverloadSettings, TSchema>, { ...closed, description: 'Overload control: the primary asks the switch to shed new inbound calls (docs/capacity.md).' });

export const TServerSection = Type.Object({
  ...LIMITS,
  overload: Type.Optional(OverloadSection),
  ...SECURITY_SETTINGS,
  desktopDir: text('Folder served under /desktop/. Default: the built desktop.'),
  switchSecret: text("The switch's shared secret, sent in Hello."),
  switchSecretFile: text('A file holding it.'),
  peerSync: text("host:port of the peer's sync port; turns the pair mode on."),
  syncPort: port("This server's sync port (0 = any free port). Default 7101."),
  peerName: text("The other server's name (shown to desktops, with peerUrl)."),
  peerUrl: text("The other server's ws://…/tlib URL; its origin is allowed on /tlib."),
  syncMode: names(['ack', 'async'] as const, 'ack: events and answers wait for the backup\'s ack. Default "ack".'),
  addpIntervalMs: uint('Sync heartbeat period. Default 100.', 1),
  addpTimeoutMs: uint('The peer is suspected after this much silence (at least 2 x addpIntervalMs). Default 400.', 1),
  addpTrace: flag('Log every sync heartbeat (reloadable on SIGHUP). Default false.'),
  syncSecret: text('Shared secret of the sync stream, the same on both servers.'),
  syncSecretFile: text('A file holding it.'),
  backlogBatches: uint('Batches the primary keeps for a partial resync of a rejoining backup. Default 50000.', 1),
  hangDetectionMs: uint('Main thread without progress this long: the liveness worker releases the lease. Default 400.', 50),
  preferredRole: names(['primary', 'backup'] as const, "Who claims first at a pair's very first start. Default primary."),
  heapGrowingPercent: Type.Optional(Type.Union([Type.Literal(0), Type.Integer({ minimum: 10, maximum: 400 })], {
    description: 'V8 old-generation growth per major GC, percent (0 = V8\'s own heuristic). Default 25.', expect: '0 (V8\'s own heuristic) or an integer 10..400',
  })),
  logLevel: names(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'Reloadable on SIGHUP. Default info.'),
}, { ...closed, description: 'One T-Server: desktop-port limits, overload, security, the HA pair, memory, logs.' });

export const CoreSection = Type.Object({
  routePoints: Type.Optional(Type.Record(Type.String(), Type.Object({
    defaultTarget: Type.String({ description: 'Where a call goes when no router answers in time; "" = wait for a router for ever.' }),
    timeoutMs: uint('The time a router has. Default: defaultRouteTimeoutMs.'),
  }, closed), { description: 'Per route point DN. Merged over the default {"8000": {"defaultTarget": "7000", "timeoutMs": 10000}}.' })),
  defaultRouteTimeoutMs: uint('That time for route points not listed. Default 10000.'),
  queues: Type.Optional(Type.Record(Type.String(), Type.Object({
    wrapUpMs: uint("Agents' after-call work time (0 = none). Default 0."),
    treatment: text('What waiting callers hear. Default: defaultTreatment.'),
  }, closed), { description: 'Per ACD queue DN.' })),
  defaultTreatment: text('Treatment for queues not listed. Default "music".'),
  journal: Type.Optional(Type.Object({
    maxEvents: uint('Events kept for RequestReplay. Default 30000.'),
    maxAgeMs: uint('...and no older than this. Default 900000.'),
  }, closed)),
  dedup: Type.Optional(Type.Object({
    maxRecords: uint('Request ids remembered so a retried request is answered, not run twice. Default 30000.'),
    maxAgeMs: uint('...and for no longer than this. Default 900000.'),
  }, closed)),
  pendingTimeoutMs: uint('A request with no answer from the switch after this long gets SwitchUnavailable. Default 10000.'),
}, { ...closed, description: 'The call model (core.maxCallUserDataBytes is taken from tserver.maxCallUserDataBytes).' });

/**
 * The whole file. Top-level keys other than the three sections are ignored, not refused: a file that
 * is only a switch section (no `switch` key, docs/config.md) is read by the switch alone.
 */
export const ConfigFile = Type.Object({
  switch: Type.Optional(SwitchSection),
  tserver: Type.Optional(TServerSection),
  core: Type.Optional(CoreSection),
}, { description: 'The one JSON file every process of a pair reads (--config). Reference: docs/config.md.' });

export type TServerSettings = Static<typeof TServerSection>;
export type CoreSettings = Static<typeof CoreSection>;
export type OverloadFileSettings = Static<typeof OverloadSection>;
export type ConfigFileSettings = Static<typeof ConfigFile>;

/** docs/schemas/config.schema.json (written by `npm run schemas`). */
export function configSchemaDocument(): SchemaDocument {
  return singleDocument('config.schema.json', 'Tandem config file (switch, tserver and core sections)', ConfigFile);
}

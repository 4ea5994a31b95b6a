// The switch's settings: defaults, the `switch` section of the shared config file, then command-line
// flags (highest precedence). The section, SIP included, is typed once by the TypeBox schema below
// and checked against it when read (lib/config-check.ts words the error: the setting, what it must
// be, what it was); validateConfig adds what a schema cannot say (relations between settings, DN
// ranges). docs/schemas/config.schema.json publishes the schema with the T-Server's sections.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DEFAULT_DIAL_PLAN, DialPlan, type DialPlanConfig } from './dial-plan.js';
import { tlsFilesSchema, type TlsFiles } from '../../lib/tls.js';
import { checkSettings, closed, ConfigError, port, readJsonConfig, text, uint } from '../../lib/config-check.js';
import { checkSipRelations, DEFAULT_SIP_CONFIG, SIP_CONFIG_HELP, SipSection, sipConfigOf, type SipConfig } from './sip/config.js';

export interface AutoAnswerSetting {
  /** Answer any call delivered to (or ringing at) the DN after this long; 0 = off. */
  answerAfterMs: number;
  /** Release after this long connected; 0 = talk until someone releases. */
  talkMs: number;
}

export interface SwitchConfig {
  name: string;
  host: string;
  port: number;
  /**
   * Shared secret every Hello must carry; "" = none required (the switch then warns at start).
   * Resolved by `tandem switch`: --secret, --secret-file, $TANDEM_SWITCH_SECRET, switch.secret, switch.secretFile.
   */
  secret: string;
  /** A file holding the secret (switch.secretFile), read at start when no other source set one. */
  secretFile?: string;
  /** TLS for the link port; with `ca`, every T-Server must present a certificate signed by it (mutual TLS). */
  tls?: TlsFiles;
  /** How long one heartbeat keeps the lease. */
  leaseMs: number;
  /** The heartbeat interval announced in Welcome. */
  heartbeatMs: number;
  /** Events kept for redelivery after a claim. */
  eventLogSize: number;
  /** Command ids remembered for exactly-once. */
  commandIdsSize: number;
  /** Accepted commands kept for CommandLogQuery. */
  commandLogSize: number;
  /** Every external party answers after this long; 0 = never (unless per-DN autoAnswer). */
  externalAnswerMs: number;
  autoAnswer: Record<string, AutoAnswerSetting>;
  dialPlan: DialPlanConfig;
  /** The SIP side (`tandem switch --sip`, docs/sip.md); read always, used only with --sip. */
  sip: SipConfig;
}

export const DEFAULT_SWITCH_CONFIG: SwitchConfig = {
  name: 'switch',
  host: '127.0.0.1',
  port: 7200,
  secret: '',
  leaseMs: 400,
  heartbeatMs: 100,
  eventLogSize: 100_000,
  commandIdsSize: 100_000,
  commandLogSize: 10_000,
  externalAnswerMs: 0,
  autoAnswer: {},
  dialPlan: DEFAULT_DIAL_PLAN,
  sip: DEFAULT_SIP_CONFIG,
};

export const CONFIG_HELP = `config file (--config f.json): JSON; the switch reads its "switch" section (or the whole file
when it has none). Every key is optional:
  {"switch": {
    "host": "127.0.0.1", "port": 7200, "name": "switch", "secret": "", "secretFile": "/etc/tandem/switch.secret",
    "tls": {"cert": "switch.crt", "key": "switch.key", "ca": "ca.crt"},
    "leaseMs": 400, "heartbeatMs": 100,
    "eventLogSize": 100000, "commandIdsSize": 100000, "commandLogSize": 10000,
    "externalAnswerMs": 0,
    "autoAnswer": {"5001": {"answerAfterMs": 500, "talkMs": 20000}},
    "dialPlan": {"extensions": ["5000-5999"], "queues": ["7000-7009"], "routePoints": ["8000-8009"],
                 "trunkPrefix": "9", "externalMinDigits": 7},
${SIP_CONFIG_HELP}
  }}`;

const dnList = (description: string) => Type.Optional(Type.Array(Type.String(), { description, expect: 'an array of DNs or ranges like ["5000-5999", "6001"]' }));

/** `switch.dialPlan`: a new dial-plan setting fails to compile until it is described here. */
const DialPlanSection = Type.Object({
  extensions: dnList('Extension DNs (ranges or single numbers). Default ["5000-5999"].'),
  queues: dnList('ACD queue DNs. Default ["7000-7009"].'),
  routePoints: dnList('Route point DNs. Default ["8000-8009"].'),
  trunkPrefix: text('Prefix for external numbers dialled from an extension. Default "9".'),
  externalMinDigits: uint('Shortest number treated as external. Default 7.', 1),
} satisfies Record<keyof DialPlanConfig, TSchema>, { ...closed, description: 'Which DNs the switch knows.' });

/** The `switch` section: a new setting fails to compile until it is described here. */
export const SwitchSection = Type.Object({
  name: text('The switch\'s name, sent in Welcome. Default "switch".'),
  host: text('Listen address of the link port. Default "127.0.0.1".'),
  port: port('gRPC link port (0 = any free port). Default 7200.'),
  secret: text('Shared secret every link must send in Hello; "" = none (the switch warns at start).'),
  secretFile: text('A file holding it.'),
  tls: Type.Optional(tlsFilesSchema('TLS on the link port; with ca, mutual TLS.')),
  leaseMs: uint('How long one heartbeat keeps the primary lease (longer than heartbeatMs). Default 400.', 1),
  heartbeatMs: uint('Heartbeat interval announced in Welcome. Default 100.', 1),
  eventLogSize: uint('Events kept for redelivery after a claim. Default 100000.', 1),
  commandIdsSize: uint('Command ids remembered for exactly-once. Default 100000.', 1),
  commandLogSize: uint('Accepted commands kept for CommandLogQuery. Default 10000.', 1),
  externalAnswerMs: uint('Every external party answers after this long; 0 = never. Default 0.'),
  autoAnswer: Type.Optional(Type.Record(Type.String(), Type.Object({
    answerAfterMs: uint('Answer a call ringing at the DN after this long; 0 = off.'),
    talkMs: uint('Release after this long connected; 0 = talk until released.'),
  } satisfies Record<keyof AutoAnswerSetting, TSchema>, closed), { description: 'Per DN.', expect: 'an object {"<dn>": {"answerAfterMs": n, "talkMs": n}}' })),
  dialPlan: Type.Optional(DialPlanSection),
  sip: Type.Optional(SipSection),
} satisfies Record<keyof SwitchConfig, TSchema>, { ...closed, description: 'The switch: link port, lease, dial plan, auto-answer, SIP (docs/config.md).' });

export type SwitchSettings = Static<typeof SwitchSection>;

/**
 * The part of a parsed config file that is the switch's: its `switch` section; a file without one
 * and without T-Server sections is itself the section (a switch-only file, docs/config.md).
 */
function switchSectionOf(file: Record<string, unknown>): unknown {
  if ('switch' in file) return file.switch;
  return 'tserver' in file || 'core' in file ? {} : file;
}

/** A parsed config file's switch section over the defaults. Throws ConfigError naming the bad setting. */
export function configFromJson(file: Record<string, unknown>): SwitchConfig {
  const s = checkSettings(SwitchSection, switchSectionOf(file), 'switch');
  const autoAnswer = Object.entries(s.autoAnswer ?? {}).map(([dn, a]) => [dn, { answerAfterMs: a.answerAfterMs ?? 0, talkMs: a.talkMs ?? 0 }]);
  return {
    ...DEFAULT_SWITCH_CONFIG,
    ...s,
    autoAnswer: Object.fromEntries(autoAnswer),
    dialPlan: { ...DEFAULT_DIAL_PLAN, ...s.dialPlan },
    sip: sipConfigOf(s.sip),
  };
}

/** The switch settings of a config file (the defaults without one). */
export function loadConfigFile(path: string | undefined): SwitchConfig {
  return configFromJson(path ? readJsonConfig(path) : {});
}

/** Cross-setting checks, after flags were applied. */
export function validateConfig(cfg: SwitchConfig): void {
  if (cfg.heartbeatMs >= cfg.leaseMs) {
    throw new ConfigError(`heartbeat (${cfg.heartbeatMs} ms, --heartbeat-ms / switch.heartbeatMs) must be shorter than the lease (${cfg.leaseMs} ms, --lease-ms / switch.leaseMs), or every lease lapses between heartbeats`);
  }
  checkSipRelations(cfg.sip);
  try {
    new DialPlan(cfg.dialPlan);
  } catch (err) {
    throw new ConfigError((err as Error).message); // a bad DN range, named by the dial plan
  }
}

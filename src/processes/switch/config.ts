// The simulated switch's settings: defaults, the `switch` section of the shared config file, then
// command-line flags (highest precedence). Validated once at start; a bad value stops the process
// with a message that names the setting.
import { readFileSync } from 'node:fs';
import { DEFAULT_DIAL_PLAN, DialPlan, type DialPlanConfig } from './dial-plan.js';
import type { TlsFiles } from '../../lib/tls.js';
import { DEFAULT_SIP_CONFIG, SIP_CONFIG_HELP, sipConfigFromJson, type SipConfig } from './sip/config.js';

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

type Json = Record<string, unknown>;

function int(v: unknown, setting: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${setting} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}
function str(v: unknown, setting: string): string {
  if (typeof v !== 'string') throw new Error(`${setting} must be a string, got ${JSON.stringify(v)}`);
  return v;
}
function list(v: unknown, setting: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${setting} must be an array of strings like ["5000-5999", "6001"]`);
  return v as string[];
}

/** Merges a parsed config file's switch section over the defaults. Throws naming the bad setting. */
export function configFromJson(file: Json): SwitchConfig {
  const s = (typeof file.switch === 'object' && file.switch !== null ? file.switch : file) as Json;
  const cfg: SwitchConfig = { ...DEFAULT_SWITCH_CONFIG, autoAnswer: {}, dialPlan: { ...DEFAULT_DIAL_PLAN }, sip: sipConfigFromJson(s.sip) };
  if (s.name !== undefined) cfg.name = str(s.name, 'switch.name');
  if (s.host !== undefined) cfg.host = str(s.host, 'switch.host');
  if (s.port !== undefined) cfg.port = int(s.port, 'switch.port', 0);
  if (s.secret !== undefined) cfg.secret = str(s.secret, 'switch.secret');
  if (s.secretFile !== undefined) cfg.secretFile = str(s.secretFile, 'switch.secretFile');
  if (s.tls !== undefined) {
    const t = s.tls as Json;
    if (typeof t !== 'object' || t === null) throw new Error('switch.tls must be {"cert": "<pem>", "key": "<pem>", "ca": "<pem>"}');
    cfg.tls = { cert: str(t.cert, 'switch.tls.cert'), key: str(t.key, 'switch.tls.key'), ...(t.ca !== undefined ? { ca: str(t.ca, 'switch.tls.ca') } : {}) };
  }
  if (s.leaseMs !== undefined) cfg.leaseMs = int(s.leaseMs, 'switch.leaseMs', 1);
  if (s.heartbeatMs !== undefined) cfg.heartbeatMs = int(s.heartbeatMs, 'switch.heartbeatMs', 1);
  if (s.eventLogSize !== undefined) cfg.eventLogSize = int(s.eventLogSize, 'switch.eventLogSize', 1);
  if (s.commandIdsSize !== undefined) cfg.commandIdsSize = int(s.commandIdsSize, 'switch.commandIdsSize', 1);
  if (s.commandLogSize !== undefined) cfg.commandLogSize = int(s.commandLogSize, 'switch.commandLogSize', 1);
  if (s.externalAnswerMs !== undefined) cfg.externalAnswerMs = int(s.externalAnswerMs, 'switch.externalAnswerMs', 0);
  if (s.autoAnswer !== undefined) {
    if (typeof s.autoAnswer !== 'object' || s.autoAnswer === null) throw new Error('switch.autoAnswer must be an object {"<dn>": {"answerAfterMs": n, "talkMs": n}}');
    for (const [dn, v] of Object.entries(s.autoAnswer as Json)) {
      const a = (v ?? {}) as Json;
      cfg.autoAnswer[dn] = {
        answerAfterMs: a.answerAfterMs === undefined ? 0 : int(a.answerAfterMs, `switch.autoAnswer.${dn}.answerAfterMs`, 0),
        talkMs: a.talkMs === undefined ? 0 : int(a.talkMs, `switch.autoAnswer.${dn}.talkMs`, 0),
      };
    }
  }
  const d = s.dialPlan as Json | undefined;
  if (d !== undefined) {
    if (typeof d !== 'object' || d === null) throw new Error('switch.dialPlan must be an object');
    if (d.extensions !== undefined) cfg.dialPlan.extensions = list(d.extensions, 'switch.dialPlan.extensions');
    if (d.queues !== undefined) cfg.dialPlan.queues = list(d.queues, 'switch.dialPlan.queues');
    if (d.routePoints !== undefined) cfg.dialPlan.routePoints = list(d.routePoints, 'switch.dialPlan.routePoints');
    if (d.trunkPrefix !== undefined) cfg.dialPlan.trunkPrefix = str(d.trunkPrefix, 'switch.dialPlan.trunkPrefix');
    if (d.externalMinDigits !== undefined) cfg.dialPlan.externalMinDigits = int(d.externalMinDigits, 'switch.dialPlan.externalMinDigits', 1);
  }
  return cfg;
}

export function loadConfigFile(path: string): SwitchConfig {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try { json = JSON.parse(text); } catch (err) {
    throw new Error(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`config file ${path} must hold a JSON object`);
  return configFromJson(json as Json);
}

/** Cross-setting checks, after flags were applied. */
export function validateConfig(cfg: SwitchConfig): void {
  if (cfg.heartbeatMs >= cfg.leaseMs) {
    throw new Error(`heartbeat (${cfg.heartbeatMs} ms, --heartbeat-ms / switch.heartbeatMs) must be shorter than the lease (${cfg.leaseMs} ms, --lease-ms / switch.leaseMs), or every lease lapses between heartbeats`);
  }
  new DialPlan(cfg.dialPlan); // throws on a bad range
}

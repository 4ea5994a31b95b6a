// The HA pair settings from flags over the config file's `tserver` keys (flags win). Kept apart from
// config.ts: these decide whether the process is a pair member at all, and SIGHUP re-reads a few.
// The file's keys arrive checked (config-schema.ts); the flags, strings, are checked here.
import type { LevelWithSilent } from 'pino';
import { DEFAULT_ADDP, validateAddp } from '../../ha/addp.js';
import { DEFAULT_HANG_DETECTION_MS } from '../../adapters/switch-client/liveness.js';
import { ConfigError, type HaFileKeys, type HaSettings } from './config.js';

export interface HaFlags {
  'sync-port'?: string;
  'peer-sync'?: string;
  'sync-mode'?: string;
  'addp-interval-ms'?: string;
  'addp-timeout-ms'?: string;
  'addp-trace'?: boolean;
  'sync-secret'?: string;
  'backlog-batches'?: string;
  'hang-detection-ms'?: string;
  'preferred-role'?: string;
}

function int(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** undefined when no peer sync address is configured (single server). */
export function haSettings(f: HaFlags, t: HaFileKeys = {}): HaSettings | undefined {
  const peerSync = f['peer-sync'] ?? t.peerSync;
  if (!peerSync) return undefined;
  if (!/^[^:\s]+:\d+$/.test(peerSync)) throw new ConfigError(`--peer-sync must be host:port (the peer's sync port), got "${peerSync}"`);
  const mode = f['sync-mode'] ?? t.syncMode ?? 'ack';
  if (mode !== 'ack' && mode !== 'async') throw new ConfigError(`--sync-mode must be ack or async, got "${mode}"`);
  const syncPort = int(f['sync-port'], '--sync-port', 0) ?? t.syncPort ?? 7101;
  if (syncPort > 65535) throw new ConfigError(`--sync-port must be 0..65535, got ${syncPort}`);
  const addp = {
    intervalMs: int(f['addp-interval-ms'], '--addp-interval-ms', 1) ?? t.addpIntervalMs ?? DEFAULT_ADDP.intervalMs,
    timeoutMs: int(f['addp-timeout-ms'], '--addp-timeout-ms', 1) ?? t.addpTimeoutMs ?? DEFAULT_ADDP.timeoutMs,
    trace: f['addp-trace'] === true || t.addpTrace === true,
  };
  try { validateAddp(addp); } catch (err) { throw new ConfigError((err as Error).message); }
  const backlogBatches = int(f['backlog-batches'], '--backlog-batches', 1) ?? t.backlogBatches;
  const syncSecret = f['sync-secret'] ?? t.syncSecret;
  // Below ~50 ms an ordinary GC pause or long turn would release the lease of a live primary.
  const hangDetectionMs = int(f['hang-detection-ms'], '--hang-detection-ms', 50) ?? t.hangDetectionMs ?? DEFAULT_HANG_DETECTION_MS;
  const preferredRole = f['preferred-role'] ?? t.preferredRole ?? 'primary';
  if (preferredRole !== 'primary' && preferredRole !== 'backup') throw new ConfigError(`--preferred-role must be primary or backup, got "${preferredRole}"`);
  return { syncPort, peerSync, syncMode: mode, addp, hangDetectionMs, preferredRole, ...(syncSecret ? { syncSecret } : {}), ...(backlogBatches ? { backlogBatches } : {}) };
}

/** The settings SIGHUP re-reads (checked with the rest of the file by readConfigFile). */
export function reloadable(t: HaFileKeys = {}): { logLevel?: LevelWithSilent; addpTrace?: boolean } {
  const out: { logLevel?: LevelWithSilent; addpTrace?: boolean } = {};
  if (t.logLevel !== undefined) out.logLevel = t.logLevel;
  if (t.addpTrace !== undefined) out.addpTrace = t.addpTrace;
  return out;
}

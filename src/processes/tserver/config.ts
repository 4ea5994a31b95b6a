// T-Server settings: command-line flags over the config file over defaults. The config file is the
// one JSON file every process of a pair reads (`--config`), checked whole against config-schema.ts
// when read; the T-Server uses its `tserver` and `core` sections.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCoreConfig } from '../../core/index.js';
import type { CoreConfig } from '../../core/api.js';
import type { Role } from '../../protocol/messages.js';
import type { GatewayLimits } from '../../adapters/gateway/gateway.js';
import { DEFAULT_EDGE_LIMITS } from '../../adapters/gateway/guard.js';
import { DEFAULT_ADMISSION_LIMITS } from '../../adapters/gateway/admission.js';
import { DEFAULT_UNOPENED_LIMITS } from '../../adapters/gateway/unopened.js';
import { DEFAULT_LEASE_HOLD_LIMITS } from '../../adapters/gateway/lease-hold.js';
import { parseSecurity, type SecurityConfig } from '../../auth/security-config.js';
import { parseOverloadSettings, type OverloadSettings } from './overload-governor.js';
import { checkSettings, ConfigError, readJsonConfig } from '../../lib/config-check.js';
import { ConfigFile, LIMIT_NAMES, type ConfigFileSettings, type TServerSettings } from './config-schema.js';

export { ConfigError };

export interface TServerConfig {
  serverName: string;
  host: string;
  /** HTTP + WebSocket port (0 = ephemeral). */
  port: number;
  /** host:port of the switch's gRPC link. */
  switchAddress: string;
  switchSecret?: string;
  /** Role at start. Single server: 'primary'. The HA layer decides it for a pair. */
  role: Role;
  peer?: { serverName: string; url: string };
  /** Folder holding the web desktop (served under /desktop/); undefined = not installed. */
  desktopDir?: string;
  limits: GatewayLimits;
  core: CoreConfig;
  /** Desktop auth, allowed origins, wss and peer mTLS (src/auth/security-config.ts, docs/security.md). */
  security?: SecurityConfig;
  /** Overload governor (overload-governor.ts, docs/capacity.md "Overload"); undefined = the defaults. */
  overload?: OverloadSettings;
  /** HA pair settings; undefined = single server (no sync port, claims the switch at start). */
  ha?: HaSettings;
}

/** The hot-standby pair (docs/ha.md). Flags override the config file's `tserver` keys of the same meaning. */
export interface HaSettings {
  /** Sync port this server listens on (0 = ephemeral). */
  syncPort: number;
  /** host:port where the peer's sync server listens. */
  peerSync: string;
  syncMode: 'ack' | 'async';
  addp: { intervalMs: number; timeoutMs: number; trace: boolean };
  syncSecret?: string;
  /** Backlog size for partial resync, in batches (default: the library's). */
  backlogBatches?: number;
  /**
   * The liveness worker (docs/liveness.md) stops renewing the switch lease, and releases it, once the
   * main thread made no progress for this long (ms). Default 400 (the lease / ADDP timeout).
   */
  hangDetectionMs?: number;
  /**
   * At the first start of a pair (nobody ever held the lease) the "backup" waits for the "primary"
   * to claim (HaParams.standbyStartMs); afterwards the roles follow the lease, not this. Default primary.
   */
  preferredRole?: 'primary' | 'backup';
}

/** The `tserver` keys of the config file that the HA layer reads (flags win): config-schema.ts. */
export type HaFileKeys = TServerSettings;

export const DEFAULT_LIMITS: GatewayLimits = {
  maxFrameBytes: 64 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxQueuedMessages: 10_000,
  pingIntervalMs: 10_000,
  ...DEFAULT_EDGE_LIMITS,
  ...DEFAULT_ADMISSION_LIMITS,
  ...DEFAULT_UNOPENED_LIMITS,
  ...DEFAULT_LEASE_HOLD_LIMITS,
};

/** The config file's sections the T-Server reads, checked against their schema (config-schema.ts). */
export type FileShape = ConfigFileSettings;

/** The config file checked against its schema (config-schema.ts); no file: every default. */
export function readConfigFile(path: string | undefined): FileShape {
  return path ? checkSettings(ConfigFile, readJsonConfig(path), '') : {};
}

/**
 * Route points a T-Server knows without a config file (a config file's core.routePoints is merged
 * over them): 8000 sends a call nobody routes to queue 7000 after 10 s, so on the embedded pair
 * `tandem call --to 8000` reaches a Ready agent with no router running (docs/config.md). To make
 * 8000 wait for a router for ever: "core": {"routePoints": {"8000": {"defaultTarget": ""}}}.
 */
export const DEFAULT_ROUTE_POINTS: CoreConfig['routePoints'] = { '8000': { defaultTarget: '7000', timeoutMs: 10_000 } };

/**
 * The route points a T-Server runs with this config file: the defaults with the file's merged over
 * them; an entry without timeoutMs takes core.defaultRouteTimeoutMs.
 */
export function routePointsOf(file: FileShape): CoreConfig['routePoints'] {
  const d = defaultCoreConfig();
  const timeoutMs = file.core?.defaultRouteTimeoutMs ?? d.defaultRouteTimeoutMs;
  const fromFile = Object.entries(file.core?.routePoints ?? {}).map(([dn, r]) => [dn, { defaultTarget: r.defaultTarget, timeoutMs: r.timeoutMs ?? timeoutMs }]);
  return { ...d.routePoints, ...DEFAULT_ROUTE_POINTS, ...Object.fromEntries(fromFile) };
}

export function buildConfig(base: Omit<TServerConfig, 'limits' | 'core' | 'desktopDir'>, file: FileShape): TServerConfig {
  const t = file.tserver ?? {};
  const limits: GatewayLimits = { ...DEFAULT_LIMITS };
  for (const k of LIMIT_NAMES) limits[k] = t[k] ?? limits[k];
  const d = defaultCoreConfig();
  const c = file.core ?? {};
  const defaultTreatment = c.defaultTreatment ?? d.defaultTreatment;
  const queues = Object.entries(c.queues ?? {}).map(([dn, q]) => [dn, { wrapUpMs: q.wrapUpMs ?? 0, treatment: q.treatment ?? defaultTreatment }]);
  const core: CoreConfig = {
    routePoints: routePointsOf(file),
    queues: { ...d.queues, ...Object.fromEntries(queues) },
    defaultRouteTimeoutMs: c.defaultRouteTimeoutMs ?? d.defaultRouteTimeoutMs,
    defaultTreatment,
    journal: { ...d.journal, ...c.journal },
    dedup: { ...d.dedup, ...c.dedup },
    pendingTimeoutMs: c.pendingTimeoutMs ?? d.pendingTimeoutMs,
    // The per-call user-data bound is a tserver limit for operators, enforced where the data merges.
    maxCallUserDataBytes: limits.maxCallUserDataBytes,
  };
  const security = parseSecurity(t, base.peer?.url);
  // `tserver.overload`: an object beside the limits; the relations between its keys (a low mark above
  // its high mark) are checked in overload-governor.ts, as ConfigError.
  const overload: OverloadSettings = parseOverloadSettings(t.overload);
  return { ...base, switchSecret: base.switchSecret ?? t.switchSecret, limits, core, desktopDir: findDesktopDir(t.desktopDir), security, overload };
}

/** The configured folder, else the built desktop next to dist/, else none. */
function findDesktopDir(configured: string | undefined): string | undefined {
  if (configured) return resolve(configured);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  for (const c of [join(root, 'dist', 'desktop'), join(root, 'src', 'desktop')]) {
    if (existsSync(join(c, 'index.html'))) return c;
  }
  return undefined;
}

// Core settings and the lookups that apply their defaults in one place.
import type { CoreConfig } from './api.js';

export function defaultCoreConfig(): CoreConfig {
  return {
    routePoints: {},
    queues: {},
    defaultRouteTimeoutMs: 10_000,
    defaultTreatment: 'music',
    journal: { maxEvents: 30_000, maxAgeMs: 15 * 60_000 },
    dedup: { maxRecords: 30_000, maxAgeMs: 15 * 60_000 },
    pendingTimeoutMs: 10_000,
  };
}

export function pendingTimeout(config: CoreConfig): number {
  return config.pendingTimeoutMs ?? 10_000;
}

/** Route point settings; an unconfigured route point has no default target (calls wait for a router). */
export function routePointConfig(config: CoreConfig, dn: string): { defaultTarget: string; timeoutMs: number } {
  return config.routePoints[dn] ?? { defaultTarget: '', timeoutMs: config.defaultRouteTimeoutMs };
}

export function queueConfig(config: CoreConfig, dn: string): { wrapUpMs: number; treatment: string } {
  return config.queues[dn] ?? { wrapUpMs: 0, treatment: config.defaultTreatment };
}

// The dial plan: which DNs exist and what kind of device each is. Pure; built once from the config.
// Ranges are kept as numeric intervals so a 1,000-extension plan costs nothing to classify.
import { sw } from '../../wire/switch-proto.js';

export interface DialPlanConfig {
  /** Desk phones / agents: single DNs or "lo-hi" ranges of equal-length digit strings. */
  extensions: string[];
  /** ACD queue DNs: calls delivered there are parked (QUEUED) until deflected. */
  queues: string[];
  /** Route points: calls delivered there are parked (QUEUED) until routed (Deflect). */
  routePoints: string[];
  /** A dialled number starting with it (and longer than it) is external, reached through the trunk. */
  trunkPrefix: string;
  /** A dialled number of at least this many digits that is not in the plan is external. */
  externalMinDigits: number;
}

export const DEFAULT_DIAL_PLAN: DialPlanConfig = {
  extensions: ['5000-5999'],
  queues: ['7000-7009'],
  routePoints: ['8000-8009'],
  trunkPrefix: '9',
  externalMinDigits: 7,
};

interface DnSet { singles: Set<string>; ranges: Array<{ lo: number; hi: number; len: number }> }

const DIGITS = /^\d+$/;
const EXTERNAL_NUMBER = /^\+?\d+$/;

/** Parses a list of DNs and "lo-hi" ranges; throws with the offending entry named. */
export function parseDnList(entries: string[], setting: string): DnSet {
  const set: DnSet = { singles: new Set(), ranges: [] };
  for (const raw of entries) {
    const entry = String(raw).trim();
    const m = /^(\d+)-(\d+)$/.exec(entry);
    if (m) {
      const [lo, hi] = [m[1]!, m[2]!];
      if (lo.length !== hi.length || Number(lo) > Number(hi)) {
        throw new Error(`${setting}: range "${entry}" must be lo-hi with lo <= hi and both of the same length (e.g. "5000-5999")`);
      }
      set.ranges.push({ lo: Number(lo), hi: Number(hi), len: lo.length });
    } else if (entry.length > 0 && !/\s/.test(entry)) {
      set.singles.add(entry);
    } else {
      throw new Error(`${setting}: "${entry}" is neither a DN nor a "lo-hi" range`);
    }
  }
  return set;
}

function has(set: DnSet, dn: string): boolean {
  if (set.singles.has(dn)) return true;
  if (!DIGITS.test(dn)) return false;
  const n = Number(dn);
  return set.ranges.some((r) => r.len === dn.length && n >= r.lo && n <= r.hi);
}

function* expand(set: DnSet): Generator<string> {
  yield* set.singles;
  for (const r of set.ranges) for (let n = r.lo; n <= r.hi; n++) yield String(n).padStart(r.len, '0');
}

export class DialPlan {
  readonly trunkPrefix: string;
  private readonly extensions: DnSet;
  private readonly queues: DnSet;
  private readonly routePoints: DnSet;
  private readonly externalMinDigits: number;

  constructor(cfg: DialPlanConfig = DEFAULT_DIAL_PLAN) {
    this.extensions = parseDnList(cfg.extensions, 'switch.dialPlan.extensions');
    this.queues = parseDnList(cfg.queues, 'switch.dialPlan.queues');
    this.routePoints = parseDnList(cfg.routePoints, 'switch.dialPlan.routePoints');
    this.trunkPrefix = cfg.trunkPrefix;
    this.externalMinDigits = cfg.externalMinDigits;
  }

  /** The device type of a DN, EXTERNAL for a number beyond the trunk, undefined when unknown. */
  classify(dn: string): sw.DeviceType | undefined {
    if (has(this.extensions, dn)) return sw.DeviceType.EXTENSION;
    if (has(this.routePoints, dn)) return sw.DeviceType.ROUTE_POINT;
    if (has(this.queues, dn)) return sw.DeviceType.ACD_QUEUE;
    if (!EXTERNAL_NUMBER.test(dn)) return undefined;
    const digits = dn.replace(/^\+/, '');
    if (this.trunkPrefix && dn.startsWith(this.trunkPrefix) && dn.length > this.trunkPrefix.length) return sw.DeviceType.EXTERNAL;
    if (digits.length >= this.externalMinDigits) return sw.DeviceType.EXTERNAL;
    return undefined;
  }

  /** Every internal device, for snapshots (extensions, route points, queues). */
  devices(): sw.IDevice[] {
    const out: sw.IDevice[] = [];
    for (const dn of expand(this.extensions)) out.push({ dn, type: sw.DeviceType.EXTENSION });
    for (const dn of expand(this.routePoints)) out.push({ dn, type: sw.DeviceType.ROUTE_POINT });
    for (const dn of expand(this.queues)) out.push({ dn, type: sw.DeviceType.ACD_QUEUE });
    return out;
  }

  /** One line for error messages: what the plan holds. */
  describe(): string {
    const fmt = (s: DnSet) => [...s.singles, ...s.ranges.map((r) => `${String(r.lo).padStart(r.len, '0')}-${String(r.hi).padStart(r.len, '0')}`)].join(',') || 'none';
    return `extensions ${fmt(this.extensions)}, queues ${fmt(this.queues)}, route points ${fmt(this.routePoints)}, ` +
      `external: trunk prefix "${this.trunkPrefix}" or ${this.externalMinDigits}+ digits`;
  }
}

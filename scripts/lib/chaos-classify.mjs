// The chaos drill's judges, pure: is the pair recovered (from both servers' /healthz), and which of
// the role changes a cycle saw were the fault's planned failover and which were unplanned. Unit-tested
// in test/unit/chaos-classify.test.ts.

/**
 * A grant of the primary role: a 'role changed' to primary under a new epoch (a promotion, a
 * handover's claim, a reclaim after a lapse). `demoting -> primary` (a handover that failed before
 * the lease was released) keeps its epoch: not a grant.
 */
export const isGrant = (c) => c.to === 'primary' && c.epoch !== c.oldEpoch;

/**
 * Splits a cycle's role changes (`{server, from, to, oldEpoch, epoch, t}` in log order, both servers)
 * into planned and unplanned grants per the fault's expectation (`grants` of FAULTS in chaos-plan):
 * - `peer`: the first grant to the old primary's peer is planned; every other grant is unplanned
 *   (a second failover, the old primary taking it back); none at all = `missing`.
 * - `none`: every grant is unplanned.
 * - `reclaim`: the first grant to the old primary is planned (it woke with its lease lapsed and
 *   nobody able to take it); a grant to the peer is unplanned and `stale` (a backup that was never in
 *   sync took over with an empty state).
 * - `restarted`: the first grant to the restarted old primary is planned; a grant to the peer is
 *   unplanned and `stale` (it lost its primary past the claim window, out of sync); none = `missing`.
 * @returns {{planned: object[], unplanned: object[], missing: boolean, stale: number, ok: boolean, why: string[]}}
 */
export function classifyFailovers(changes, expect, oldPrimary) {
  const grants = changes.filter(isGrant);
  const planned = [], unplanned = [], why = [];
  let stale = 0;
  const plannedTo = expect === 'peer' ? (s) => s !== oldPrimary : expect === 'reclaim' || expect === 'restarted' ? (s) => s === oldPrimary : () => false;
  for (const g of grants) {
    if (planned.length === 0 && plannedTo(g.server)) { planned.push(g); continue; }
    unplanned.push(g);
    if ((expect === 'reclaim' || expect === 'restarted') && g.server !== oldPrimary) stale++;
    why.push(`unplanned: ${g.server} ${g.from} -> primary, epoch ${g.oldEpoch} -> ${g.epoch}${g.reason ? ` (${g.reason})` : ''}`);
  }
  const missing = (expect === 'peer' || expect === 'restarted') && planned.length === 0;
  if (missing) why.push(`missing: the ${expect === 'peer' ? 'peer' : 'restarted server'} never became primary`);
  if (stale) why.push(`stale: ${stale} grant(s) to a backup that was not in sync`);
  return { planned, unplanned, missing, stale, ok: unplanned.length === 0 && !missing, why };
}

const describe = (name, h) => {
  if (!h) return `${name}: no answer`;
  const st = h.haState ?? h.role;
  return `${name}: ${st}${h.role === 'primary' ? (h.serving ? ' serving' : ' NOT serving') : ''} epoch ${h.epoch ?? '?'} sync ${h.syncState ?? '?'}${h.switchLink && h.switchLink !== 'up' ? ` switchLink ${h.switchLink}` : ''}`;
};

/**
 * The pair is recovered when exactly one server is a serving primary with its switch link up and a
 * backup in sync (syncState 'in-sync'), and the other is a backup in sync (haState 'backup-in-sync',
 * syncState 'in-sync'). `health` maps a server name to its /healthz body (undefined: no answer).
 * @returns {{ok: boolean, primary?: string, why: string}}
 */
export function pairRecovered(health) {
  const names = Object.keys(health).sort();
  const why = names.map((n) => describe(n, health[n])).join('; ');
  const primaries = names.filter((n) => health[n]?.role === 'primary' && (health[n].haState ?? 'primary') === 'primary');
  if (primaries.length !== 1) return { ok: false, why: `${primaries.length} primaries: ${why}` };
  const p = primaries[0], ph = health[p];
  if (!ph.serving || ph.switchLink !== 'up' || ph.syncState !== 'in-sync') return { ok: false, primary: p, why };
  const others = names.filter((n) => n !== p);
  if (!others.every((n) => health[n]?.haState === 'backup-in-sync' && health[n]?.syncState === 'in-sync')) return { ok: false, primary: p, why };
  return { ok: true, primary: p, why };
}

/** The error answers a phase saw, by code, from `before`/`after` snapshots of a `{code: count}` map. */
export function countsBetween(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

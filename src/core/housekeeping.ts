// Time-driven work (the adapter calls handle({kind:'tick'}) at nextDeadline) and the bounds that keep
// every collection finite: journal by count and age, de-dup records by count and age, pending
// requests by age.
import type { CoreConfig, CoreState } from './api.js';
import { acdTick, distribute } from './acd.js';
import { stepAgent } from './agents.js';
import { defaultCoreConfig, pendingTimeout } from './config.js';
import { routeTick } from './routing.js';
import { oldestDedup } from './state.js';
import type { Tx } from './tx.js';

/**
 * What is due now, found through the derived timers (derived.ts): the work of a tick grows with what
 * is due, not with the agents, parked calls or pending requests held.
 */
export function onTick(tx: Tx): void {
  routeTick(tx);
  const { agents, pending } = tx.state;
  for (const [dn, a] of tx.state.timers.wrapUps.due(agents, tx.now)) {
    if (agents.get(dn) !== a || a.state !== 'AfterCallWork' || a.wrapUpUntil === undefined || a.wrapUpUntil > tx.now) continue;
    const step = stepAgent(tx, a.dn, { kind: 'wrapUpEnded' });
    if (step?.ok && step.to === 'Ready' && a.queue) distribute(tx, a.queue);
  }
  acdTick(tx);
  const timeout = pendingTimeout(tx.ctx.config);
  for (const [id, p] of tx.state.timers.pending.due(pending, tx.now - timeout)) {
    if (pending.get(id) !== p || p.since + timeout > tx.now) continue;
    // No dedup record: if the switch did run it, a retry gets the switch's duplicate answer.
    tx.del('pending', p.commandId);
    if (tx.state.dedup.has(p.commandId)) continue; // answered by an event; only the CommandResult was lost
    tx.error(p.clientName, p.referenceId, 'SwitchUnavailable', `the switch did not answer within ${timeout} ms: retry the request with the same referenceId`);
  }
}

/**
 * Run after every input: trim what is over its bounds.
 *
 * Dropping the journal's head moves the whole array (~0.2 ms at 100k entries, on the primary and again
 * on the backup), so the journal is trimmed in chunks: once over maxEvents, down to maxEvents - chunk;
 * once its oldest entry is past maxAgeMs, also what expires within the next ageSlack ms. The bounds
 * hold at all times; right after a trim the journal just reaches back a little less.
 */
export function trim(tx: Tx): void {
  const { journal, dedup } = tx.ctx.config;
  const j = tx.state.journal;
  const chunk = Math.min(1024, Math.floor(journal.maxEvents / 64));
  let upTo = j.length > journal.maxEvents ? j[j.length - journal.maxEvents + chunk - 1].seq : 0;
  const oldestAllowed = tx.now - journal.maxAgeMs;
  if (j.length > 0 && timeOf(j[0].event.time) < oldestAllowed) {
    const ageSlack = Math.min(1000, Math.floor(journal.maxAgeMs / 64));
    for (const e of j) {
      if (timeOf(e.event.time) >= oldestAllowed + ageSlack) break;
      upTo = Math.max(upTo, e.seq);
    }
  }
  if (upTo > 0) tx.journalTrim(upTo);
  const d = tx.state.dedup;
  for (let o = oldestDedup(tx.state); o; o = oldestDedup(tx.state)) {
    if (d.size <= dedup.maxRecords && o.record.at >= tx.now - dedup.maxAgeMs) break;
    tx.del('dedup', o.key);
  }
}

/**
 * An event's ISO time in ms. Asked after every input for the journal's oldest entry (trim and
 * nextDeadline), whose time rarely changes: the last answer is kept (events of one millisecond share
 * one time string, tx.ts isoTime), so Date.parse runs once per new oldest time, not twice per input.
 */
let lastTime: { iso: string; ms: number } = { iso: '', ms: 0 };
function timeOf(iso: string | undefined): number {
  if (!iso) return 0;
  if (iso !== lastTime.iso) lastTime = { iso, ms: Date.parse(iso) };
  return lastTime.ms;
}

/** When the adapter should tick next (ms), or undefined when nothing is waiting on time. */
export function nextDeadline(state: CoreState, config: CoreConfig = defaultCoreConfig()): number | undefined {
  let min: number | undefined;
  const at = (t: number | undefined): void => {
    if (t !== undefined && (min === undefined || t < min)) min = t;
  };
  // The derived timers (derived.ts) hold each collection's earliest time: no scan per input.
  const { timers } = state;
  at(timers.routes.min(state.routeRequests));
  at(timers.wrapUps.min(state.agents));
  const timeout = pendingTimeout(config);
  const offer = timers.offers.min(state.queueEntries);
  if (offer !== undefined) at(offer + timeout);
  const pending = timers.pending.min(state.pending);
  if (pending !== undefined) at(pending + timeout);
  if (state.journal.length > 0) at(timeOf(state.journal[0].event.time) + config.journal.maxAgeMs);
  const first = oldestDedup(state);
  if (first) at(first.record.at + config.dedup.maxAgeMs);
  return min;
}

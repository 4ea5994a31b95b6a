// Read-only views of the state for the gateway: what a DN looks like, who registered what, replay.
import type { CoreState, JournalEntry, QueueEntry } from './api.js';
import type { EventOf } from '../protocol/messages.js';
import { callInfo } from './call-events.js';
import { journalEntriesAfter } from './journal-index.js';

export function registeredDNs(state: CoreState, clientName: string): string[] {
  return [...(state.registrations.get(clientName)?.dns ?? [])];
}

/** EventAddressInfo content for a DN: its type, its agent, the calls on it. (EventRegistered reuses it.) */
export function describeDN(state: CoreState, dn: string): EventOf<'EventAddressInfo'> {
  const ev: EventOf<'EventAddressInfo'> = { event: 'EventAddressInfo', thisDN: dn, calls: [] };
  const device = state.devices.get(dn);
  if (device) ev.thisDNType = device.type;
  if (device?.outOfService) ev.outOfService = true;
  const agent = state.agents.get(dn);
  if (agent) {
    ev.agentId = agent.agentId;
    ev.agentState = agent.state;
    ev.workMode = agent.workMode;
    if (agent.queue) ev.thisQueue = agent.queue;
    if (agent.reasons) ev.reasons = agent.reasons;
  } else if (device?.type === 'Extension') {
    ev.agentState = 'LoggedOut';
  }
  const calls = [...(state.callsByDN.get(dn) ?? [])].map((id) => state.calls.get(id)).filter((c) => c !== undefined);
  ev.calls = calls.sort((a, b) => (a.connId < b.connId ? -1 : 1)).map((c) => callInfo(c, dn));
  return ev;
}

/**
 * The journalled events after `afterSeq` about the DNs `clientName` registered, in seq order; or the
 * oldest seq still held when the journal no longer reaches back to afterSeq + 1 (ReplayGap).
 */
export function replay(state: CoreState, clientName: string, afterSeq: number): { ok: true; entries: JournalEntry[] } | { ok: false; oldestSeq: number } {
  if (afterSeq >= state.seq) return { ok: true, entries: [] };
  const oldest = state.journal.length > 0 ? state.journal[0].seq : state.seq + 1;
  if (oldest > afterSeq + 1) return { ok: false, oldestSeq: oldest };
  // The journal's DN index: only this client's DNs are read, not the whole tail (journal-index.ts).
  return { ok: true, entries: journalEntriesAfter(state, registeredDNs(state, clientName), afterSeq) };
}

/** The callers waiting in queue `dn`, oldest first (the derived line: no sort, no scan of other queues). */
export function waitingCallers(state: CoreState, dn: string): QueueEntry[] {
  const line = state.queueIndex.lines.get(dn);
  return line ? [...line.ordered()].map(([, e]) => e) : [];
}

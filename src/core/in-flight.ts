// Commands this core sent that have not settled yet: client requests still pending (their command)
// and ACD offers still in flight (the Deflect to the reserved agent). A primary re-sends exactly
// these, with their command ids, when its switch link comes up (a reclaim after a blip, or a
// promotion): a command dropped while the lease could not be trusted, or whose result went down
// with the old stream, would otherwise wait for the pending timeout (a failed request, a caller and
// a reserved agent kept waiting). The switch runs a command id at most once and answers a repeat
// with the stored first result, so re-sending one that did run changes nothing.
import type { CoreState, SwitchCommand } from './api.js';

export function commandsInFlight(state: CoreState): SwitchCommand[] {
  const out: SwitchCommand[] = [];
  for (const p of state.pending.values()) if (p.command) out.push(p.command);
  for (const [connId, w] of state.timers.offers.due(state.queueEntries, Number.MAX_SAFE_INTEGER)) {
    const call = w.offer ? state.calls.get(connId) : undefined;
    if (call) out.push({ commandId: w.offer!.commandId, deflect: { callId: call.switchCallId, dn: w.queue, to: w.offer!.agentDn } });
  }
  return out;
}

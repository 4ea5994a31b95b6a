// Binds the switch-link adapter (switch-link.ts) to the real gRPC link client: one link per
// connection attempt. Hello is the adapter's job (it knows the name and secret), so the client is
// opened with hello:false. Kept tiny so the adapter stays testable with a fake transport.
// Inbound messages go through a per-turn budget (turn-budget.ts): a backlog of switch events is
// spread over turns instead of one long turn that starves timers, acks and the liveness watchdog.
import { performance } from 'node:perf_hooks';
import { TurnBudget } from '../../lib/turn-budget.js';
import { openLink } from './link-client.js';
import type { OpenTransport } from './switch-link.js';
import type { TlsMaterial } from '../../lib/tls.js';

/** Transports to the switch at host:port. */
export function openSwitchTransport(address: string, serverName: string, tls?: TlsMaterial): OpenTransport {
  return (h) => {
    const link = openLink({ address, serverName, hello: false, ...(tls ? { tls } : {}) });
    const inbound = new TurnBudget({
      handle: (m: Parameters<typeof h.onMessage>[0]) => h.onMessage(m),
      ...SWITCH_INBOUND_BUDGET,
      pause: () => link.pause(), resume: () => link.resume(),
      now: () => performance.now(), later: (fn) => setImmediate(fn),
    });
    link.on('message', (m) => inbound.push(m));
    link.on('close', (err) => inbound.onDrained(() => h.onClose(err ? err.message : 'link closed')));
    return {
      send: (m) => link.send(m),
      close: () => link.close(),
      inboundQueued: () => inbound.queued,
    };
  };
}

/**
 * Switch input per event-loop turn: at most ~25 ms of it, the rest in the next turns; above 64 queued
 * messages (each an EventBatch of up to 1,000 events) the stream is paused until 16 are left.
 */
export const SWITCH_INBOUND_BUDGET = { budgetMs: 25, highWater: 64, lowWater: 16 };

// Delivery of released batches to the desktops: each state event serialized once and sent to every
// client that registered its DN and whose token scope allows that DN, the requester's copy with its
// referenceId; session answers, broadcasts, index updates. And the requests/outcome metric of the
// requests the core answered (counted once, when the answer is delivered).
import type { Logger } from '../common/log.js';
import type { Registration } from '../core/index.js';
import { answerText, eventText } from '../core/journal-text.js';
import type { Request, RequestName, TEvent } from '../protocol/messages.js';
import type { Metrics } from '../tserver/metrics.js';
import type { BatchCollector, OutboundBatch } from '../tserver/outbound.js';
import type { DnIndex } from './dn-index.js';
import { CLOSE, type Session } from './session.js';

export interface DeliveryTargets {
  batch: BatchCollector;
  index: DnIndex;
  /** clientName -> its one open session. */
  byClient: ReadonlyMap<string, Session>;
  sessions: ReadonlySet<Session>;
  /** Refused RequestOpen answers: the session is closed once this event went out. */
  closeAfterAnswer: WeakSet<TEvent>;
  indexedFrom: Map<string, Registration>;
  outcomes: RequestOutcomes;
}

/** Answers remembered for the requests/outcome metric: bounded, oldest forgotten first. */
const MAX_TRACKED_REQUESTS = 50_000;

export class RequestOutcomes {
  private readonly pendingTypes = new Map<string, RequestName>();

  constructor(private readonly metrics: Metrics, private readonly log: Logger) {}

  track(name: string, req: Request): void {
    if (this.pendingTypes.size >= MAX_TRACKED_REQUESTS) {
      const oldest = this.pendingTypes.keys().next().value;
      if (oldest !== undefined) this.pendingTypes.delete(oldest);
    }
    this.pendingTypes.set(`${name}#${req.referenceId}`, req.request);
  }

  /** Counts the answer to a core-handled request once (its outcome: ok or the error code). */
  answered(clientName: string, ev: TEvent, referenceId = ev.referenceId): void {
    if (referenceId === undefined) return;
    const key = `${clientName}#${referenceId}`;
    const request = this.pendingTypes.get(key);
    if (!request) return;
    this.pendingTypes.delete(key);
    const outcome = ev.event === 'EventError' ? (ev.errorCode ?? 'error') : 'ok';
    this.metrics.inc('tandem_requests_total', { request, outcome });
    if (ev.event === 'EventError') {
      this.log.warn({ clientName, request, referenceId, errorCode: ev.errorCode, errorMessage: ev.errorMessage }, 'request rejected');
    }
  }
}

/**
 * Delivers one released batch, in order. Each state event is serialized once (eventText: the same
 * text the sync stream carried), the requester's copy by adding its referenceId to that text; a
 * broadcast is encoded once into one Buffer for every connection. The sessions cork their sockets
 * while the batch is delivered (session.ts): one write per socket per batch.
 */
export function deliverBatch(t: DeliveryTargets, batch: OutboundBatch): void {
  t.batch.released(batch.id);
  for (const item of batch.items) {
    switch (item.kind) {
      case 'event': {
        const { entry } = item;
        const answerTo = entry.answer?.clientName;
        const targets = t.index.clients(entry.dn);
        if (targets) {
          for (const name of targets) {
            if (name === answerTo) continue;
            const s = t.byClient.get(name);
            // Token scope on every delivery: registrations restored from an earlier, wider token are not served.
            if (s && (!s.scope || s.scope.has(entry.dn))) s.send(eventText(entry));
          }
        }
        if (entry.answer) {
          const { clientName, referenceId } = entry.answer;
          t.outcomes.answered(clientName, entry.event, referenceId);
          t.byClient.get(clientName)?.send(answerText(entry, referenceId));
        }
        break;
      }
      case 'reply':
        t.outcomes.answered(item.clientName, item.event);
        t.byClient.get(item.clientName)?.send(JSON.stringify(item.event));
        break;
      case 'session':
        (item.session as Session).send(JSON.stringify(item.event));
        if (t.closeAfterAnswer.has(item.event)) (item.session as Session).close(CLOSE.unauthorized, 'unauthorized');
        break;
      case 'broadcast': {
        const frame = Buffer.from(JSON.stringify(item.event), 'utf8');
        for (const s of t.sessions) s.send(frame);
        break;
      }
      case 'registrations':
        t.index.set(item.clientName, item.dns);
        t.indexedFrom.delete(item.clientName); // set from a request now: the next reindexAll re-reads it
        break;
      default: {
        const never: never = item;
        throw new Error(`unknown outgoing item ${JSON.stringify(never)}`);
      }
    }
  }
}

// Delivery of released batches to the desktops: each state event serialized once and sent to every
// client that registered its DN and whose token scope allows that DN, the requester's copy with its
// referenceId; session answers, broadcasts, index updates. And the requests/outcome metric of the
// requests the core answered (counted once, when the answer is delivered).
import type { Logger } from '../../lib/log.js';
import { answerText, eventText, forgetText } from '../../core/journal-text.js';
import type { Request, RequestName, TEvent } from '../../protocol/messages.js';
import type { Metrics } from '../../lib/metrics/metrics.js';
import type { BatchCollector, FollowUps, OutboundBatch, Outgoing } from '../../pipeline/outbound.js';
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

/** A broadcast delivered to every connection it had when it began. */
export interface BroadcastDone { event: TEvent; sessions: number; turns: number; ms: number }

/** Frames handed to sockets per event-loop turn at most; the rest of the batch (and the batches behind it) in the next turns. */
export const MAX_FRAMES_PER_TURN = 1000;

/**
 * Delivers released batches, in order. Each state event is serialized once (eventText: the same text
 * the sync stream carried), the requester's copy by adding its referenceId to that text; a broadcast
 * is encoded once into one Buffer for every connection. The sessions cork their sockets while a turn
 * delivers (session.ts): one write per socket per turn.
 *
 * Bounded per turn: a broadcast reaches every connection (EventServerInfo on a role change,
 * EventLinkConnected), and with 5,000 desktops one synchronous pass was 5,000 socket writes in a single
 * turn at the very moment of a promotion, starving the liveness watchdog (it released the new
 * primary's lease: a failover storm). At most `framesPerTurn` frames go out per turn; the rest of the
 * batch, and every batch behind it, wait for the next turn (setImmediate), so each connection still
 * sees frames in batch order. An empty queue delivers synchronously, as before.
 */
export class DeliveryQueue {
  private readonly queue: OutboundBatch[] = [];
  /** Index of the next item of queue[0] to deliver. */
  private item = 0;
  /**
   * A broadcast being delivered across turns: its parts, its recipients (taken when it began), the
   * next one. The parts are the consecutive broadcast items at the end of queue[0] (`inFirst` of
   * them) and of the broadcast-only batches queued right behind it (`merged` batches): e.g.
   * EventLinkConnected and EventServerInfo at a promotion, or a demoted primary's EventServerInfo,
   * EventLinkDisconnected and EventServerInfo, made in turns a few ms apart while the first was still
   * going out to 5,000 desktops. Each connection gets them all in one write, in batch order.
   */
  private broadcast: { parts: BroadcastPart[]; to: Session[]; next: number; turns: number; inFirst: number; merged: number } | undefined;
  /** When each queued batch was pushed (ms), parallel to `queue`. */
  private readonly pushedAt: number[] = [];
  private scheduled = false;
  private draining = false;
  private closed = false;

  /**
   * @param broadcastDone told when a broadcast reached its last connection: how many, over how many
   *   turns, how long after its batch was pushed (released) — the gateway logs it.
   */
  constructor(private readonly t: DeliveryTargets, private readonly framesPerTurn = MAX_FRAMES_PER_TURN,
    private readonly broadcastDone?: (d: BroadcastDone) => void) {}

  /** Batches not fully delivered yet. */
  get backlog(): number { return this.queue.length; }

  push(batch: OutboundBatch): void {
    if (this.closed) return;
    this.queue.push(batch);
    this.pushedAt.push(Date.now());
    if (!this.scheduled && !this.draining) this.drain();
  }

  /** Stops: whatever is queued is dropped (the gateway is closing). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.pushedAt.length = 0;
    this.broadcast = undefined;
  }

  /** The broadcast starting at queue[0].items[this.item], with the broadcast-only batches right behind it (released now, in order). */
  private beginBroadcast(first: OutboundBatch): NonNullable<DeliveryQueue['broadcast']> {
    const parts = broadcastParts(first.items, this.item, this.pushedAt[0]!);
    const inFirst = parts.length;
    let merged = 0;
    if (this.item + inFirst === first.items.length) {
      for (let k = 1; k < this.queue.length && this.queue[k]!.items.every((i) => i.kind === 'broadcast'); k++, merged++) {
        this.t.batch.released(this.queue[k]!.id);
        parts.push(...broadcastParts(this.queue[k]!.items, 0, this.pushedAt[k]!));
      }
    }
    return { parts, to: [...this.t.sessions], next: 0, turns: 0, inFirst, merged };
  }

  private drain(): void {
    this.scheduled = false;
    this.draining = true;
    let budget = this.framesPerTurn;
    try {
      while (this.queue.length > 0 && budget > 0) {
        const batch = this.queue[0]!;
        if (this.item === 0 && !this.broadcast) this.t.batch.released(batch.id);
        while (this.item < batch.items.length && budget > 0) {
          const item = batch.items[this.item]!;
          if (item.kind === 'broadcast') {
            const b = (this.broadcast ??= this.beginBroadcast(batch));
            b.turns++;
            while (b.next < b.to.length && budget > 0) {
              budget -= sendBroadcast(b.to[b.next++]!, b.parts);
            }
            if (b.next < b.to.length) break;
            this.broadcast = undefined;
            for (const part of b.parts) this.broadcastDone?.({ event: part.event, sessions: b.to.length, turns: b.turns, ms: Date.now() - part.pushedAt });
            this.item += b.inFirst;
            this.queue.splice(1, b.merged);
            this.pushedAt.splice(1, b.merged);
            continue;
          }
          budget -= deliverItem(this.t, item);
          this.item++;
        }
        if (this.item < batch.items.length) break;
        this.queue.shift();
        this.pushedAt.shift();
        this.item = 0;
      }
    } finally {
      this.draining = false;
    }
    if (this.queue.length > 0 && !this.closed) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }
}

/** Delivers one released batch at once, in order (no per-turn bound: tests and tools). */
export function deliverBatch(t: DeliveryTargets, batch: OutboundBatch): void {
  t.batch.released(batch.id);
  for (const item of batch.items) {
    if (item.kind !== 'broadcast') {
      deliverItem(t, item);
      continue;
    }
    const parts = broadcastParts([item], 0, Date.now());
    for (const s of t.sessions) sendBroadcast(s, parts);
  }
}

/** One broadcast item, encoded once for every connection; `pushedAt` is its batch's. */
interface BroadcastPart { frame: Buffer; event: TEvent; followUps: FollowUps | undefined; pushedAt: number }

/** The broadcast at items[from] and the broadcasts right behind it in the same batch. */
function broadcastParts(items: readonly Outgoing[], from: number, pushedAt: number): BroadcastPart[] {
  const parts: BroadcastPart[] = [];
  for (let i = from; i < items.length; i++) {
    const item = items[i]!;
    if (item.kind !== 'broadcast') break;
    parts.push({ frame: Buffer.from(JSON.stringify(item.event), 'utf8'), event: item.event, followUps: item.followUps, pushedAt });
  }
  return parts;
}

/** Every part to one connection, each followed by its follow-ups for it; returns the frames sent. */
function sendBroadcast(s: Session, parts: readonly BroadcastPart[]): number {
  let frames = 0;
  for (const p of parts) {
    s.send(p.frame);
    const more = p.followUps?.get(s);
    if (more) for (const f of more) s.send(f);
    frames += 1 + (more?.length ?? 0);
  }
  return frames;
}

/** Delivers one item other than a broadcast; returns the frames it sent (at most). */
function deliverItem(t: DeliveryTargets, item: Exclude<Outgoing, { kind: 'broadcast' }>): number {
  switch (item.kind) {
    case 'event': {
      const { entry } = item;
      const answerTo = entry.answer?.clientName;
      const targets = t.index.clients(entry.dn);
      let frames = 0;
      if (targets) {
        for (const name of targets) {
          if (name === answerTo) continue;
          const s = t.byClient.get(name);
          // Token scope on every delivery: registrations restored from an earlier, wider token are not served.
          if (s && (!s.scope || s.scope.has(entry.dn))) {
            s.send(eventText(entry));
            frames++;
          }
        }
      }
      if (entry.answer) {
        const { clientName, referenceId } = entry.answer;
        t.outcomes.answered(clientName, entry.event, referenceId);
        t.byClient.get(clientName)?.send(answerText(entry, referenceId));
        frames++;
      }
      forgetText(entry);
      return frames;
    }
    case 'reply':
      t.outcomes.answered(item.clientName, item.event);
      t.byClient.get(item.clientName)?.send(JSON.stringify(item.event));
      return 1;
    case 'session':
      (item.session as Session).send(JSON.stringify(item.event));
      if (t.closeAfterAnswer.has(item.event)) (item.session as Session).close(CLOSE.unauthorized, 'unauthorized');
      return 1;
    case 'registrations':
      t.index.set(item.clientName, item.dns);
      return 0;
    default: {
      const never: never = item;
      throw new Error(`unknown outgoing item ${JSON.stringify(never)}`);
    }
  }
}

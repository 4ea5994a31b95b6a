// One client's link as the switch sees it: who it is, and an outbox written once per event-loop
// turn. Everything for a link (events, results, lease notices) goes through the same outbox in the
// order it happened, so a CommandResult can never overtake the events its command caused.
import { randomBytes } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { sw } from '../../wire/switch-proto.js';
import type { LinkUpFrame } from '../../wire/switch-service.js';
import type { Logger } from '../../lib/log.js';
import type { JunkLog } from '../../lib/junk-log.js';
import { secretMatches, SWITCH_SECRET_ENV } from '../../lib/peer-auth.js';

/** Events per EventBatch at most: keeps one gRPC message well under the 4 MB default limit. */
export const MAX_BATCH = 1000;
/** Messages per LinkDownBatch at most; with MAX_BATCH events in all, it stays as small as an EventBatch. */
export const MAX_ENVELOPE = 64;

export class SwitchLinkPeer {
  /** Set by Hello; "" before. */
  serverName = '';
  /** True once Hello was accepted; events flow to the link only then. */
  welcomed = false;
  /** True once the stream ended, was cancelled or failed; nothing is written after. */
  closed = false;
  /**
   * Renewer link (Hello.renews): the id of the link whose lease this one renews; undefined for an
   * ordinary link. A renewer gets no events (its owner's main link does) and may not claim or command.
   */
  renewsFor: number | undefined;
  /** Hello.batches: the client reads LinkDown.batch, so a turn's messages travel as one. */
  batches = false;
  /** Hello.eventsAsHolderOnly: events only while this link holds the lease. */
  eventsAsHolderOnly = false;
  /** Sent in Welcome: a link whose Hello.renews equals it renews this link's lease. Random, unguessable. */
  readonly renewToken = randomBytes(16).toString('hex');
  private outbox: sw.ILinkDown[] = [];

  constructor(readonly id: number, readonly peer: string, private readonly stream: ServerDuplexStream<LinkUpFrame, sw.ILinkDown>) {}

  get label(): string { return this.serverName || `link#${this.id}`; }

  queue(msg: sw.ILinkDown): void {
    if (!this.closed) this.outbox.push(msg);
  }

  /** Appends events, extending the batch at the tail of the outbox when there is one. */
  queueEvents(events: sw.ISwitchEvent[]): void {
    if (this.closed || events.length === 0) return;
    let i = 0;
    while (i < events.length) {
      const tail = this.outbox[this.outbox.length - 1];
      const batch = tail?.events?.events;
      if (batch && batch.length < MAX_BATCH) {
        const n = Math.min(MAX_BATCH - batch.length, events.length - i);
        for (let k = 0; k < n; k++) batch.push(events[i + k]!);
        i += n;
      } else {
        this.outbox.push({ events: { events: [] } });
      }
    }
  }

  get pending(): number { return this.outbox.length; }

  /**
   * Writes the outbox to the stream: one LinkDownBatch per turn for a link that reads them (at most
   * MAX_ENVELOPE messages or MAX_BATCH events each), else message by message. grpc-js buffers when the
   * peer is slow.
   */
  flush(): void {
    if (this.closed) { this.outbox = []; return; }
    const out = this.outbox;
    this.outbox = [];
    if (!this.batches) {
      for (const m of out) this.stream.write(m);
      return;
    }
    let envelope: sw.ILinkDown[] = [];
    let events = 0;
    const send = () => {
      if (envelope.length === 1) this.stream.write(envelope[0]!);
      else if (envelope.length > 1) this.stream.write({ batch: { msgs: envelope } });
      envelope = [];
      events = 0;
    };
    for (const m of out) {
      const n = m.events?.events?.length ?? 0;
      if (envelope.length > 0 && (envelope.length >= MAX_ENVELOPE || events + n > MAX_BATCH)) send();
      envelope.push(m);
      events += n;
    }
    send();
  }

  /** Flushes, then ends the stream (e.g. after Unauthorized). */
  end(): void {
    this.flush();
    this.closed = true;
    try { this.stream.end(); } catch { /* already gone */ }
  }
}

/**
 * A Hello's credentials: the switch secret (when one is set) and, for a renewer link, a renew token
 * naming an open link. Refused: the Error is queued, the link ended, and false returned.
 */
export function admitHello(link: SwitchLinkPeer, hello: sw.IHello, ctx: { secret: string | undefined; links: Iterable<SwitchLinkPeer>; junk: JunkLog; logger: Logger }): boolean {
  // Constant-time (peer-auth.ts); an empty or missing secret never matches a configured one.
  if (ctx.secret && !secretMatches(ctx.secret, hello.secret ?? '')) {
    ctx.junk.report(link.peer, { link: link.id, serverName: hello.serverName }, 'Hello with a wrong secret: link closed');
    link.queue({ error: { code: 'Unauthorized', message: `wrong or missing secret in Hello: use the switch secret (${SWITCH_SECRET_ENV}, --secret-file or switch.secret; under tandem pair, <log-dir>/switch.secret; docs/peer-auth.md)` } });
    link.end();
    return false;
  }
  if (hello.renews) {
    let target: SwitchLinkPeer | undefined;
    for (const l of ctx.links) if (l.welcomed && l.renewsFor === undefined && l.renewToken === hello.renews) target = l;
    if (!target) {
      ctx.logger.warn({ component: 'link', link: link.id, serverName: hello.serverName }, 'renewer Hello with an unknown renew token: link closed');
      link.queue({ error: { code: 'UnknownRenewToken', message: 'Hello.renews names no open link of this switch (it closed or the switch restarted): use the renew_token of the current Welcome' } });
      link.end();
      return false;
    }
    link.renewsFor = target.id;
  }
  return true;
}

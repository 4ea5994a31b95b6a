// The RFC 3261 §17 transaction layer (with RFC 6026's Accepted state): retransmissions over UDP,
// absorbing retransmitted requests, ACK for non-2xx, 2xx retransmitted until the ACK, and timeouts
// reported as a synthesized 408. The dialog layer above sees each request and each final response once.
import { header, parseCSeq, parseVia, responseTo, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import type { Flow } from './transport.js';

export const T1 = 500;
export const T2 = 4_000;
/** Timers B, F, H, J: 64·T1. */
export const TX_TIMEOUT = 64 * T1;

export interface ServerTransaction {
  readonly req: SipRequest;
  readonly from: Flow;
  /** The last response sent, if any. */
  readonly last?: SipResponse;
  respond(res: SipResponse): void;
}

export interface ClientCallbacks {
  provisional?(res: SipResponse): void;
  /** Exactly once: the first final response, or a synthesized 408 when nothing came in time. */
  final(res: SipResponse): void;
}

export interface TransactionUser {
  /** A new request (never a retransmission). ACKs for 2xx arrive here with `tx` undefined. */
  request(req: SipRequest, tx: ServerTransaction | undefined): void;
  /** A 2xx we sent was never ACKed within 64·T1 (the dialog should be ended with BYE). */
  ackTimeout(tx: ServerTransaction): void;
}

interface Sender { send(msg: SipMessage, to: Flow): void }

class ServerTx implements ServerTransaction {
  last?: SipResponse;
  timer?: NodeJS.Timeout;
  acked = false;

  constructor(readonly req: SipRequest, readonly from: Flow, private readonly layer: TransactionLayer, readonly key: string) {}

  respond(res: SipResponse): void {
    if (this.last && this.last.status >= 200) return; // a transaction has one final response
    this.last = res;
    this.layer.out.send(res, this.from);
    if (res.status < 200) return;
    this.layer.serverFinal(this);
  }
}

interface ClientTx {
  req: SipRequest;
  to: Flow;
  cb: ClientCallbacks;
  done: boolean;
  provisional: boolean;
  retransmit?: NodeJS.Timeout;
  timeout?: NodeJS.Timeout;
  /** INVITE: the ACK sent for the final response, resent when the response is retransmitted. */
  ack?: SipRequest;
}

export class TransactionLayer {
  private readonly servers = new Map<string, ServerTx>();
  /** 2xx to INVITE waiting for the ACK, by Call-ID and CSeq number. */
  private readonly awaitingAck = new Map<string, ServerTx>();
  private readonly clients = new Map<string, ClientTx>();

  constructor(readonly out: Sender, private readonly tu: TransactionUser) {}

  /** Everything the transport parsed. */
  receive(msg: SipMessage, from: Flow): void {
    if (msg.kind === 'response') return this.onResponse(msg);
    const branch = topBranch(msg);
    if (msg.method === 'ACK') {
      const inv = this.servers.get(`${branch}|INVITE`);
      if (inv && inv.last && inv.last.status >= 300) { inv.acked = true; return this.finish(inv, TX_TIMEOUT / 8); }
      const acc = this.awaitingAck.get(ackKey(msg));
      if (acc) { acc.acked = true; this.awaitingAck.delete(ackKey(msg)); clearTimeout(acc.timer); }
      return this.tu.request(msg, undefined);
    }
    const key = `${branch}|${msg.method}`;
    const existing = branch ? this.servers.get(key) : undefined;
    if (existing) {
      if (existing.last) this.out.send(existing.last, from);
      return;
    }
    const tx = new ServerTx(msg, from, this, key);
    if (branch) this.servers.set(key, tx);
    // INVITE: 100 Trying at once stops the caller's retransmissions while the dial plan is consulted.
    if (msg.method === 'INVITE') tx.respond(responseTo(msg, 100, 'Trying'));
    this.tu.request(msg, tx);
  }

  /** The INVITE server transaction a CANCEL names (same top Via branch). */
  inviteFor(cancel: SipRequest): ServerTransaction | undefined {
    return this.servers.get(`${topBranch(cancel)}|INVITE`);
  }

  serverFinal(tx: ServerTx): void {
    const res = tx.last!;
    const udp = tx.from.protocol === 'UDP';
    if (tx.req.method !== 'INVITE') return this.finish(tx, udp ? TX_TIMEOUT : 0);
    if (res.status >= 300) {
      // Non-2xx: resend until the ACK (Timer G), give up at Timer H.
      if (udp) this.every(tx, () => !tx.acked, () => this.out.send(res, tx.from));
      return this.finish(tx, TX_TIMEOUT);
    }
    // 2xx: resent until the ACK (a new transaction at the dialog layer), then the dialog goes on.
    const key = `${header(tx.req, 'call-id')}|${parseCSeq(header(tx.req, 'cseq')!)!.seq}`;
    this.awaitingAck.set(key, tx);
    if (udp) this.every(tx, () => !tx.acked, () => this.out.send(res, tx.from));
    const timeout = setTimeout(() => {
      if (this.awaitingAck.get(key) === tx) {
        this.awaitingAck.delete(key);
        clearTimeout(tx.timer);
        this.tu.ackTimeout(tx);
      }
    }, TX_TIMEOUT);
    timeout.unref();
    this.finish(tx, TX_TIMEOUT);
  }

  private every(tx: ServerTx, more: () => boolean, send: () => void): void {
    let interval = T1;
    const tick = () => afterInput(() => {
      if (!more()) return;
      send();
      interval = Math.min(interval * 2, T2);
      tx.timer = setTimeout(tick, interval);
    });
    tx.timer = setTimeout(tick, interval);
  }

  private finish(tx: ServerTx, afterMs: number): void {
    const t = setTimeout(() => { clearTimeout(tx.timer); if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key); }, afterMs);
    t.unref();
  }

  /** Sends a request in a new client transaction; the request's top Via carries a fresh branch. */
  request(req: SipRequest, to: Flow, cb: ClientCallbacks): void {
    const key = `${topBranch(req)}|${req.method}`;
    const c: ClientTx = { req, to, cb, done: false, provisional: false };
    this.clients.set(key, c);
    this.out.send(req, to);
    if (to.protocol === 'UDP') {
      let interval = T1;
      const tick = () => afterInput(() => {
        if (c.done || (c.provisional && req.method === 'INVITE')) return;
        this.out.send(req, to);
        interval = c.provisional ? T2 : Math.min(interval * 2, req.method === 'INVITE' ? Number.MAX_SAFE_INTEGER : T2);
        c.retransmit = setTimeout(tick, interval);
      });
      c.retransmit = setTimeout(tick, interval);
    }
    c.timeout = setTimeout(() => {
      if (c.done || (c.provisional && req.method === 'INVITE')) return; // an INVITE that rings waits for its TU (CANCEL)
      c.done = true;
      clearTimeout(c.retransmit);
      this.clients.delete(key);
      cb.final(responseTo(req, 408, 'Request Timeout (no response)'));
    }, TX_TIMEOUT);
    c.timeout.unref();
  }

  /** The ACK for a 2xx (its own transaction-less request); resent if the 2xx is retransmitted. */
  ack2xx(invite: SipRequest, ack: SipRequest, to: Flow): void {
    const c = this.clients.get(`${topBranch(invite)}|INVITE`);
    if (c) c.ack = ack;
    this.out.send(ack, to);
  }

  private onResponse(res: SipResponse): void {
    const cseq = parseCSeq(header(res, 'cseq')!)!;
    const key = `${topBranch(res)}|${cseq.method}`;
    const c = this.clients.get(key);
    if (!c) return; // stray: a late retransmission of a transaction long gone
    if (res.status < 200) {
      if (c.done) return;
      c.provisional = true;
      c.cb.provisional?.(res);
      return;
    }
    if (c.done) {
      if (c.ack) this.out.send(c.ack, c.to); // our ACK was lost: the final response came again
      return;
    }
    c.done = true;
    clearTimeout(c.retransmit);
    clearTimeout(c.timeout);
    if (c.req.method === 'INVITE' && res.status >= 300) {
      c.ack = nonSuccessAck(c.req, res);
      this.out.send(c.ack, c.to);
    }
    // Kept a while to absorb retransmitted finals (resending the ACK).
    setTimeout(() => { if (this.clients.get(key) === c) this.clients.delete(key); }, c.req.method === 'INVITE' ? TX_TIMEOUT : T2 * 2).unref();
    c.cb.final(res);
  }

  close(): void {
    for (const s of this.servers.values()) clearTimeout(s.timer);
    for (const c of this.clients.values()) { clearTimeout(c.retransmit); clearTimeout(c.timeout); c.done = true; }
    this.servers.clear();
    this.clients.clear();
    this.awaitingAck.clear();
  }
}

function topBranch(m: SipMessage): string {
  const v = header(m, 'via');
  return (v && parseVia(v)?.params.branch) || '';
}

function ackKey(ack: SipRequest): string {
  return `${header(ack, 'call-id')}|${parseCSeq(header(ack, 'cseq')!)!.seq}`;
}

/** RFC 3261 §17.1.1.3: same R-URI, top Via, From, Call-ID and CSeq number; To from the response. */
function nonSuccessAck(inv: SipRequest, res: SipResponse): SipRequest {
  const pick = (n: string) => inv.headers.filter((h) => h.name === n).map((h) => ({ ...h }));
  const via = inv.headers.find((h) => h.name === 'via')!;
  return {
    kind: 'request', method: 'ACK', uri: inv.uri, body: '',
    headers: [{ ...via }, ...pick('route'), ...pick('from'), { name: 'to', value: header(res, 'to')! }, ...pick('call-id'),
      { name: 'cseq', value: `${parseCSeq(header(inv, 'cseq')!)!.seq} ACK` }, { name: 'max-forwards', value: '70' }],
  };
}

/**
 * Runs a retransmission after this loop turn's poll phase: when the loop was busy past T1, the answer
 * (or ACK) that waited in the socket is read first and nothing is resent. Otherwise the peer gets a
 * copy after it has moved on — under load a SIPp phone failed the call on a NOTIFY it had answered.
 */
function afterInput(fn: () => void): void {
  setImmediate(fn);
}

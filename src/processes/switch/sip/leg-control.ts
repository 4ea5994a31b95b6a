// What the B2BUA does to its legs: INVITE an endpoint (RFC 3725 third-party call control when the
// bridged leg has no offer to give), answer a caller's INVITE with the callee's answer, re-bridge two
// confirmed legs (offerless re-INVITE to one, its offer to the other, the answer back in the ACK),
// re-offers that report the endpoint's answer or refusal (hold, retrieve), NOTIFY talk, and end a leg with the message
// its phase calls for (CANCEL, BYE or a final response). Every SIP exchange on one dialog is
// serialized; a leg that ended meanwhile is left alone (a late 200 is ACKed and BYEd).
import type { Logger } from '../../../lib/log.js';
import { Leg, type LocalAddress, type LegTable } from './leg.js';
import { header, responseTo, type SipHeader, type SipRequest, type SipResponse } from './message.js';
import { answerFitting, directionOf, inactiveAnswer, isSdp, stamp } from './sdp.js';
import type { ClientCallbacks } from './transactions.js';
import type { Flow } from './transport.js';

export interface SipPort {
  readonly local: LocalAddress;
  request(req: SipRequest, to: Flow, cb: ClientCallbacks): void;
  ack2xx(invite: SipRequest, ack: SipRequest, to: Flow): void;
}

export interface LegEvents {
  /** A UAC leg's INVITE was answered (200 OK) and its media set up as far as its peer allows. */
  answered(leg: Leg): void;
  /** The endpoint refused or never answered our INVITE: the party leaves the call. */
  failed(leg: Leg, status: number, why: string): void;
  /** Its first 180/183: the phone rings (a deferred remote answer can go now). */
  ringing(leg: Leg): void;
}

/** A re-INVITE's outcome: the endpoint's answer, or its refusal (status 0: the dialog was gone). */
export type Reoffer = { ok: true; sdp: string } | { ok: false; status: number; reason: string };
/** A re-bridge's outcome: done, or which leg refused (both legs keep what they had). */
export type Bridged = { ok: true } | { ok: false; leg: Leg; status: number; reason: string };

export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, NOTIFY, INFO';

const sdpBody = (m: SipRequest | SipResponse) => (isSdp(m.body, header(m, 'content-type')) ? m.body : '');

export class LegControl {
  constructor(private readonly port: SipPort, private readonly legs: LegTable, private readonly events: LegEvents, private readonly log: Logger) {}

  /**
   * Runs `op` in the leg's exchange queue; never rejects: a bug in one exchange is logged and must
   * not become an unhandled rejection that stops the switch with every call on it.
   */
  exclusive(leg: Leg, op: () => Promise<void>): Promise<void> {
    return leg.serialize(op).catch((err: unknown) => this.log.error({ err, leg: leg.label }, 'internal error in a SIP exchange on this leg'));
  }

  /** The initial INVITE of a UAC leg: the peer's offer when it has one waiting, else none (3PCC). */
  invite(leg: Leg, autoAnswer: boolean): void {
    const peer = this.legs.peerOf(leg);
    const offer = peer?.phase === 'offered' ? peer.remoteSdp : '';
    const body = offer ? stamp(offer, leg.origin) : '';
    leg.localSdp = body;
    const extra: SipHeader[] = [{ name: 'allow', value: ALLOW }];
    // RFC 3725 §5 / draft-ietf-sip-answermode: the agent's own phone answers at once (Call-Info is what most phones read).
    if (autoAnswer) extra.push({ name: 'call-info', value: `<sip:${this.port.local.host}>;answer-after=0` }, { name: 'alert-info', value: '<http://127.0.0.1/auto>;info=alert-autoanswer' });
    const req = leg.request('INVITE', this.port.local, extra, body);
    leg.invite = req;
    leg.phase = 'inviting';
    this.log.debug({ leg: leg.label, offer: !!body, autoAnswer }, 'INVITE sent');
    this.port.request(req, leg.flow, {
      provisional: (res) => this.onProvisional(leg, res),
      final: (res) => this.onInviteFinal(leg, req, res),
    });
  }

  private onProvisional(leg: Leg, res: SipResponse): void {
    if (leg.phase !== 'inviting' || res.status < 180) return;
    const first = !leg.ringing;
    leg.ringing = true;
    leg.learnFromResponse(res);
    leg.talkAllowed = (header(res, 'allow-events') ?? '').split(',').some((e) => e.trim().toLowerCase() === 'talk');
    const peer = this.legs.peerOf(leg);
    if (peer?.phase === 'offered') this.ringback(peer);
    if (first) this.events.ringing(leg);
  }

  /** 180 Ringing to a waiting caller (once). */
  ringback(leg: Leg): void {
    const tx = leg.inviteTx;
    if (!tx || (tx.last && tx.last.status >= 180)) return;
    tx.respond(responseTo(tx.req, 180, 'Ringing', leg.localTag, [{ name: 'contact', value: contact(this.port.local, leg) }]));
  }

  private onInviteFinal(leg: Leg, req: SipRequest, res: SipResponse): void {
    if (res.status >= 300) {
      if (leg.phase === 'ended') return;
      this.legs.remove(leg);
      return this.events.failed(leg, res.status, `${res.status} ${res.reason}`);
    }
    leg.learnFromResponse(res);
    const ack = (body: string) => this.port.ack2xx(req, leg.request('ACK', this.port.local, [], body ? stamp(body, leg.origin) : '', cseqOf(req)), leg.flow);
    if (leg.phase === 'ended') {
      // Cancelled or released while the 200 was on its way: complete the handshake, then hang up.
      ack(isSdp(res.body, header(res, 'content-type')) && !leg.localSdp ? inactiveAnswer(res.body) : '');
      return this.bye(leg);
    }
    leg.phase = 'confirmed';
    const sdp = sdpBody(res);
    const peer = this.legs.peerOf(leg);
    if (leg.localSdp) {
      // We passed the caller's offer: this is the answer, the caller gets it in our 200.
      leg.remoteSdp = sdp;
      ack('');
      if (peer?.phase === 'offered' && sdp) this.answerOffered(peer, sdp);
      return this.events.answered(leg);
    }
    leg.remoteSdp = sdp;
    if (peer?.phase === 'confirmed' && sdp) {
      // RFC 3725 flow: the callee's offer goes to the confirmed peer; its answer comes back in our ACK.
      void this.exclusive(peer, async () => {
        const answer = await this.reinvite(peer, sdp);
        if (leg.phase === 'ended') return;
        leg.localSdp = answer || inactiveAnswer(sdp);
        ack(leg.localSdp);
        this.events.answered(leg);
      });
      return;
    }
    // Nobody to talk to yet (the 3PCC originator, or a peer still parked): a valid answer without media.
    leg.localSdp = sdp ? inactiveAnswer(sdp) : '';
    ack(leg.localSdp);
    if (peer?.phase === 'pending') this.invite(peer, false);
    this.events.answered(leg);
  }

  /** 200 OK to a caller's INVITE with the callee's answer. */
  answerOffered(leg: Leg, sdp: string): void {
    const tx = leg.inviteTx;
    if (!tx) return;
    leg.localSdp = stamp(sdp, leg.origin);
    leg.phase = 'confirmed';
    leg.inviteTx = undefined;
    tx.respond(responseTo(tx.req, 200, 'OK', leg.localTag, [{ name: 'contact', value: contact(this.port.local, leg) }, { name: 'allow', value: ALLOW }, { name: 'content-type', value: 'application/sdp' }], leg.localSdp));
  }

  /** A re-INVITE with `offer`; resolves with the endpoint's answer ('' when it refused or failed). */
  async reinvite(leg: Leg, offer: string): Promise<string> {
    const r = await this.reoffer(leg, offer);
    return r.ok ? r.sdp : '';
  }

  /**
   * A re-INVITE with `offer` (none: the endpoint offers and our ACK answers, see bridge); resolves with
   * its answer, or with the refusal (status 0: the leg was not or no longer confirmed).
   */
  reoffer(leg: Leg, offer: string): Promise<Reoffer> {
    return new Promise((resolve) => {
      if (leg.phase !== 'confirmed') return resolve({ ok: false, status: 0, reason: 'the dialog has ended' });
      const body = offer ? stamp(offer, leg.origin) : '';
      const req = leg.request('INVITE', this.port.local, [{ name: 'allow', value: ALLOW }], body);
      this.port.request(req, leg.flow, { final: (res) => {
        if (res.status >= 300) {
          this.log.warn({ leg: leg.label, status: res.status }, `re-INVITE refused: ${res.status} ${res.reason}`);
          return resolve({ ok: false, status: res.status, reason: res.reason });
        }
        if (leg.phase === 'ended') {
          // Released meanwhile: the 2xx is still ACKed (its BYE waits behind this exchange).
          if (body) this.port.ack2xx(req, leg.request('ACK', this.port.local, [], '', cseqOf(req)), leg.flow);
          else this.pendingAck.set(leg, req);
          return resolve({ ok: false, status: 0, reason: 'the dialog ended meanwhile' });
        }
        const sdp = sdpBody(res);
        leg.remoteSdp = sdp || leg.remoteSdp;
        if (body) leg.localSdp = body;
        // Offerless re-INVITE: the caller (bridge) completes the exchange with its own ACK.
        if (body) this.port.ack2xx(req, leg.request('ACK', this.port.local, [], '', cseqOf(req)), leg.flow);
        else this.pendingAck.set(leg, req);
        resolve({ ok: true, sdp });
      } });
    });
  }

  /** reoffer() in the leg's exchange queue (after any exchange already running on the dialog). */
  reofferQueued(leg: Leg, offer: string): Promise<Reoffer> {
    return new Promise((resolve) => {
      void this.exclusive(leg, async () => {
        try { resolve(await this.reoffer(leg, offer)); } finally { resolve({ ok: false, status: 0, reason: 'internal error' }); }
      });
    });
  }

  private readonly pendingAck = new WeakMap<Leg, SipRequest>();

  /**
   * Two confirmed legs talk to each other: offerless re-INVITE to `a`, its offer to `b`, b's answer in
   * a's ACK. When `b` refuses the offer, `a` is answered with what it had (its media direction kept),
   * so both stay as they were; the result names the leg that refused.
   */
  bridge(a: Leg, b: Leg): Promise<Bridged> {
    return new Promise((resolve) => {
      void this.exclusive(a, () => this.exclusive(b, async () => {
        try {
          const first = await this.reoffer(a, '');
          const req = this.pendingAck.get(a);
          this.pendingAck.delete(a);
          if (!first.ok || !req) return resolve({ ok: false, leg: a, status: first.ok ? 0 : first.status, reason: first.ok ? 'the dialog ended meanwhile' : first.reason });
          const offer = first.sdp;
          const second: Reoffer = offer ? await this.reoffer(b, offer) : { ok: false, status: 0, reason: 'its re-INVITE answer had no SDP offer' };
          let body: string;
          if (second.ok && second.sdp) body = a.localSdp = stamp(second.sdp, a.origin);
          else if (offer && a.localSdp) body = a.localSdp = stamp(directionOf(offer) === 'sendrecv' ? a.localSdp : answerFitting(a.localSdp, offer), a.origin);
          else body = offer ? inactiveAnswer(offer) : '';
          this.port.ack2xx(req, a.request('ACK', this.port.local, [], body, cseqOf(req)), a.flow);
          if (second.ok && second.sdp) return resolve({ ok: true });
          resolve({ ok: false, leg: offer ? b : a, status: second.ok ? 0 : second.status, reason: second.ok ? 'its answer had no SDP' : second.reason });
        } finally {
          resolve({ ok: false, leg: a, status: 0, reason: 'internal error' });
        }
      }));
    });
  }

  /** NOTIFY Event: talk in the early dialog of a ringing phone; resolves with the phone's final response to it. */
  talk(leg: Leg): Promise<SipResponse> {
    return new Promise((resolve) => {
      const req = leg.request('NOTIFY', this.port.local, [{ name: 'event', value: 'talk' }, { name: 'subscription-state', value: 'terminated' }]);
      this.port.request(req, leg.flow, { final: resolve });
    });
  }

  /** The leg leaves: CANCEL while our INVITE rings, a final response while the caller waits, else BYE. */
  end(leg: Leg, status = 480, reason = 'Temporarily Unavailable'): void {
    const phase = leg.phase;
    this.legs.remove(leg);
    switch (phase) {
      case 'pending':
      case 'ended':
        return;
      case 'inviting':
        return this.cancel(leg);
      case 'offered':
        leg.inviteTx?.respond(responseTo(leg.inviteTx.req, status, reason, leg.localTag));
        leg.inviteTx = undefined;
        return;
      case 'confirmed':
        // After any re-INVITE still in progress on the dialog: its 200 is ACKed before the BYE.
        void this.exclusive(leg, async () => this.bye(leg));
        return;
      default: {
        const never: never = phase;
        throw new Error(`unknown leg phase ${String(never)}`);
      }
    }
  }

  private cancel(leg: Leg): void {
    const inv = leg.invite;
    if (!inv) return;
    const keep = new Set(['via', 'route', 'from', 'call-id', 'max-forwards']);
    const headers = inv.headers.filter((h) => keep.has(h.name)).map((h) => ({ ...h }));
    headers.push({ name: 'to', value: header(inv, 'to')! }, { name: 'cseq', value: `${cseqOf(inv)} CANCEL` });
    this.port.request({ kind: 'request', method: 'CANCEL', uri: inv.uri, headers, body: '' }, leg.flow, { final: () => undefined });
  }

  bye(leg: Leg): void {
    this.port.request(leg.request('BYE', this.port.local), leg.flow, { final: () => undefined });
  }
}

function cseqOf(req: SipRequest): number {
  return Number((header(req, 'cseq') ?? '0').split(/\s+/)[0]);
}

function contact(local: LocalAddress, leg: Leg): string {
  return `<sip:tandem@${local.host}:${local.port}${leg.flow.protocol === 'TCP' ? ';transport=tcp' : ''}>`;
}

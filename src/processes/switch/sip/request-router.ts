// Every request that reaches the switch, answered in the dispatch order of docs/sip.md: an existing
// dialog first (Call-ID + our tag), then out-of-dialog methods (REGISTER to the registrar, INVITE
// through dispatch.ts to a DN), and a SIP error that says why for everything else. A request never
// changes state unless it is accepted; nothing here throws on any input.
import { sw } from '../../../wire/switch-proto.js';
import type { Logger } from '../../../lib/log.js';
import type { Leg } from './leg.js';
import { Leg as LegImpl } from './leg.js';
import { ALLOW } from './leg-control.js';
import { header, headerList, parseNameAddr, parseUri, responseTo, tagOf, token, type SipHeader, type SipRequest } from './message.js';
import { dispatchInvite } from './dispatch.js';
import { answerFitting, isSdp, stamp } from './sdp.js';
import type { SipCallModel } from './sip-call-model.js';
import type { ServerTransaction } from './transactions.js';

/** Methods of RFC 3261 and its extensions that this switch knows but does not take: 405 with Allow. Others: 501. */
const KNOWN_NOT_ALLOWED = new Set(['SUBSCRIBE', 'PUBLISH', 'MESSAGE', 'REFER', 'UPDATE', 'PRACK']);
const ALLOWED = new Set(ALLOW.split(', '));

export class RequestRouter {
  constructor(private readonly model: SipCallModel, private readonly inviteFor: (cancel: SipRequest) => ServerTransaction | undefined, private readonly log: Logger) {}

  /** A new request (retransmissions were absorbed below). `tx` is undefined only for ACK. */
  request(req: SipRequest, tx: ServerTransaction | undefined): void {
    const reply = (status: number, reason: string, extra: SipHeader[] = []) => tx?.respond(responseTo(req, status, reason, token('r'), extra));
    if (!ALLOWED.has(req.method)) {
      return KNOWN_NOT_ALLOWED.has(req.method) ? reply(405, 'Method Not Allowed', [{ name: 'allow', value: ALLOW }]) : reply(501, 'Not Implemented', [{ name: 'allow', value: ALLOW }]);
    }
    if (!parseUri(req.uri)) return reply(416, 'Unsupported URI Scheme');
    const mf = header(req, 'max-forwards');
    if (mf !== undefined && mf.trim() === '0' && req.method !== 'ACK') return reply(483, 'Too Many Hops');
    const toTag = tagOf(header(req, 'to'));
    if (toTag) {
      // 1. An existing dialog (Call-ID and our tag).
      const leg = this.model.legs.dialog(header(req, 'call-id')!, toTag);
      if (!leg) return req.method === 'ACK' ? undefined : reply(481, 'Call/Transaction Does Not Exist');
      return this.inDialog(leg, req, tx);
    }
    switch (req.method) {
      case 'REGISTER': return this.register(req, tx!);
      case 'INVITE': return this.invite(req, tx!);
      case 'OPTIONS': return reply(200, 'OK', [{ name: 'allow', value: ALLOW }, { name: 'accept', value: 'application/sdp' }]);
      case 'CANCEL': return this.cancel(req, tx!);
      case 'ACK': return undefined; // an ACK for a 2xx always has our tag; anything else is stray
      default: return reply(481, 'Call/Transaction Does Not Exist');
    }
  }

  private register(req: SipRequest, tx: ServerTransaction): void {
    const now = Date.now();
    const o = this.model.registrar.register(req, tx.from, now);
    tx.respond(responseTo(req, o.reply.status, o.reply.reason, token('r'), o.reply.headers));
    if (o.change) this.model.serviceChanged(o.change);
  }

  /** A new call from a trunk peer (dispatch.ts decides the DN or the rejection). */
  private invite(req: SipRequest, tx: ServerTransaction): void {
    const reject = (status: number, reason: string, extra: SipHeader[] = []) => {
      this.log.info({ status, from: `${tx.from.address}:${tx.from.port}`, callId: header(req, 'call-id') }, `INVITE rejected: ${status} ${reason}`);
      tx.respond(responseTo(req, status, reason, token('r'), extra));
    };
    const d = dispatchInvite(req, tx.from, this.model.plan, this.model.cfg);
    if (!d.ok) return reject(d.status, d.reason);
    if (!isSdp(req.body, header(req, 'content-type'))) return reject(488, 'Not Acceptable Here (an SDP offer in the INVITE is required: no delayed offer)');
    const from = parseNameAddr(header(req, 'from')!);
    const fromTag = from?.params.tag;
    if (!from || !fromTag) return reject(400, 'Bad Request (From has no tag)');
    const type = this.model.plan.classify(d.dn);
    if (type === sw.DeviceType.EXTENSION && !this.model.registrar.binding(d.dn)) return reject(480, `Temporarily Unavailable (${d.dn} has no registered phone)`);
    // Gapped before anything is created (docs/switch.md "Overload control"): the SIP form of Congestion.
    const gate = this.model.admit();
    if (!gate.admit) return reject(503, 'Service Unavailable (overload: call gapped)', [{ name: 'retry-after', value: '5' }]);
    const o = this.model.pbx.inboundCall(d.ani, d.dn, Date.now());
    if (!o.ok) return reject(404, `Not Found (${o.error.message.slice(0, 80)})`);
    const toUri = parseNameAddr(header(req, 'to')!)?.uri ?? req.uri;
    const contact = parseNameAddr(headerList(req, 'contact')[0] ?? '')?.uri;
    const target = contact && parseUri(contact) ? contact : from.uri;
    const leg = new LegImpl(o.callId, d.ani, 'trunk', 'uas', header(req, 'call-id')!, toUri, from.uri, target, tx.from);
    leg.remoteTag = fromTag;
    leg.remoteCseq = Number(header(req, 'cseq')!.split(/\s+/)[0]);
    leg.routeSet = headerList(req, 'record-route');
    leg.remoteSdp = req.body;
    leg.inviteTx = tx;
    this.model.legs.add(leg);
    this.log.info({ callId: o.callId, ani: d.ani, dn: d.dn, by: d.by, peer: d.peer.name }, 'inbound trunk call');
    this.model.emit(o, 'inbound call');
  }

  /** CANCEL of a caller's INVITE still waiting for an answer. */
  private cancel(req: SipRequest, tx: ServerTransaction): void {
    const inv = this.inviteFor(req);
    const leg = this.model.legs.uas(header(req, 'call-id')!);
    if (!inv || !leg || leg.phase !== 'offered' || leg.inviteTx !== inv) return tx.respond(responseTo(req, 481, 'Call/Transaction Does Not Exist'));
    tx.respond(responseTo(req, 200, 'OK'));
    this.model.control.end(leg, 487, 'Request Terminated');
    this.model.partyLeft(leg, 'caller cancelled');
  }

  private inDialog(leg: Leg, req: SipRequest, tx: ServerTransaction | undefined): void {
    const cseq = Number(header(req, 'cseq')!.split(/\s+/)[0]);
    if (req.method !== 'ACK' && req.method !== 'CANCEL') {
      if (cseq < leg.remoteCseq) return tx?.respond(responseTo(req, 500, 'Server Internal Error (CSeq out of order)'));
      leg.remoteCseq = cseq;
    }
    switch (req.method) {
      case 'ACK': return undefined;
      case 'BYE':
        tx!.respond(responseTo(req, 200, 'OK'));
        this.model.legs.remove(leg);
        return this.model.partyLeft(leg, 'BYE');
      case 'INVITE': return this.reinvite(leg, req, tx!);
      case 'CANCEL': return tx!.respond(responseTo(req, 481, 'Call/Transaction Does Not Exist'));
      case 'OPTIONS':
      case 'INFO':
      case 'NOTIFY':
        return tx!.respond(responseTo(req, 200, 'OK', '', [{ name: 'allow', value: ALLOW }]));
      case 'REGISTER':
        return tx!.respond(responseTo(req, 400, 'Bad Request (REGISTER inside a dialog)'));
      default:
        return tx!.respond(responseTo(req, 405, 'Method Not Allowed', '', [{ name: 'allow', value: ALLOW }]));
    }
  }

  /** The endpoint re-offers (its own hold, a new media address): passed to the bridged leg, its answer returned. */
  private reinvite(leg: Leg, req: SipRequest, tx: ServerTransaction): void {
    if (leg.phase !== 'confirmed') return tx.respond(responseTo(req, 491, 'Request Pending'));
    const offer = isSdp(req.body, header(req, 'content-type')) ? req.body : '';
    const ok = (body: string) => tx.respond(responseTo(req, 200, 'OK', '', [
      { name: 'contact', value: `<sip:tandem@${this.model.port.local.host}:${this.model.port.local.port}>` }, { name: 'allow', value: ALLOW },
      ...(body ? [{ name: 'content-type', value: 'application/sdp' }] : []),
    ], body));
    if (!offer) return ok(leg.localSdp);
    leg.remoteSdp = offer;
    const peer = this.model.legs.peerOf(leg);
    if (!peer || peer.phase !== 'confirmed') return ok(leg.localSdp ? stamp(answerFitting(leg.localSdp, offer), leg.origin) : '');
    void this.model.control.exclusive(peer, async () => {
      const answer = await this.model.control.reinvite(peer, offer);
      if (answer) leg.localSdp = answer;
      ok(stamp(answerFitting(answer || leg.localSdp, offer), leg.origin));
    });
  }
}


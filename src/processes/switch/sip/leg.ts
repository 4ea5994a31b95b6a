// A leg: one SIP dialog between the B2BUA and one endpoint (an agent's phone or a trunk peer), on
// behalf of one party (DN) of one switch call. Holds the dialog state of RFC 3261 §12 and builds the
// requests inside it. The legs of a call are bridged pairwise: the SDP one endpoint sends is what
// the other is offered.
import { header, headerList, parseNameAddr, parseUri, token, type SipHeader, type SipRequest, type SipResponse } from './message.js';
import type { Origin } from './sdp.js';
import type { ServerTransaction } from './transactions.js';
import type { Flow } from './transport.js';

/**
 * - `pending`:   created, our INVITE not sent yet (a 3PCC callee waits for the originator's phone)
 * - `inviting`:  our INVITE sent, no final response yet (we are the UAC)
 * - `offered`:   the endpoint's INVITE received, not answered yet (we are the UAS)
 * - `confirmed`: the INVITE was answered 2xx
 * - `ended`:     BYE, CANCEL or a failure response: the leg is gone from the table
 */
export type LegPhase = 'pending' | 'inviting' | 'offered' | 'confirmed' | 'ended';

/** Where our own signalling lives: the Via / Contact of every request we send. */
export interface LocalAddress { host: string; port: number }

export class Leg {
  phase: LegPhase;
  localTag = token('t');
  remoteTag = '';
  localCseq = Math.floor(Math.random() * 10_000) + 1;
  remoteCseq = 0;
  routeSet: string[] = [];
  /** The last SDP the endpoint sent (its offer or answer); '' before any. */
  remoteSdp = '';
  /** The last SDP we sent it. */
  localSdp = '';
  readonly origin: Origin = { sessionId: String(Math.floor(Math.random() * 1e9)), version: 0 };
  /** uas, while `offered`: the endpoint's INVITE, answered when the bridged leg answers. */
  inviteTx?: ServerTransaction;
  /** uac: our INVITE (CANCEL copies it), its provisional seen, and whether its 180 allows NOTIFY talk. */
  invite?: SipRequest;
  ringing = false;
  talkAllowed = false;
  /** Re-INVITEs and other offer/answer exchanges on this dialog run one at a time. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    /** The switch call this leg belongs to; changes when a transfer moves the party to the other call. */
    public callId: string,
    readonly dn: string,
    readonly kind: 'phone' | 'trunk',
    readonly role: 'uac' | 'uas',
    readonly sipCallId: string,
    /** Our URI (From of our requests) and the endpoint's (their To). */
    readonly localUri: string,
    readonly remoteUri: string,
    /** The Request-URI of requests in the dialog (the endpoint's Contact once known). */
    public remoteTarget: string,
    public flow: Flow,
  ) {
    this.phase = role === 'uac' ? 'pending' : 'offered';
  }

  get label(): string { return `${this.callId}/${this.dn}(${this.kind})`; }

  /** Runs `op` after every exchange queued before it (one offer/answer at a time, RFC 3261 §14.1). */
  serialize(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** A request in this dialog (or the initial INVITE when `remoteTag` is still empty). */
  request(method: string, local: LocalAddress, extra: SipHeader[] = [], body = '', cseq?: number): SipRequest {
    const seq = cseq ?? (method === 'ACK' || method === 'CANCEL' ? this.localCseq : ++this.localCseq);
    const headers: SipHeader[] = [
      viaHeader(local, this.flow),
      ...this.routeSet.map((r) => ({ name: 'route', value: r })),
      { name: 'max-forwards', value: '70' },
      { name: 'from', value: `<${this.localUri}>;tag=${this.localTag}` },
      { name: 'to', value: `<${this.remoteUri}>${this.remoteTag ? `;tag=${this.remoteTag}` : ''}` },
      { name: 'call-id', value: this.sipCallId },
      { name: 'cseq', value: `${seq} ${method}` },
      { name: 'contact', value: contactOf(local, this.flow) },
      { name: 'user-agent', value: 'tandem-sip-switch' },
      ...extra,
    ];
    if (body) headers.push({ name: 'content-type', value: 'application/sdp' });
    return { kind: 'request', method, uri: this.remoteTarget, headers, body };
  }

  /** Learns the remote tag, target and route set from a response that creates or refreshes the dialog. */
  learnFromResponse(res: SipResponse): void {
    const tag = parseNameAddr(header(res, 'to') ?? '')?.params.tag;
    if (tag) this.remoteTag = tag;
    const contact = parseNameAddr(headerList(res, 'contact')[0] ?? '');
    if (contact && parseUri(contact.uri)) this.remoteTarget = contact.uri;
    if (this.phase !== 'confirmed') this.routeSet = headerList(res, 'record-route').reverse();
  }
}

export function viaHeader(local: LocalAddress, flow: Flow): SipHeader {
  return { name: 'via', value: `SIP/2.0/${flow.protocol} ${local.host}:${local.port};branch=z9hG4bK${token()};rport` };
}

export function contactOf(local: LocalAddress, flow: Flow): string {
  return `<sip:tandem@${local.host}:${local.port}${flow.protocol === 'TCP' ? ';transport=tcp' : ''}>`;
}

/** Legs by (switch call, DN), by switch call, by SIP dialog (Call-ID + our tag), and early UAS legs by Call-ID. */
export class LegTable {
  private readonly byParty = new Map<string, Leg>();
  private readonly byCall = new Map<string, Set<Leg>>();
  private readonly byDialog = new Map<string, Leg>();
  private readonly bySipCallId = new Map<string, Leg>();

  get size(): number { return this.byParty.size; }
  all(): IterableIterator<Leg> { return this.byParty.values(); }

  add(leg: Leg): void {
    this.byParty.set(partyKey(leg.callId, leg.dn), leg);
    this.index(leg);
    this.byDialog.set(`${leg.sipCallId}|${leg.localTag}`, leg);
    if (leg.role === 'uas') this.bySipCallId.set(leg.sipCallId, leg);
  }

  of(callId: string, dn: string): Leg | undefined { return this.byParty.get(partyKey(callId, dn)); }

  ofCall(callId: string): Leg[] { return [...(this.byCall.get(callId) ?? [])]; }

  /** The other leg of the leg's call (calls have two legs at most: no conference without a mixer). */
  peerOf(leg: Leg): Leg | undefined {
    for (const l of this.byCall.get(leg.callId) ?? []) if (l !== leg) return l;
    return undefined;
  }

  /** The leg of an in-dialog message: its Call-ID and our tag (To of requests we receive). */
  dialog(sipCallId: string, localTag: string): Leg | undefined { return this.byDialog.get(`${sipCallId}|${localTag}`); }

  /** The UAS leg created by an INVITE with this Call-ID (a CANCEL carries no tag of ours). */
  uas(sipCallId: string): Leg | undefined { return this.bySipCallId.get(sipCallId); }

  /** A transfer moved the party to another switch call. */
  move(leg: Leg, toCallId: string): void {
    this.byParty.delete(partyKey(leg.callId, leg.dn));
    this.unindex(leg);
    leg.callId = toCallId;
    this.byParty.set(partyKey(toCallId, leg.dn), leg);
    this.index(leg);
  }

  remove(leg: Leg): void {
    leg.phase = 'ended';
    if (this.byParty.get(partyKey(leg.callId, leg.dn)) === leg) this.byParty.delete(partyKey(leg.callId, leg.dn));
    this.unindex(leg);
    this.byDialog.delete(`${leg.sipCallId}|${leg.localTag}`);
    if (this.bySipCallId.get(leg.sipCallId) === leg) this.bySipCallId.delete(leg.sipCallId);
  }

  private index(leg: Leg): void {
    let set = this.byCall.get(leg.callId);
    if (!set) this.byCall.set(leg.callId, (set = new Set()));
    set.add(leg);
  }

  private unindex(leg: Leg): void {
    const set = this.byCall.get(leg.callId);
    set?.delete(leg);
    if (set?.size === 0) this.byCall.delete(leg.callId);
  }
}

const partyKey = (callId: string, dn: string) => `${callId}|${dn}`;

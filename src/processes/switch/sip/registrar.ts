// The registrar (RFC 3261 §10): which phone is each extension now. Pure; `now` passed in. One binding
// per DN (the newest REGISTER wins: one desk phone per extension). A DN is in service while bound;
// the switch turns every first binding and every removal or expiry into a service change.
import { sw } from '../../../wire/switch-proto.js';
import type { DialPlan } from '../dial-plan.js';
import type { SipConfig } from './config.js';
import { DigestAuth } from './digest.js';
import { header, headerList, parseNameAddr, parseUri, userOf, type SipHeader, type SipRequest } from './message.js';
import type { Flow } from './transport.js';

export interface Binding {
  dn: string;
  /** The Contact URI: the Request-URI of requests to the phone. */
  contact: string;
  /** Where those requests are sent (TCP: the phone's own connection). */
  flow: Flow;
  expiresAt: number;
}

export interface RegisterReply { status: number; reason: string; headers: SipHeader[] }
export interface ServiceChange { dn: string; inService: boolean; why: string }
export interface RegisterOutcome { reply: RegisterReply; change?: ServiceChange }

export class Registrar {
  private readonly bindings = new Map<string, Binding>();
  private readonly auth: DigestAuth;

  constructor(private readonly plan: DialPlan, private readonly cfg: SipConfig) {
    this.auth = new DigestAuth(cfg.realm);
  }

  get size(): number { return this.bindings.size; }

  binding(dn: string): Binding | undefined { return this.bindings.get(dn); }

  register(req: SipRequest, from: Flow, now: number): RegisterOutcome {
    const dn = userOf(header(req, 'to'));
    if (!dn || this.plan.classify(dn) !== sw.DeviceType.EXTENSION) {
      return { reply: { status: 404, reason: 'Not Found', headers: [{ name: 'warning', value: `399 tandem "${dn || '(no user)'} is not an extension of the dial plan"` }] } };
    }
    const password = this.cfg.credentials[dn];
    if (password !== undefined) {
      const v = this.auth.verify(header(req, 'authorization'), 'REGISTER', dn, password, now);
      if (!v.ok) return { reply: { status: 401, reason: 'Unauthorized', headers: [{ name: 'www-authenticate', value: this.auth.challenge(now, v.stale) }] } };
    }
    const contacts = headerList(req, 'contact');
    const current = this.bindings.get(dn);
    if (contacts.length === 0) return { reply: this.ok(current, now) }; // a query
    const defaultExpires = header(req, 'expires');
    if (contacts.length === 1 && contacts[0] === '*') {
      if (defaultExpires?.trim() !== '0') return { reply: { status: 400, reason: 'Bad Request (Contact: * needs Expires: 0)', headers: [] } };
      return this.unbind(dn, 'unregistered (Contact: *)');
    }
    const na = parseNameAddr(contacts[0]!);
    const uri = na && parseUri(na.uri);
    if (!na || !uri || uri.scheme === 'tel') return { reply: { status: 400, reason: 'Bad Request (Contact is not a SIP URI)', headers: [] } };
    const raw = na.params.expires ?? defaultExpires ?? '3600';
    if (!/^\d{1,10}$/.test(raw.trim())) return { reply: { status: 400, reason: 'Bad Request (Expires is not a number)', headers: [] } };
    let expires = Number(raw);
    if (expires === 0) {
      // Removing another phone's binding is not this phone's business: only its own contact goes.
      if (current && current.contact !== na.uri) return { reply: this.ok(current, now) };
      return this.unbind(dn, 'unregistered (Expires 0)');
    }
    if (expires < this.cfg.minExpires) return { reply: { status: 423, reason: 'Interval Too Brief', headers: [{ name: 'min-expires', value: String(this.cfg.minExpires) }] } };
    expires = Math.min(expires, this.cfg.maxExpires);
    const flow = contactFlow(uri.host, uri.port, uri.params.transport, from);
    const binding: Binding = { dn, contact: na.uri, flow, expiresAt: now + expires * 1000 };
    this.bindings.set(dn, binding);
    return { reply: this.ok(binding, now), ...(current ? {} : { change: { dn, inService: true, why: `registered from ${from.protocol} ${from.address}:${from.port}` } }) };
  }

  /** Bindings past their expiry are removed: each is a DN out of service. */
  expire(now: number): ServiceChange[] {
    const out: ServiceChange[] = [];
    for (const [dn, b] of this.bindings) {
      if (b.expiresAt > now) continue;
      this.bindings.delete(dn);
      out.push({ dn, inService: false, why: 'registration expired' });
    }
    return out;
  }

  private unbind(dn: string, why: string): RegisterOutcome {
    const had = this.bindings.delete(dn);
    return { reply: { status: 200, reason: 'OK', headers: [] }, ...(had ? { change: { dn, inService: false, why } } : {}) };
  }

  private ok(b: Binding | undefined, now: number): RegisterReply {
    const headers: SipHeader[] = b ? [{ name: 'contact', value: `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}` }] : [];
    return { status: 200, reason: 'OK', headers };
  }
}

/**
 * The Contact's address (phones put their listening port there). Over TCP the phone's own
 * connection is used while it is open (NAT-friendly), and the Contact is connected to after it closed.
 */
function contactFlow(host: string, port: number, transport: string | undefined, from: Flow): Flow {
  const address = host.replace(/^\[|\]$/g, '');
  if (from.protocol === 'TCP') return { protocol: 'TCP', address, port: port || 5060, ...(from.conn !== undefined ? { conn: from.conn } : {}) };
  return { protocol: transport?.toLowerCase() === 'tcp' ? 'TCP' : 'UDP', address, port: port || 5060 };
}

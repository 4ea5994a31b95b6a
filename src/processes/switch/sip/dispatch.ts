// Where a new (out-of-dialog) INVITE goes, in the stated order (docs/sip.md "Dispatch"): requests in
// an existing dialog never get here (the dialog table answers them first). Pure.
//  1. the sender must be a trunk peer                 -> else 403
//  2. the Request-URI's user, then the To header's user, when it is a DN of the dial plan
//  3. the routing header (switch.sip.routingHeader), when configured and present
//  4. the default routing DN (switch.sip.defaultRoutingDn), when configured
//  5. reject: 404 when nothing names a DN, 485 when the Request-URI and To name two different DNs
import { sw } from '../../../wire/switch-proto.js';
import type { DialPlan } from '../dial-plan.js';
import type { SipConfig, TrunkPeer } from './config.js';
import { header, parseUri, userOf, type SipRequest } from './message.js';
import type { Flow } from './transport.js';

export type Dispatch =
  | { ok: true; dn: string; by: 'request-uri' | 'to' | 'routing-header' | 'default-routing-dn'; peer: TrunkPeer; ani: string }
  | { ok: false; status: 403 | 404 | 485; reason: string };

export function trunkPeerOf(cfg: SipConfig, from: Flow): TrunkPeer | undefined {
  return cfg.trunkPeers.find((p) => p.host === from.address && (p.port === 0 || p.port === from.port));
}

export function dispatchInvite(req: SipRequest, from: Flow, plan: DialPlan, cfg: SipConfig): Dispatch {
  const peer = trunkPeerOf(cfg, from);
  if (!peer) return { ok: false, status: 403, reason: `Forbidden (${from.address}:${from.port} is not a trunk peer: add it to switch.sip.trunkPeers)` };
  const ani = userOf(header(req, 'from')) || 'anonymous';
  const internal = (dn: string) => {
    const t = dn ? plan.classify(dn) : undefined;
    return t !== undefined && t !== sw.DeviceType.EXTERNAL;
  };
  const ruri = parseUri(req.uri)?.user ?? '';
  const to = userOf(header(req, 'to'));
  if (internal(ruri) && internal(to) && ruri !== to) return { ok: false, status: 485, reason: `Ambiguous (Request-URI names ${ruri}, To names ${to})` };
  if (internal(ruri)) return { ok: true, dn: ruri, by: 'request-uri', peer, ani };
  if (internal(to)) return { ok: true, dn: to, by: 'to', peer, ani };
  if (cfg.routingHeader) {
    const named = (header(req, cfg.routingHeader) ?? '').trim();
    const dn = parseUri(named)?.user ?? userOf(named) ?? named;
    if (internal(dn || named)) return { ok: true, dn: dn || named, by: 'routing-header', peer, ani };
  }
  if (cfg.defaultRoutingDn && internal(cfg.defaultRoutingDn)) return { ok: true, dn: cfg.defaultRoutingDn, by: 'default-routing-dn', peer, ani };
  return { ok: false, status: 404, reason: `Not Found (${ruri || to || 'no user'} is not a DN of this switch)` };
}

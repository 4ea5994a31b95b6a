// The SIP call model on a fake port, for message-by-message unit tests (sip-call-model,
// sip-pending-commands): every request the B2BUA sends is recorded with its callbacks so the test
// can answer it; published events and pending commands' results are collected.
import { sw } from '../../src/wire/switch-proto.js';
import { DialPlan } from '../../src/processes/switch/dial-plan.js';
import type { PbxOutcome } from '../../src/processes/switch/pbx.js';
import { sipConfigFromJson } from '../../src/processes/switch/sip/config.js';
import { SipCallModel } from '../../src/processes/switch/sip/sip-call-model.js';
import type { SipPort } from '../../src/processes/switch/sip/leg-control.js';
import { parseMessage, type SipRequest } from '../../src/processes/switch/sip/message.js';
import type { ClientCallbacks } from '../../src/processes/switch/sip/transactions.js';
import type { Flow } from '../../src/processes/switch/sip/transport.js';
import { createLogger } from '../../src/lib/log.js';
import type { ManualClock } from './manual-clock.js';

export const E = sw.EventType;
export const log = createLogger({ server: 'test' }, { level: 'silent' }).logger;
export const sdp = (who: string, dir = 'sendrecv') => `v=0\r\no=${who} 1 1 IN IP4 10.0.0.${who.length}\r\ns=-\r\nc=IN IP4 10.0.0.${who.length}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=${dir}\r\n`;
export const tick = () => new Promise((res) => setImmediate(res));
export const types = (evs: sw.ISwitchEvent[]) => evs.map((e) => [e.type, e.dn]);

export interface Sent { req: SipRequest; to: Flow; cb?: ClientCallbacks; ack?: boolean }

/** One line per message sent: method (or ACK), the phone's port, and the SDP direction when it carries one. */
export const line = (s: Sent) => `${s.ack ? 'ACK' : s.req.method} ${s.to.port}${s.req.body ? ` sdp:${/a=(sendrecv|sendonly|recvonly|inactive)/.exec(s.req.body)?.[1] ?? 'sendrecv'}` : ''}`;

export function sipModelRig(clock?: ManualClock) {
  const sent: Sent[] = [];
  const published: sw.ISwitchEvent[] = [];
  /** Results of pending commands (SwitchHooks.commandDone), in order; their events go to `published` like the switch's. */
  const done: Array<[string, PbxOutcome]> = [];
  const port: SipPort = {
    local: { host: '127.0.0.1', port: 5060 },
    request: (req, to, cb) => { sent.push({ req, to, cb }); },
    ack2xx: (_inv, ack, to) => { sent.push({ req: ack, to, ack: true }); },
  };
  const model = new SipCallModel(new DialPlan(), sipConfigFromJson({}), port, {
    publish: (o: PbxOutcome) => { if (o.ok) published.push(...o.events); },
    commandDone: (id: string, o: PbxOutcome) => { done.push([id, o]); if (o.ok) published.push(...o.events); },
    admit: () => ({ admit: true }),
  }, log, clock);
  /** A phone registers `dn` from 10.0.0.9:`port` (its service change reaches the model). */
  const registerPhone = (dn: string, port: number) => {
    const req = parseMessage(`REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:${port};branch=z9hG4bK${dn}\r\nFrom: <sip:${dn}@h>;tag=1\r\nTo: <sip:${dn}@h>\r\nCall-ID: r${dn}\r\nCSeq: 1 REGISTER\r\nContact: <sip:${dn}@10.0.0.9:${port}>\r\nExpires: 60\r\n\r\n`) as SipRequest;
    const o = model.registrar.register(req, { protocol: 'UDP', address: '10.0.0.9', port }, 0);
    if (o.change) model.serviceChanged(o.change);
    return o;
  };
  return { sent, published, done, model, registerPhone };
}

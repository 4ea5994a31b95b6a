// The SIP side of `tandem switch --sip`: binds UDP and TCP (PortInUseError names --sip-port /
// switch.sip.port), then, once the switch gives it its hooks, runs the call model behind the
// transaction layer and the request router. Thin: sockets, timers and logs; decisions live in the
// registrar, dispatch, leg control and the call model.
import type { Logger } from '../../../lib/log.js';
import { JunkLog } from '../../../lib/junk-log.js';
import type { DialPlan } from '../dial-plan.js';
import type { SwitchHooks } from '../call-model.js';
import type { SipConfig } from './config.js';
import type { LocalAddress } from './leg.js';
import { responseTo, type SipMessage } from './message.js';
import { RequestRouter } from './request-router.js';
import { SipCallModel } from './sip-call-model.js';
import { TransactionLayer } from './transactions.js';
import { SipTransport, type Flow } from './transport.js';

const EXPIRY_CHECK_MS = 1_000;

export class SipServer {
  private readonly transport: SipTransport;
  private readonly tx: TransactionLayer;
  private readonly junk: JunkLog;
  private router?: RequestRouter;
  private expiryTimer?: NodeJS.Timeout;
  model?: SipCallModel;
  local: LocalAddress = { host: '127.0.0.1', port: 0 };

  private constructor(readonly cfg: SipConfig, host: string, private readonly log: Logger) {
    this.junk = new JunkLog(log);
    this.transport = new SipTransport(host, {
      message: (m, from) => this.onMessage(m, from),
      junk: (from, reason) => this.junk.report(`${from.address}:${from.port}`, { protocol: from.protocol, reason }, 'malformed SIP answered 400 or dropped', 'malformed'),
    });
    this.tx = new TransactionLayer(this.transport, {
      request: (req, t) => {
        if (!this.router) return t?.respond(responseTo(req, 503, 'Service Unavailable (starting)'));
        this.router.request(req, t);
      },
      ackTimeout: (t) => {
        const leg = this.model?.legs.uas(t.req.headers.find((h) => h.name === 'call-id')?.value ?? '');
        if (!leg || !this.model || leg.phase !== 'confirmed') return;
        this.log.warn({ leg: leg.label }, 'our 200 OK was never ACKed: the leg is hung up');
        try {
          this.model.control.end(leg);
          this.model.partyLeft(leg, 'no ACK for 200 OK');
        } catch (err) { this.log.error({ err, leg: leg.label }, 'internal error hanging up an unACKed leg'); }
      },
    });
  }

  /** Binds the SIP port (0 = any free one; UDP and TCP get the same number). */
  static async listen(cfg: SipConfig, switchHost: string, log: Logger): Promise<SipServer> {
    const host = cfg.host || switchHost;
    const s = new SipServer(cfg, host, log);
    const port = await s.transport.listen(cfg.port);
    s.local = { host: cfg.advertisedHost || (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host), port };
    return s;
  }

  get port(): number { return this.transport.port; }

  /** Called by the switch with its hooks: from now on requests are served. */
  attach(plan: DialPlan, hooks: SwitchHooks): SipCallModel {
    // Responses and timeouts reach the model from socket handlers and timers: a bug there is logged, never fatal.
    const safe = (what: string, fn: () => void) => { try { fn(); } catch (err) { this.log.error({ err, what }, 'internal error handling a SIP response'); } };
    const port = {
      local: this.local,
      request: (req: Parameters<TransactionLayer['request']>[0], to: Flow, cb: Parameters<TransactionLayer['request']>[2]) => this.tx.request(req, to, {
        provisional: (res) => safe(`${res.status} to ${req.method}`, () => cb.provisional?.(res)),
        final: (res) => safe(`${res.status} to ${req.method}`, () => cb.final(res)),
      }),
      ack2xx: (inv: Parameters<TransactionLayer['ack2xx']>[0], ack: Parameters<TransactionLayer['ack2xx']>[1], to: Flow) => this.tx.ack2xx(inv, ack, to),
    };
    this.model = new SipCallModel(plan, this.cfg, port, hooks, this.log);
    this.router = new RequestRouter(this.model, (cancel) => this.tx.inviteFor(cancel), this.log);
    this.expiryTimer = setInterval(() => {
      try {
        for (const c of this.model!.registrar.expire(Date.now())) this.model!.serviceChanged(c);
      } catch (err) { this.log.error({ err }, 'internal error expiring registrations'); }
    }, EXPIRY_CHECK_MS);
    this.expiryTimer.unref();
    return this.model;
  }

  private onMessage(m: SipMessage, from: Flow): void {
    try {
      this.tx.receive(m, from);
    } catch (err) {
      // A bug of ours must not take the switch down with every call on it: log it, answer 500.
      this.log.error({ err, from: `${from.protocol} ${from.address}:${from.port}` }, 'internal error handling a SIP message');
      if (m.kind === 'request' && m.method !== 'ACK') this.transport.send(responseTo(m, 500, 'Server Internal Error'), from);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.expiryTimer);
    this.junk.close();
    this.tx.close();
    await this.transport.close();
  }
}

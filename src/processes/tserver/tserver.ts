// One T-Server process, wired: role → core host → batch collector → releaser → gateway, the switch
// link feeding the core, one HTTP port for /tlib, /healthz, /metrics and /desktop/.
//
// Where HA plugs in (src/ha, src/adapters/sync):
// - `role` (ServerRole) is the one place role, epoch and serving live; every component reads it.
//   Change it with role.set(); the gateway then pushes EventServerInfo to every connection.
// - `releaser.use(r)` swaps how batches are released (ack mode holds a batch until the backup
//   acknowledged its deltas); every batch carries the deltas the sync stream sends.
// - `core.applyRemote(deltas)` / `core.replaceState(s)` on a backup; `gateway.reindexAll()` after.
// - `link.claim()` asks the switch for the lease; `onLeaseLost` reports a refusal or deposition.
import type { Server } from 'node:http';
import type { Logger } from '../../lib/log.js';
import { listenOrExplain } from '../../lib/listen.js';
import { loadTls, type TlsMaterial } from '../../lib/tls.js';
import { canonicalState, journalTail, type CoreBugError } from '../../core/index.js';
import { Gateway } from '../../adapters/gateway/gateway.js';
import { SyncServer } from '../../adapters/sync/server.js';
import type { EventOf } from '../../protocol/messages.js';
import type { TServerConfig } from './config.js';
import { CoreHost } from '../../pipeline/core-host.js';
import { installCoreBugHook } from './core-bug-test-hook.js';
import { HaController } from './ha-controller.js';
import { Switchover } from './ha-handover.js';
import { haHealth, registerHaMetrics, syncStateOf } from './ha-status.js';
import { createHttpServer, type HttpRoutes } from './http.js';
import { authorizeOperator } from '../../auth/operator.js';
import { DESKTOP_AUTH_SETTING, desktopExposureWarning } from '../../auth/exposure.js';
import { Metrics } from '../../lib/metrics/metrics.js';
import { BatchCollector } from '../../pipeline/outbound.js';
import { ImmediateReleaser, SwitchableReleaser } from '../../pipeline/releaser.js';
import { ServerRole } from '../../ha/role.js';
import { SwitchLink, type LeaseLoss, type OpenTransport } from '../../adapters/switch-client/switch-link.js';
import { DEFAULT_HANG_DETECTION_MS, Liveness, registerLivenessMetrics } from '../../adapters/switch-client/liveness.js';
import { installStallHook, testHooksEnabled } from '../../adapters/switch-client/liveness-test-hooks.js';
import { OverloadControl } from './overload-control.js';
import { installOverloadHook } from './overload-test-hook.js';
import { DEFAULT_OVERLOAD_SETTINGS } from './overload-governor.js';

export interface TServerHooks {
  /** The switch refused our claim or deposed us. Default (single server): stop serving. */
  onLeaseLost?: (loss: LeaseLoss) => void;
  /** A core bug (logged, input rolled back). The process exits non-zero here (tserver-cmd.ts); default: thrown. */
  onCoreBug?: (err: CoreBugError) => void;
}

export class TServer {
  readonly role: ServerRole;
  readonly metrics = new Metrics();
  readonly batch: BatchCollector;
  readonly releaser: SwitchableReleaser;
  readonly core: CoreHost;
  readonly gateway: Gateway;
  readonly link: SwitchLink;
  /** Sheds new inbound calls at the switch while this serving primary is overloaded (overload-control.ts). */
  readonly overload: OverloadControl;
  private readonly http: Server;
  private boundPort = 0;
  /** HA pair only (cfg.ha): set by start() once the sync port listens. */
  ha: HaController | undefined;
  switchover: Switchover | undefined;
  syncServer: SyncServer | undefined;
  /** HA pair only: the liveness worker that renews the lease off the main thread (docs/liveness.md). */
  readonly liveness: Liveness | undefined;

  constructor(readonly cfg: TServerConfig, private readonly log: Logger, openTransport: OpenTransport, private readonly hooks: TServerHooks = {}) {
    // A pair member starts as backup (not serving) until the HA controller decides.
    this.role = new ServerRole(cfg.ha ? 'backup' : cfg.role);
    // Deliver through whatever releaser is current; the gateway exists by the time a batch is sealed.
    this.releaser = new SwitchableReleaser(new ImmediateReleaser((b) => this.gateway.deliver(b)));
    this.batch = new BatchCollector((b) => this.releaser.submit(b));
    this.core = new CoreHost({ config: cfg.core, role: this.role, batch: this.batch, log: log.child({ component: 'core' }), ...(hooks.onCoreBug ? { onCoreBug: hooks.onCoreBug } : {}) });
    this.gateway = new Gateway({
      core: this.core, role: this.role, batch: this.batch, log: log.child({ component: 'gateway' }), metrics: this.metrics,
      limits: cfg.limits, serverInfo: () => this.serverInfo(), primary: () => this.primaryLocation(),
      linkUp: () => this.link.isUp,
      security: cfg.security,
      ...(cfg.ha ? { localRegistrations: () => !this.role.serving || (this.ha?.awaitingSwitchSnapshot ?? false) } : {}),
    });
    if (cfg.ha) {
      this.liveness = new Liveness({
        address: cfg.switchAddress, serverName: cfg.serverName, secret: cfg.switchSecret, hangDetectionMs: cfg.ha.hangDetectionMs ?? DEFAULT_HANG_DETECTION_MS,
        log: log.child({ component: 'liveness' }), ...(cfg.security?.peerTls ? { tls: loadTls(cfg.security.peerTls, 'tserver.peerTls') } : {}),
      });
    }
    this.link = new SwitchLink(
      {
        serverName: cfg.serverName, secret: cfg.switchSecret, role: this.role, appliedSeq: () => this.core.state.appliedSwitchSeq, open: openTransport, log: log.child({ component: 'switch-link' }), ha: cfg.ha !== undefined,
        ...(this.liveness ? { renewer: this.liveness } : {}),
      },
      {
        events: (evs) => this.core.switchEvents(evs),
        commandResult: (r) => this.core.commandResult(r),
        snapshot: (s) => { this.core.switchSnapshot(s); this.gateway.reindexAll(); this.ha?.onSwitchSnapshot(); },
        linkUp: (up, why) => { this.onLinkUp(up, why); if (up) this.ha?.onLinkUp(); },
        leaseLost: (loss) => this.onLeaseLost(loss),
        welcome: (w) => this.ha?.onWelcome(w),
        granted: (g) => this.ha?.onGranted(g),
        renewed: () => this.ha?.onRenewed(),
        leaseChanged: (n) => this.ha?.onLeaseNotice?.(n),
        overloadStatus: (s) => this.overload.onStatus(s),
      },
    );
    this.overload = new OverloadControl({
      settings: cfg.overload ?? DEFAULT_OVERLOAD_SETTINGS,
      sample: () => {
        const held = this.batch.oldestUnreleasedAt();
        return {
          loopDelayMs: this.gateway.admission.loopDelayMs, queuedRequests: this.gateway.admission.queued,
          unreleasedAgeMs: held === undefined ? 0 : Math.max(0, Date.now() - held), switchBacklog: this.link.inboundBacklog,
        };
      },
      serving: () => this.role.serving && this.link.isUp,
      send: (admitPermille, validMs) => this.link.overloadControl(admitPermille, validMs),
      log: log.child({ component: 'overload' }), metrics: this.metrics,
    });
    this.core.attachSwitch(this.link);
    this.role.onChange((now, before) => {
      // In a pair the HA controller logs 'role changed' (role machine); this is the served view.
      this.log[cfg.ha ? 'debug' : 'info']({ oldRole: before.role, newRole: now.role, oldEpoch: before.epoch, newEpoch: now.epoch, serving: now.serving }, cfg.ha ? 'server info changed' : 'role changed');
      this.core.armTimer();
      this.gateway.roleChanged({ ...this.serverInfo() });
    });
    this.registerMetrics();
    this.http = createHttpServer({
      health: ({ digest }) => ({ status: 200, body: this.health(digest) }),
      metrics: () => this.metrics.render(),
      ...(cfg.security?.debugState ? { debugState: this.debugStateRoute() } : {}),
      desktopDir: cfg.desktopDir,
      upgradeTlib: (req, socket, head) => this.gateway.upgrade(req, socket, head),
      tls: cfg.security?.tls ? loadTls(cfg.security.tls, 'tserver.tls') : undefined,
    });
    if (testHooksEnabled()) {
      installStallHook(this.http, log.child({ component: 'test-hooks' }));
      installCoreBugHook(this.http, this.core, log.child({ component: 'test-hooks' }));
      installOverloadHook(this.http, this.overload, log.child({ component: 'test-hooks' }));
    }
  }

  get port(): number { return this.boundPort; }
  get syncPort(): number | undefined { return this.syncServer?.port; }
  /** Mutual TLS material for the sync stream (both ends), when configured. */
  get peerTls(): TlsMaterial | undefined {
    return this.cfg.security?.peerTls ? loadTls(this.cfg.security.peerTls, 'tserver.peerTls') : undefined;
  }

  /** Listens (HTTP, and the sync port in a pair), then starts the switch link. Rejects with PortInUseError when a port is taken. */
  async start(): Promise<number> {
    this.boundPort = await listenOrExplain(this.http, this.cfg.port, this.cfg.host, '--port');
    const exposed = this.desktopExposure;
    if (exposed) this.log.warn({ setting: DESKTOP_AUTH_SETTING, desktopAuth: 'none', host: this.cfg.host, port: this.boundPort, docs: 'docs/security.md' }, exposed);
    this.overload.start();
    const ha = this.cfg.ha;
    if (ha) {
      try {
        this.syncServer = await SyncServer.listen({ host: this.cfg.host, port: ha.syncPort, setting: '--sync-port', secret: ha.syncSecret, log: this.log, ...(this.peerTls ? { tls: this.peerTls } : {}) });
      } catch (err) {
        this.http.close();
        throw err;
      }
      this.ha = new HaController(this, ha, this.syncServer, this.log.child({ component: 'ha' }));
      this.switchover = new Switchover(this.ha, this, this.log.child({ component: 'switchover' }));
      registerHaMetrics(this.metrics, this.ha);
      this.ha.start();
      return this.boundPort;
    }
    this.link.start();
    return this.boundPort;
  }

  async stop(): Promise<void> {
    this.ha?.stop('process stopping');
    this.overload.stop();
    await this.syncServer?.close();
    this.batch.flush();
    this.gateway.close();
    this.link.stop();
    await this.liveness?.stop();
    this.core.stop();
    this.metrics.stop();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** The warning for desktop auth off on a non-loopback address, or undefined. */
  get desktopExposure(): string | undefined {
    return desktopExposureWarning(this.cfg.host, this.gateway.auth.required);
  }

  serverInfo(): EventOf<'EventServerInfo'> {
    const info: EventOf<'EventServerInfo'> = {
      event: 'EventServerInfo', role: this.role.role, epoch: this.role.epoch, serverName: this.cfg.serverName,
      seq: this.core.state.seq, serving: this.role.serving, switchLink: this.link.isUp ? 'up' : 'down',
      syncState: this.ha ? syncStateOf(this.ha) : this.releaser.syncState, time: new Date().toISOString(),
    };
    if (this.cfg.peer) info.peer = this.cfg.peer;
    return info;
  }

  /** /healthz: cheap (read on every poll); `digest` adds stateDigest (serializes the whole state). */
  health(digest = false): Record<string, unknown> {
    return {
      serverName: this.cfg.serverName, role: this.role.role, epoch: this.role.epoch, seq: this.core.state.seq,
      serving: this.role.serving, switchLink: this.link.isUp ? 'up' : 'down', switchLinkState: this.link.state,
      clients: this.gateway.clientCount, calls: this.core.state.calls.size, syncState: this.releaser.syncState,
      // What the sync port asks of a peer (docs/peer-auth.md): "none" means any process may connect.
      ...(this.syncServer ? { peerAuth: this.syncServer.peerAuth } : {}),
      // Desktop token auth (docs/security.md); off on a non-loopback address: said here too.
      desktopAuth: this.gateway.auth.required ? 'token' : 'none',
      ...(this.desktopExposure ? { desktopAuthWarning: this.desktopExposure } : {}),
      ...(this.ha ? haHealth(this.ha, this, digest) : {}),
    };
  }

  /** /debug/state behind the operator check (src/auth/operator.ts); every answer logged with who asked. */
  private debugStateRoute(): NonNullable<HttpRoutes['debugState']> {
    const log = this.log.child({ component: 'http' });
    if (!this.gateway.auth.required) log.warn('/debug/state is on with token auth off: it answers loopback callers only');
    return {
      authorize: async (req) => {
        const remote = req.socket.remoteAddress;
        const v = await authorizeOperator(this.gateway.auth, req.headers.authorization, remote);
        if (v.ok) log.info({ who: v.who, remote }, 'state dump served');
        else log.warn({ remote, status: v.status, reason: v.reason }, 'state dump refused');
        return v;
      },
      dump: ({ journalAfter }) => (journalAfter === undefined ? canonicalState(this.core.state) : journalTail(this.core.state, journalAfter)),
    };
  }

  private primaryLocation(): { serverName: string; url: string } | undefined {
    if (this.role.role === 'backup') return this.cfg.peer;
    return undefined;
  }

  private onLinkUp(up: boolean, why: string): void {
    if (up) this.log.info({ why }, 'switch link up');
    else this.log.warn({ why }, 'switch link down');
    this.gateway.broadcast({ event: up ? 'EventLinkConnected' : 'EventLinkDisconnected', time: new Date().toISOString() });
  }

  private onLeaseLost(loss: LeaseLoss): void {
    if (this.ha) return this.ha.onLeaseLost(loss);
    if (this.hooks.onLeaseLost) return this.hooks.onLeaseLost(loss);
    this.log.error({ ...loss }, `switch ${loss.kind} our lease (${loss.code}): another server holds the primary role (epoch ${loss.currentEpoch}, ${loss.holder || 'unknown'}); this server stops serving and answers NotPrimary`);
    this.role.set({ serving: false });
  }

  private registerMetrics(): void {
    const m = this.metrics;
    m.gauge('tandem_calls', 'Calls the T-Server knows.', () => this.core.state.calls.size);
    m.gauge('tandem_agents', 'Logged-in agents by state.', ['state'], () => {
      const by = new Map<string, number>();
      for (const a of this.core.state.agents.values()) by.set(a.state, (by.get(a.state) ?? 0) + 1);
      return [...by].map(([state, value]) => ({ labels: { state }, value }));
    });
    if (this.liveness) registerLivenessMetrics(m, this.liveness);
    m.gauge('tandem_switch_link_up', '1 when the switch link is up (lease held, events flowing).', () => (this.link.isUp ? 1 : 0));
    m.gauge('tandem_serving', '1 when this server answers call requests (serving primary).', () => (this.role.serving ? 1 : 0));
    m.gauge('tandem_epoch', 'Lease epoch.', () => this.role.epoch);
    m.gauge('tandem_seq', 'Newest event seq.', () => this.core.state.seq);
    m.gauge('tandem_journal_events', 'Events held in the replay journal.', () => this.core.state.journal.length);
    m.gauge('tandem_dedup_records', 'Request de-duplication records held (core.dedup.maxRecords).', () => this.core.state.dedup.size);
  }
}

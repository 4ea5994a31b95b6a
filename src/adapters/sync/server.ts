// The sync port. Every T-Server listens on it from start-up, whatever its role (a port in use fails
// at start, not at the first promotion). While this server is primary, streams go to its SyncPrimary;
// otherwise a Hello gets Error{NOT_PRIMARY} (after authentication) and the stream is closed.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../lib/log.js';
import { explainGrpcBindError } from '../../lib/listen.js';
import { grpcServerCredentials, logTlsRefusals, type TlsMaterial } from '../../lib/tls.js';
import { JunkLog } from '../../lib/junk-log.js';
import { offeredSyncSecret, openPortWarning, peerAuthMode, secretMatches, SYNC_SECRET_ENV, type PeerAuthMode } from '../../lib/peer-auth.js';
import { sy } from '../../wire/sync-proto.js';
import { syncServiceDefinition, type Decoded, type PrimaryStream } from '../../wire/sync-service.js';
import { classifyBeforeHello } from './hello.js';
import type { SyncPrimary } from './primary.js';

export interface SyncServerOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  /** Setting name quoted in the port-in-use error. */
  setting?: string;
  /**
   * Shared secret (docs/peer-auth.md): every call must carry it in its metadata, checked before any
   * message is read (a call without it ends UNAUTHENTICATED); Hello carries it too.
   */
  secret?: string;
  /** Mutual TLS (docs/security.md): with `ca`, only a peer whose certificate that CA signed can open a stream. */
  tls?: TlsMaterial;
  log: Logger;
}

/**
 * Large batches after a burst must not hit grpc's 4 MB default. The HTTP/2 flow-control window is
 * raised from 64 KiB to 16 MiB: the stream carries ~5 KB of deltas per call and the backup opens the
 * window again only once per event-loop turn, so 64 KiB capped the sync stream at 64 KiB per turn
 * round trip (a few MB/s under load): in ack mode every release waited behind it.
 */
/** How long close() lets ended streams deliver their last frames before cutting them. */
export const CLOSE_GRACE_MS = 500;

export const SYNC_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

export class SyncServer {
  private primary: SyncPrimary | null = null;
  private readonly log: Logger;
  /** Refused calls and junk before routing: one line per peer host per window. */
  private readonly junk: JunkLog;
  /** What a peer must present: shown in the ready line and /healthz. */
  readonly peerAuth: PeerAuthMode;

  private constructor(private readonly server: grpc.Server, readonly port: number, private readonly opts: SyncServerOptions) {
    this.log = opts.log.child({ component: 'sync-server' });
    this.junk = new JunkLog(this.log);
    this.peerAuth = peerAuthMode(opts.secret, opts.tls);
  }

  /** Binds host:port; rejects with PortInUseError (naming the setting) when the port is taken. */
  static async listen(opts: SyncServerOptions): Promise<SyncServer> {
    const server = new grpc.Server(SYNC_CHANNEL_OPTIONS);
    let self: SyncServer | undefined;
    server.addService(syncServiceDefinition, {
      stream: (call: PrimaryStream) => self!.onStream(call),
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${opts.host}:${opts.port}`, grpcServerCredentials(opts.tls), (err, p) => {
        if (err) reject(explainGrpcBindError(err, opts.port, opts.host, opts.setting ?? 'sync.port'));
        else resolve(p);
      });
    });
    self = new SyncServer(server, port, opts);
    if (opts.tls) logTlsRefusals(server, { warn: (o, m) => self!.junk.report(String((o as { peer?: unknown }).peer ?? '?'), o as Record<string, unknown>, m, `${m}: ${String((o as { code?: unknown }).code)}`) }, 'sync');
    self.log.info({ host: opts.host, port, peerAuth: self.peerAuth }, 'sync port listening');
    const open = openPortWarning('sync', self.peerAuth, opts.host, port);
    if (open) self.log.warn(open.fields, open.msg);
    return self;
  }

  /**
   * Asked when a Hello is refused (not primary): true = this server is a backup that will not claim
   * (HA machine's willNotClaim), so the refusal says NOT_PRIMARY_WILL_NOT_CLAIM and a restarted peer
   * starts fresh at once instead of waiting for us (freshStartWaitMs).
   */
  willNotClaim: () => boolean = () => false;

  /** Routes new streams to `primary`, or refuses them (null) while this server is not primary. */
  serve(primary: SyncPrimary | null): void {
    this.primary = primary;
  }

  /**
   * Stops listening and ends every stream, letting what was written on them go out first: cancelling
   * at once (forceShutdown) discarded frames still in flight, a handover's HandoverReady among them
   * when SIGTERM stopped the old primary 3 ms after it (the backup then saw CANCELLED, not the
   * handover, and promoted itself as after a crash). Streams still open after `graceMs` are cut.
   */
  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.primary?.close('sync server closing');
    this.junk.close();
    return new Promise((resolve) => {
      const cut = setTimeout(() => { this.server.forceShutdown(); resolve(); }, graceMs);
      this.server.tryShutdown(() => { clearTimeout(cut); resolve(); });
    });
  }

  private onStream(call: PrimaryStream): void {
    const peer = call.getPeer();
    // A stream must never crash the process: every error is handled by whoever owns the stream.
    call.on('error', (err: Error) => this.log.debug({ peer, err: err.message }, 'sync stream error'));
    // Before any message is read or sent: a foreign process learns nothing, not even who is primary.
    if (this.opts.secret && !secretMatches(this.opts.secret, offeredSyncSecret(call.metadata))) {
      const offered = offeredSyncSecret(call.metadata) !== undefined;
      this.junk.report(peer, { code: 'UNAUTHENTICATED', offered }, offered ? 'sync call with a wrong secret refused' : 'sync call without a secret refused');
      call.emit('error', {
        code: grpc.status.UNAUTHENTICATED,
        details: `${offered ? 'wrong' : 'missing'} sync secret: both servers need the same one (${SYNC_SECRET_ENV}, --sync-secret-file or tserver.syncSecret; docs/peer-auth.md)`,
      });
      return;
    }
    if (this.primary) {
      this.primary.accept(call, peer);
      return;
    }
    const onData = (d: Decoded<sy.BackupToPrimary>) => {
      const pre = classifyBeforeHello(d, this.opts.secret);
      if (pre.kind === 'ignore') return;
      const [code, message, close] = pre.kind === 'error'
        ? [pre.code, pre.message, pre.close]
        : this.willNotClaim()
          ? [sy.ErrorCode.NOT_PRIMARY_WILL_NOT_CLAIM, 'this server is not primary and will not claim (its state is not in sync): start fresh, or follow the other server', true]
          : [sy.ErrorCode.NOT_PRIMARY, 'this server is not primary now: follow the other server', true];
      if (pre.kind === 'hello') this.log.info({ peer, backup: pre.hello.serverName, code: sy.ErrorCode[code] }, 'sync stream refused');
      else this.junk.report(peer, { code: sy.ErrorCode[code], detail: message }, 'sync stream refused');
      call.write({ error: { code, message } });
      if (close) {
        call.off('data', onData);
        call.end();
      }
    };
    call.on('data', onData);
  }
}

// Starts the switch: binds the gRPC link port (TLS and the secret as configured) and the lease timer.
import * as grpc from '@grpc/grpc-js';
import { switchService } from '../../wire/switch-service.js';
import { explainGrpcBindError } from '../../lib/listen.js';
import { grpcServerCredentials, loadTls, logTlsRefusals } from '../../lib/tls.js';
import type { Logger } from '../../lib/log.js';
import { openPortWarning } from '../../lib/peer-auth.js';
import type { SwitchConfig } from './config.js';
import { SimulatedSwitch, type CallModelFactory } from './server.js';

export interface RunningSwitch {
  port: number;
  close(): Promise<void>;
}

/** Binds the gRPC server; rejects with PortInUseError (naming --port / switch.port) when taken. */
export async function startSwitchServer(cfg: SwitchConfig, logger: Logger, modelFactory?: CallModelFactory): Promise<RunningSwitch & { sim: SimulatedSwitch }> {
  const sim = new SimulatedSwitch(cfg, logger, modelFactory);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.addService(switchService, { Link: sim.handleLink });
  const port = await new Promise<number>((resolve, reject) => {
    const creds = grpcServerCredentials(cfg.tls ? loadTls(cfg.tls, 'switch.tls') : undefined);
    server.bindAsync(`${cfg.host}:${cfg.port}`, creds, (err, bound) => {
      if (err) reject(explainGrpcBindError(err, cfg.port, cfg.host, '--port / switch.port'));
      else resolve(bound);
    });
  });
  if (cfg.tls) logTlsRefusals(server, { warn: (o, m) => sim.junk.report(String((o as { peer?: unknown }).peer ?? '?'), o as Record<string, unknown>, m, `${m}: ${String((o as { code?: unknown }).code)}`) }, 'switch');
  const open = openPortWarning('switch', sim.peerAuth, cfg.host, port);
  if (open) logger.warn({ component: 'link', ...open.fields }, open.msg);
  sim.start();
  return {
    port,
    sim,
    close: async () => {
      sim.stop();
      server.forceShutdown();
    },
  };
}

// Binding a port with an operator-grade error: which port, which setting, the likely cause.
import type { Server as NetServer } from 'node:net';

export class PortInUseError extends Error {
  readonly code = 'PortInUse';
  constructor(readonly port: number, readonly setting: string, readonly host: string) {
    super(
      `port ${port} on ${host} is already in use (setting: ${setting}). ` +
        `Another instance is probably running already: stop it, or choose another port with ${setting}.`,
    );
  }
}

/** Listens on host:port; resolves with the bound port (useful with port 0). */
export function listenOrExplain(server: NetServer, port: number, host: string, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new PortInUseError(port, setting, host));
      else if (err.code === 'EACCES') reject(new Error(`not allowed to listen on port ${port} (setting: ${setting}): use a port above 1023 or run with the needed privilege`));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Same for a gRPC server: grpc-js reports "No address added out of total 1 resolved" on EADDRINUSE. */
export function explainGrpcBindError(err: Error, port: number, host: string, setting: string): Error {
  if (/EADDRINUSE|address already in use|No address added/i.test(err.message)) return new PortInUseError(port, setting, host);
  return err;
}

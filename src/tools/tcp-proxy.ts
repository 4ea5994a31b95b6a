// A TCP proxy that tests and the chaos drill (scripts/chaos.mjs) cut and heal: it stands between the
// backup and the primary's sync port, so the sync link alone fails while both servers still see the switch.
import { createServer, connect, type Socket, type Server } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Destroys every open connection and refuses new ones until heal(). */
  cut(): void;
  heal(): void;
  /** Points new connections at another port (0 = none yet: connections are refused). */
  setTarget(port: number, host?: string): void;
  close(): Promise<void>;
  readonly connections: number;
  readonly isCut: boolean;
}

export async function startTcpProxy(targetHost: string, targetPort: number, t?: { teardown(fn: () => unknown): void }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let isCut = false;
  const server: Server = createServer((client) => {
    if (isCut || targetPort === 0) { client.destroy(); return; }
    const upstream = connect(targetPort, targetHost);
    open.add(client); open.add(upstream);
    const drop = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream); };
    client.on('error', drop); upstream.on('error', drop);
    client.on('close', drop); upstream.on('close', drop);
    client.pipe(upstream); upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const proxy: TcpProxy = {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    cut() { isCut = true; for (const s of open) s.destroy(); open.clear(); },
    heal() { isCut = false; },
    setTarget(port, host) { targetPort = port; if (host) targetHost = host; },
    close: () => new Promise<void>((resolve) => { proxy.cut(); server.close(() => resolve()); }),
    get connections() { return open.size / 2; },
    get isCut() { return isCut; },
  };
  t?.teardown(() => proxy.close());
  return proxy;
}

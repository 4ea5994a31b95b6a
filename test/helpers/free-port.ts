// A port free right now on 127.0.0.1, for a server that must come back on the same port after a
// restart (the fixtures' default is an ephemeral port per start) or whose URL a peer must know.
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

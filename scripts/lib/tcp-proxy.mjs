// A TCP proxy the chaos drill cuts and heals: it stands in front of a server's sync port, so the sync
// link alone fails while both servers still see the switch (same idea as test/helpers/tcp-proxy.ts).
import { createServer, connect } from 'node:net';

export async function startTcpProxy(targetHost, targetPort) {
  const open = new Set();
  let isCut = false;
  const server = createServer((client) => {
    if (isCut) { client.destroy(); return; }
    const upstream = connect(targetPort, targetHost);
    open.add(client); open.add(upstream);
    const drop = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream); };
    client.on('error', drop); upstream.on('error', drop);
    client.on('close', drop); upstream.on('close', drop);
    client.pipe(upstream); upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = {
    port: server.address().port,
    get isCut() { return isCut; },
    cut() { isCut = true; for (const s of open) s.destroy(); open.clear(); },
    heal() { isCut = false; },
    close: () => new Promise((resolve) => { proxy.cut(); server.close(() => resolve()); }),
  };
  return proxy;
}

// The sync-link TCP proxy on a thread of its own (proxy-thread.mjs): the drill's main thread runs
// hundreds of SDK desktops and parses multi-MB state dumps; a proxy on that thread stalled with it,
// both servers saw their sync stream go silent for 400+ ms and dropped it — a fault the drill made
// itself, counted against the pair's recovery time.
import { parentPort, workerData } from 'node:worker_threads';
import { startTcpProxy } from '../../dist/tools/tcp-proxy.js';

const proxy = await startTcpProxy(workerData.host, workerData.port);
parentPort.on('message', async (m) => {
  if (m.op === 'cut') proxy.cut();
  else if (m.op === 'heal') proxy.heal();
  else if (m.op === 'target') proxy.setTarget(m.port, m.host);
  else if (m.op === 'close') { await proxy.close(); parentPort.postMessage({ op: 'closed' }); parentPort.close(); return; }
  parentPort.postMessage({ op: 'done', id: m.id });
});
parentPort.postMessage({ op: 'listening', port: proxy.port });

// startTcpProxy (src/tools/tcp-proxy.ts) on a worker thread (proxy-worker.mjs), same interface:
// cut/heal/setTarget take effect on the proxy's thread at once; await them to know they have.
import { Worker } from 'node:worker_threads';

export async function startThreadedTcpProxy(host, port) {
  const w = new Worker(new URL('./proxy-worker.mjs', import.meta.url), { workerData: { host, port } });
  const listening = await new Promise((resolve, reject) => {
    w.once('error', reject);
    w.on('message', (m) => { if (m.op === 'listening') resolve(m.port); });
  });
  let isCut = false, nextId = 1;
  const waiting = new Map();
  w.on('message', (m) => { if (m.op === 'done') { waiting.get(m.id)?.(); waiting.delete(m.id); } });
  const send = (msg) => new Promise((resolve) => { const id = nextId++; waiting.set(id, resolve); w.postMessage({ ...msg, id }); });
  return {
    port: listening,
    cut() { isCut = true; return send({ op: 'cut' }); },
    heal() { isCut = false; return send({ op: 'heal' }); },
    setTarget(p, h) { return send({ op: 'target', port: p, host: h }); },
    close: () => new Promise((resolve) => {
      w.on('message', (m) => { if (m.op === 'closed') resolve(); });
      w.on('exit', () => resolve());
      w.postMessage({ op: 'close' });
    }),
    get isCut() { return isCut; },
  };
}

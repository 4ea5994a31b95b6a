// What one connected desktop costs a T-Server: a real switch + single T-Server, heap and RSS read
// at idle (after V8's memory reducer has collected: the minimum of several readings over ~20 s)
// before and after N agent desktops connect, register their DN, log in and go Ready.
import { startSystem, benchConfig, QUEUE, ROUTE_POINT } from './system.mjs';
import { forkWorker } from './workers.mjs';
import { rssKiB } from './procs.mjs';
import { metricValue, sleep } from './stats.mjs';

async function idleReading(server, ms) {
  let heap = Infinity, rss = Infinity;
  for (const end = Date.now() + ms; Date.now() < end;) {
    await sleep(1000);
    heap = Math.min(heap, metricValue(await server.metrics(), 'tandem_heap_used_bytes'));
    rss = Math.min(rss, rssKiB(server.proc.pid) * 1024);
  }
  return { heap, rss };
}

export async function desktopCost({ desktops, idleMs = 20_000, log }) {
  const sys = await startSystem({ mode: 'single', config: benchConfig({ journalEvents: 30_000 }), log });
  const desk = forkWorker('desktops.mjs');
  try {
    const server = await sys.primary();
    const before = await idleReading(server, idleMs);
    await desk.call('setup', { url: server.url, dns: Array.from({ length: desktops }, (_, i) => String(5000 + i)), queue: QUEUE, routePoint: ROUTE_POINT, talkMs: 0 });
    const after = await idleReading(server, idleMs);
    return { desktops, heapPerDesktop: (after.heap - before.heap) / desktops, rssPerDesktop: (after.rss - before.rss) / desktops, before, after };
  } finally {
    await desk.close();
    await sys.stop();
  }
}

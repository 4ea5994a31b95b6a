// The T-Server's one HTTP port: /healthz (JSON), /metrics (Prometheus text), the web desktop's
// static files under /desktop/, and the WebSocket upgrade to /tlib.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

export interface HttpRoutes {
  /** GET /healthz; `?digest=1` adds the replicated state's digest (a full serialization: on request only). */
  health: (opts: { digest: boolean }) => { status: number; body: unknown };
  /** GET /metrics: the Prometheus text (prom-client renders asynchronously; the request waits, nothing else does). */
  metrics: () => Promise<string>;
  /**
   * GET /debug/state: the canonical replicated state (HA tests and the chaos drill compare primary and
   * backup). Undefined = off (the default: tserver.debugState / --debug-state); `authorize` decides
   * per request (src/auth/operator.ts) and is asked before anything is serialized.
   */
  debugState?: {
    authorize: (req: IncomingMessage) => Promise<{ ok: true } | { ok: false; status: 401 | 403; reason: string }>;
    /** The whole state; with `journalAfter` only the journal entries after that seq (a cheap tail, polled by the chaos drill). */
    dump: (opts: { journalAfter?: number }) => string;
  };
  /** Folder with the web desktop's files, or undefined when there is none. */
  desktopDir: string | undefined;
  upgradeTlib: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** PEM certificate and key: serve https and wss on this port (docs/security.md). */
  tls?: { cert: Buffer; key: Buffer };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.map': 'application/json', '.txt': 'text/plain; charset=utf-8',
};

export function createHttpServer(routes: HttpRoutes): Server {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void route(routes, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  };
  const server: Server = routes.tls ? createHttpsServer({ cert: routes.tls.cert, key: routes.tls.key }, handler) : createServer(handler);
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/tlib') return routes.upgradeTlib(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nWebSocket endpoint is /tlib\n');
  });
  return server;
}

async function route(routes: HttpRoutes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [rawPath, query] = (req.url ?? '/').split('?');
  const path = decodeURIComponent(rawPath || '/');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' });
    res.end('only GET\n');
    return;
  }
  if (path === '/healthz') {
    const digest = new URLSearchParams(query ?? '').get('digest');
    const h = routes.health({ digest: digest === '1' || digest === 'true' });
    res.writeHead(h.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(h.body));
    return;
  }
  if (path === '/debug/state') {
    const d = routes.debugState;
    if (!d) {
      res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end('the state dump is off: start the server with --debug-state (tserver.debugState: true); see docs/security.md\n');
      return;
    }
    const v = await d.authorize(req);
    if (!v.ok) {
      res.writeHead(v.status, { 'content-type': 'text/plain', 'cache-control': 'no-store', ...(v.status === 401 ? { 'www-authenticate': 'Bearer realm="tandem-operator"' } : {}) });
      res.end(`${v.reason}\n`);
      return;
    }
    const after = new URLSearchParams(query ?? '').get('journalAfter');
    const journalAfter = after !== null && /^\d+$/.test(after) ? Number(after) : undefined;
    if (after !== null && journalAfter === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(`journalAfter must be a non-negative integer seq, got "${after}"\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : d.dump({ journalAfter }));
    return;
  }
  if (path === '/metrics') {
    const body = await routes.metrics();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
    return;
  }
  if (path === '/desktop') {
    res.writeHead(301, { location: '/desktop/' });
    res.end();
    return;
  }
  if (path.startsWith('/desktop/') && routes.desktopDir) {
    const rel = path.slice('/desktop/'.length) || 'index.html';
    const file = normalize(join(routes.desktopDir, rel));
    // Never serve anything outside the desktop folder (../ in the URL).
    if (file.startsWith(routes.desktopDir + sep) || file === routes.desktopDir) {
      const st = await stat(file).catch(() => undefined);
      const target = st?.isDirectory() ? join(file, 'index.html') : file;
      const body = await readFile(target).catch(() => undefined);
      if (body) {
        res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
    }
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end(path.startsWith('/desktop/') && !routes.desktopDir ? 'the web desktop is not installed on this server\n' : 'not found: try /healthz, /metrics, /desktop/ or a WebSocket on /tlib\n');
}

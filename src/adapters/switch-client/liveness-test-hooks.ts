// Test-only: stall the T-Server's main thread on request, to prove that a busy loop does not fail
// over and a hung one does (test/integration/ha-liveness.test.ts). Installed only when the process
// was started with TANDEM_TEST_HOOKS=1 in its environment; without it the route does not exist.
//
//   GET /debug/stall?ms=300      answers 202, then busy-loops the main thread for 300 ms
//   GET /debug/stall?ms=forever  answers 202, then loops for ever (a hang only SIGKILL ends)
//   GET /debug/stall?ms=forever&block=1  blocks without using CPU (a deadlock: Atomics.wait)
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log.js';

export const TEST_HOOKS_ENV = 'TANDEM_TEST_HOOKS';

export function testHooksEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_HOOKS_ENV] === '1';
}

/**
 * Puts a test-only route in front of the server's own request handlers: `answer` gets the query and
 * returns the status and body (202 + JSON when it acted, 400 + a line saying what is wrong).
 */
export function installDebugRoute(server: Server, route: string, answer: (query: URLSearchParams) => { status: 202 | 400; body: unknown }): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const [path, query] = (req.url ?? '/').split('?');
    if (path !== route) {
      for (const h of handlers) h.call(server, req, res);
      return;
    }
    const a = answer(new URLSearchParams(query ?? ''));
    if (a.status === 400) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`${String(a.body)}\n`);
      return;
    }
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify(a.body));
  });
}

/** Puts /debug/stall in front of the server's own request handler. */
export function installStallHook(server: Server, log: Logger): void {
  log.warn({ env: TEST_HOOKS_ENV }, `test hooks enabled (${TEST_HOOKS_ENV}=1): GET /debug/stall can block this process; never set it in production`);
  installDebugRoute(server, '/debug/stall', (q) => {
    const ms = q.get('ms') ?? '';
    const forever = ms === 'forever';
    const n = Number(ms);
    if (!forever && !(Number.isFinite(n) && n >= 0)) return { status: 400, body: 'ms must be a number of milliseconds or "forever"' };
    const block = q.get('block') === '1';
    log.warn({ ms: forever ? 'forever' : n, block }, 'test hook: stalling the main thread');
    // After this turn, so the answer is written first.
    setTimeout(() => {
      if (block) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, forever ? undefined : n);
      const end = forever ? Infinity : Date.now() + n;
      while (!block && Date.now() < end) { /* busy */ }
      log.warn({ ms: n }, 'test hook: main-thread stall over');
    }, 0);
    return { status: 202, body: { stalling: forever ? 'forever' : n } };
  });
}

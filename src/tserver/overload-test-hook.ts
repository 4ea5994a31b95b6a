// Test-only: force the overload governor's "over" signal for a while, so a test with real processes
// can watch the switch gap new inbound calls and then reopen by itself once the forced overload ends
// (test/integration/tserver-overload-gapping.test.ts). Installed only with TANDEM_TEST_HOOKS=1 in the
// environment (liveness-test-hooks.ts); without it the route does not exist.
//
//   GET /debug/overload?ms=2000   answers 202; the governor sees its signals as over for 2 s
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../common/log.js';
import { TEST_HOOKS_ENV } from '../ha/liveness-test-hooks.js';
import type { OverloadControl } from './overload-control.js';

/** Puts /debug/overload in front of the server's own request handlers. */
export function installOverloadHook(server: Server, overload: OverloadControl, log: Logger): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  log.warn({ env: TEST_HOOKS_ENV }, `test hooks enabled (${TEST_HOOKS_ENV}=1): GET /debug/overload can force this server to shed new calls; never set it in production`);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const [path, query] = (req.url ?? '/').split('?');
    if (path !== '/debug/overload') {
      for (const h of handlers) h.call(server, req, res);
      return;
    }
    const ms = Number(new URLSearchParams(query ?? '').get('ms') ?? '');
    if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('ms must be a number of milliseconds, 0..600000\n');
      return;
    }
    overload.force(ms);
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ forcedMs: ms }));
  });
}

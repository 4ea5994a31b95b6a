// Test-only: make the core fail half-way through its next input, as a core bug would, to prove that
// the input is rolled back, the T-Server exits non-zero and the in-sync backup takes over
// (test/integration/tserver-core-bug.test.ts). Installed only with TANDEM_TEST_HOOKS=1 in the
// environment (liveness-test-hooks.ts); without it the route does not exist.
//
//   GET /debug/core-bug?afterDeltas=1   answers 202; the next core input throws after 1 delta
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../common/log.js';
import type { CoreHost } from './core-host.js';

export function installCoreBugHook(server: Server, core: CoreHost, log: Logger): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const [path, query] = (req.url ?? '/').split('?');
    if (path !== '/debug/core-bug') {
      for (const h of handlers) h.call(server, req, res);
      return;
    }
    const after = Number(new URLSearchParams(query ?? '').get('afterDeltas') ?? '1');
    if (!Number.isInteger(after) || after < 0) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('afterDeltas must be a non-negative integer\n');
      return;
    }
    core.failNextInputAfter = after;
    log.warn({ afterDeltas: after }, 'test hook: the next core input will throw');
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ failNextInputAfter: after }));
  });
}

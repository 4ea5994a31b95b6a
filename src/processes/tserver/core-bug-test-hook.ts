// Test-only: make the core fail half-way through its next input, as a core bug would, to prove that
// the input is rolled back, the T-Server exits non-zero and the in-sync backup takes over
// (test/integration/tserver-core-bug.test.ts). Installed only with TANDEM_TEST_HOOKS=1 in the
// environment (liveness-test-hooks.ts); without it the route does not exist.
//
//   GET /debug/core-bug?afterDeltas=1   answers 202; the next core input throws after 1 delta
import type { Server } from 'node:http';
import { installDebugRoute } from '../../adapters/switch-client/liveness-test-hooks.js';
import type { Logger } from '../../lib/log.js';
import type { CoreHost } from '../../pipeline/core-host.js';

export function installCoreBugHook(server: Server, core: CoreHost, log: Logger): void {
  installDebugRoute(server, '/debug/core-bug', (q) => {
    const after = Number(q.get('afterDeltas') ?? '1');
    if (!Number.isInteger(after) || after < 0) return { status: 400, body: 'afterDeltas must be a non-negative integer' };
    core.failNextInputAfter = after;
    log.warn({ afterDeltas: after }, 'test hook: the next core input will throw');
    return { status: 202, body: { failNextInputAfter: after } };
  });
}

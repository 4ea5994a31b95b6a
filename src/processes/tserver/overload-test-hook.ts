// Test-only: force the overload governor's "over" signal for a while, so a test with real processes
// can watch the switch gap new inbound calls and then reopen by itself once the forced overload ends
// (test/integration/tserver-overload-gapping.test.ts). Installed only with TANDEM_TEST_HOOKS=1 in the
// environment (liveness-test-hooks.ts); without it the route does not exist.
//
//   GET /debug/overload?ms=2000   answers 202; the governor sees its signals as over for 2 s
import type { Server } from 'node:http';
import type { Logger } from '../../lib/log.js';
import { installDebugRoute, TEST_HOOKS_ENV } from '../../adapters/switch-client/liveness-test-hooks.js';
import type { OverloadControl } from './overload-control.js';

/** Puts /debug/overload in front of the server's own request handlers. */
export function installOverloadHook(server: Server, overload: OverloadControl, log: Logger): void {
  log.warn({ env: TEST_HOOKS_ENV }, `test hooks enabled (${TEST_HOOKS_ENV}=1): GET /debug/overload can force this server to shed new calls; never set it in production`);
  installDebugRoute(server, '/debug/overload', (q) => {
    const ms = Number(q.get('ms') ?? '');
    if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) return { status: 400, body: 'ms must be a number of milliseconds, 0..600000' };
    overload.force(ms);
    return { status: 202, body: { forcedMs: ms } };
  });
}

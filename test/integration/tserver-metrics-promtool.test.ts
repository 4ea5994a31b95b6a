// /metrics of both servers of a real pair (switch + A primary + B in-sync backup) passes
// `promtool check metrics` (Prometheus's own parser and linter) with no finding. Both sides have
// traffic first, so the labelled families carry samples, not just their HELP and TYPE lines.
// promtool comes with the Debian package `prometheus` (.ci/run installs it); without it this test
// fails and says how to install it, it is never skipped.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { inSync, startPair, type Member } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

const PROMTOOL = process.env.TANDEM_PROMTOOL ?? 'promtool';

/** promtool's verdict on one exposition: exit status and what it printed. */
function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${PROMTOOL} not found: install it with \`apt-get install -y prometheus\` (Debian package prometheus, as .ci/run does), or set TANDEM_PROMTOOL to its path`);
  }
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

async function check(t: Tap.Test, m: Member, role: string): Promise<void> {
  const text = await m.metrics();
  // The three sources are all in the text promtool reads: declared counters with samples, gauges
  // read at scrape time, and prom-client's default process metrics.
  t.match(text, /\ntandem_requests_total\{request="RequestOpen",outcome="ok"\} 1\n/, `${role}: a labelled counter with a sample`);
  t.match(text, new RegExp(`\\ntandem_ha_state\\{state="${role}"\\} 1\\n`), `${role}: the HA state gauge`);
  t.match(text, /\n# TYPE tandem_event_loop_lag_seconds summary\n/, `${role}: the event-loop lag summary`);
  t.match(text, /\nprocess_cpu_seconds_total [0-9.e-]+\n/, `${role}: prom-client's default process metrics`);
  const v = promtoolCheck(text);
  t.equal(v.status, 0, `${role} (${m.name}): promtool check metrics finds nothing${v.output ? `:\n${v.output}` : ''}`);
}

t.test('promtool check metrics passes on the primary and the backup of a real pair', async (t) => {
  const { a, b } = await startPair(t);
  await inSync(a, b);
  const onA = await openClient(t, a.url, 'desk-a');
  await onA.request('RequestRegisterAddress', { thisDN: '5101' });
  await onA.request('RequestMakeCall', { thisDN: '5101', otherDN: '5102' });
  const onB = await openClient(t, b.url, 'desk-b');
  const refused = await onB.request('RequestMakeCall', { thisDN: '5103', otherDN: '5104' });
  t.equal(refused.errorCode, 'NotPrimary', 'the backup refuses call requests (an error outcome on its counters)');
  await check(t, a, 'primary');
  await check(t, b, 'backup-in-sync');
});

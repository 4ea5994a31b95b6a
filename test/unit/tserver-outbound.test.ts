// Batching per event-loop turn and the metrics text.
import t from 'tap';
import { closeSync, openSync } from 'node:fs';
import { BatchCollector, type OutboundBatch } from '../../src/pipeline/outbound.js';
import { Metrics } from '../../src/lib/metrics/metrics.js';

t.test('one batch per turn, ids in order, empty turns produce nothing', async (t) => {
  const got: OutboundBatch[] = [];
  const c = new BatchCollector((b) => got.push(b));
  c.add({ kind: 'broadcast', event: { event: 'EventLinkConnected' } });
  c.deltas([{ op: 'del', coll: 'calls', key: 'x' }]);
  c.add({ kind: 'broadcast', event: { event: 'EventLinkDisconnected' } });
  t.equal(got.length, 0, 'nothing before the turn ends');
  await new Promise((r) => setImmediate(r));
  t.equal(got.length, 1);
  t.equal(got[0]!.id, 1);
  t.same(got[0]!.items.map((i) => (i.kind === 'broadcast' ? i.event.event : i.kind)), ['EventLinkConnected', 'EventLinkDisconnected']);
  t.equal(got[0]!.deltas.length, 1);
  c.deltas([]);
  await new Promise((r) => setImmediate(r));
  t.equal(got.length, 1);
  c.add({ kind: 'registrations', clientName: 'x', dns: [] });
  c.flush();
  t.equal(got[1]!.id, 2);
});

t.test('metrics exposition', async (t) => {
  const m = new Metrics();
  t.teardown(() => m.stop());
  m.inc('tandem_requests_total', { request: 'RequestOpen', outcome: 'ok' });
  m.inc('tandem_requests_total', { outcome: 'ok', request: 'RequestOpen' });
  m.inc('tandem_requests_total', { outcome: 'Bad"Request', request: 'x' });
  m.inc('tandem_events_sent_total', 3);
  m.gauge('tandem_agents', 'Agents.', ['state'], () => [{ labels: { state: 'Ready' }, value: 2 }]);
  m.gauge('tandem_calls', 'Calls.', () => 3);
  const text = await m.render();
  t.match(text, '# TYPE tandem_requests_total counter\n');
  // Labels print in the declared order (metric-catalog.ts), whatever order the caller wrote.
  t.match(text, 'tandem_requests_total{request="RequestOpen",outcome="ok"} 2\n');
  t.match(text, 'tandem_requests_total{request="x",outcome="Bad\\"Request"} 1\n');
  t.match(text, 'tandem_events_sent_total 3\n');
  t.match(text, 'tandem_agents{state="Ready"} 2\n');
  t.match(text, 'tandem_calls 3\n');
  t.match(text, '# TYPE tandem_event_loop_lag_seconds summary\n');
  t.match(text, /tandem_event_loop_lag_seconds\{quantile="0.99"\} [0-9.e-]+\n/);
  t.match(text, '# TYPE tandem_gc_pause_seconds histogram\n');
  t.match(text, /\nprocess_resident_memory_bytes [0-9]+\n/, 'prom-client default process metrics');
  t.match(text, /\nprocess_open_fds [0-9]+\n/, 'open fds (cached: a readdir per scrape is O(connections))');
  t.notMatch(text, /nodejs_active_handles|nodejs_eventloop_lag/, 'no per-handle walk at scrape time');
  t.equal(await m.value('tandem_requests_total', { request: 'RequestOpen', outcome: 'ok' }), 2);
  t.equal(await m.value('tandem_events_sent_total'), 3);
});

t.test('process_open_fds is read at most every 10 s, not at every scrape', async (t) => {
  const m = new Metrics();
  t.teardown(() => m.stop());
  const fdsOf = (text: string) => Number(/\nprocess_open_fds ([0-9]+)\n/.exec(text)?.[1]);
  const first = fdsOf(await m.render());
  const opened = Array.from({ length: 20 }, () => openSync('/dev/null', 'r'));
  t.teardown(() => { for (const fd of opened) closeSync(fd); });
  t.equal(fdsOf(await m.render()), first, '20 more descriptors, same figure within the 10 s');
});

t.test('a gauge name is declared once', async (t) => {
  const m = new Metrics();
  t.teardown(() => m.stop());
  m.gauge('tandem_calls', 'Calls.', () => 1);
  t.throws(() => m.gauge('tandem_calls', 'Calls again.', () => 2), /already been registered/);
});

t.test('a gauge label set that is gone leaves the exposition', async (t) => {
  const m = new Metrics();
  t.teardown(() => m.stop());
  let states = ['Ready', 'NotReady'];
  m.gauge('tandem_agents', 'Agents.', ['state'], () => states.map((state) => ({ labels: { state }, value: 1 })));
  t.match(await m.render(), 'tandem_agents{state="NotReady"} 1\n');
  states = ['Ready'];
  const text = await m.render();
  t.match(text, 'tandem_agents{state="Ready"} 1\n');
  t.notMatch(text, 'state="NotReady"');
});

t.test('GC pauses: histogram by kind and the longest since the previous scrape', async (t) => {
  const m = new Metrics();
  t.teardown(() => m.stop());
  // Kind 'test': no real collection during the test lands in these series.
  (m as unknown as { runtime: { recordGc(kind: string, s: number): void } }).runtime.recordGc('test', 0.03);
  const text = await m.render();
  t.match(text, 'tandem_gc_pause_seconds_bucket{le="0.05",kind="test"} 1\n');
  t.match(text, 'tandem_gc_pause_seconds_bucket{le="0.025",kind="test"} 0\n');
  t.match(text, 'tandem_gc_pause_seconds_sum{kind="test"} 0.03\n');
  const max = Number(/\ntandem_gc_pause_max_seconds ([0-9.e-]+)\n/.exec(text)?.[1]);
  t.ok(max >= 0.03, `the longest pause since the previous scrape counts the recorded one (${max})`);
});

// Batching per event-loop turn and the metrics text.
import t from 'tap';
import { BatchCollector, type OutboundBatch } from '../../src/tserver/outbound.js';
import { Metrics } from '../../src/tserver/metrics.js';

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
  m.inc('tandem_requests_total', 'Requests.', { request: 'RequestOpen', outcome: 'ok' });
  m.inc('tandem_requests_total', 'Requests.', { request: 'RequestOpen', outcome: 'ok' });
  m.inc('tandem_requests_total', 'Requests.', { outcome: 'Bad"Request', request: 'x' });
  m.gauge('tandem_agents', 'Agents.', () => [{ labels: { state: 'Ready' }, value: 2 }]);
  m.gauge('tandem_calls', 'Calls.', () => 3);
  const text = m.render();
  m.stop();
  t.match(text, '# TYPE tandem_requests_total counter\n');
  t.match(text, 'tandem_requests_total{outcome="ok",request="RequestOpen"} 2\n');
  t.match(text, 'tandem_requests_total{outcome="Bad\\"Request",request="x"} 1\n');
  t.match(text, 'tandem_agents{state="Ready"} 2\n');
  t.match(text, 'tandem_calls 3\n');
  t.match(text, /tandem_event_loop_lag_seconds\{quantile="0.99"\} [0-9.e-]+\n/);
  t.equal(m.value('tandem_requests_total', { request: 'RequestOpen', outcome: 'ok' }), 2);
});

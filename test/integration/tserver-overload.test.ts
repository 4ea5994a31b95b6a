// Admission control with a real T-Server process and real WebSocket clients: over the queue bound
// and while the event loop is behind (SIGSTOP), new requests are answered EventError Overloaded with
// retryAfterMs and are not run; every request gets exactly one answer; the same referenceId sent
// again later runs; the server keeps serving (no failover, no lost connection).
import t from 'tap';
import { openClient, startStack } from '../helpers/tserver-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('queue bound: the excess of a burst is Overloaded with retryAfterMs, not run, and runs when sent again', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { maxRequestsPerTurn: 1, maxQueuedRequests: 2, overloadRetryAfterMs: 300, maxRequestsPerSecond: 0 } } });
  const desk = await openClient(t, ts.url, 'burst');
  // 40 registrations written at once: one per turn runs, two wait, the rest are refused.
  const dns = Array.from({ length: 40 }, (_, i) => String(5000 + i));
  const refs = dns.map((dn) => {
    const ref = desk.ref();
    desk.sendRaw(JSON.stringify({ request: 'RequestRegisterAddress', referenceId: ref, thisDN: dn }));
    return ref;
  });
  const answers = await Promise.all(refs.map((r) => desk.waitFor((e) => e.referenceId === r, 10_000, `answer ${r}`)));
  await sleep(200);
  for (const r of refs) t.equal(desk.events.filter((e) => e.referenceId === r).length, 1, `exactly one answer to #${r}`);
  const refused = answers.filter((e) => e.event === 'EventError');
  const ok = answers.filter((e) => e.event === 'EventRegistered');
  t.ok(refused.length >= 20, `${refused.length} of 40 answered Overloaded`);
  t.ok(ok.length >= 3, `${ok.length} of 40 ran`);
  for (const e of refused) t.match(e, { errorCode: 'Overloaded', retryAfterMs: 300, errorMessage: /requests are waiting to run \(tserver\.maxQueuedRequests 2\).*same referenceId/ });
  const m = await ts.metrics();
  t.match(m, new RegExp(`tandem_overload_refusals_total\\{reason="queue"\\} ${refused.length}\\b`));
  t.match(m, /tandem_requests_queued 0\b/);

  // Not run: a refused DN is not registered; sent again (same referenceId) after retryAfterMs, it runs.
  const refusedRefs = refs.filter((_, i) => answers[i]!.event === 'EventError');
  await sleep(300);
  for (const r of refusedRefs) {
    const dn = dns[refs.indexOf(r)]!;
    desk.sendRaw(JSON.stringify({ request: 'RequestRegisterAddress', referenceId: r, thisDN: dn }));
    const again = await desk.waitFor((e) => e.referenceId === r && e.event !== 'EventError', 5_000, `retry of #${r}`);
    t.equal(again.event, 'EventRegistered', `#${r} (${dn}) ran on the retry`);
  }
  t.notOk(desk.closed, 'the connection is kept');
  t.match(await ts.health(), { role: 'primary', serving: true, switchLink: 'up' });
});

t.test('RequestReplay is never answered Overloaded: a floor of desktops resumes on a new primary with it', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { maxRequestsPerTurn: 1, maxQueuedRequests: 2, overloadRetryAfterMs: 300, maxRequestsPerSecond: 0 } } });
  const desk = await openClient(t, ts.url, 'replayer');
  // 20 registrations and 20 replays written at once, interleaved: the registrations over the bound are refused, no replay is.
  const sent = Array.from({ length: 40 }, (_, i) => {
    const ref = desk.ref();
    const body = i % 2 === 0 ? { request: 'RequestRegisterAddress', thisDN: String(5000 + i) } : { request: 'RequestReplay', afterSeq: 2 ** 40 };
    desk.sendRaw(JSON.stringify({ ...body, referenceId: ref }));
    return { ref, request: body.request };
  });
  const answers = await Promise.all(sent.map((s) => desk.waitFor((e) => e.referenceId === s.ref, 10_000, `answer ${s.ref}`)));
  const of = (request: string) => answers.filter((_, i) => sent[i]!.request === request);
  t.same(of('RequestReplay').map((e) => e.event), Array(20).fill('EventACK'), 'every replay answered');
  t.ok(of('RequestRegisterAddress').some((e) => e.errorCode === 'Overloaded'), 'the registrations over the bound were refused');
});

t.test('a stall is not overload (SIGSTOP 300 ms): the request sent during it and the next ones are served, none Overloaded', async (t) => {
  const { ts } = await startStack(t);
  const desk = await openClient(t, ts.url, 'slow');
  t.equal((await desk.request('RequestQueryServer')).event, 'EventServerInfo', 'served before');
  ts.proc.kill('SIGSTOP');
  const duringRef = desk.ref();
  desk.sendRaw(JSON.stringify({ request: 'RequestRegisterAddress', referenceId: duringRef, thisDN: '5001' }));
  await sleep(300);
  ts.proc.kill('SIGCONT');
  const during = await desk.waitFor((e) => e.referenceId === duringRef, 5_000, 'answer to the request sent during the stop');
  t.equal(during.event, 'EventRegistered', `answered after the stall (${during.errorCode ?? ''})`);
  for (const dn of ['5002', '5003', '5004']) t.equal((await desk.request('RequestRegisterAddress', { thisDN: dn })).event, 'EventRegistered', `${dn} right after`);
  t.match(await ts.metrics(), /tandem_overloaded\{reason="eventLoopDelay"\} 0\b/);
  t.match(await ts.health(), { role: 'primary', serving: true, switchLink: 'up' });
});

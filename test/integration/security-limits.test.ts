// Edge limits with real processes: a flood over the per-connection rate (Overloaded, connection kept),
// oversized frames, too many connections (503), a browser Origin not allowed (403), DNs per client and
// user-data size. Each is refused with the right error and a log line; the server stays unharmed.
import t from 'tap';
import { openClient, startStack } from '../helpers/tserver-fixture.js';
import { TestClient, upgradeStatus } from '../helpers/ws-client.js';
import type { TEvent } from '../../src/protocol/messages.js';

const MAX_FRAME = 2048;


t.test('limits at the edge', async (t) => {
  const { ts } = await startStack(t, {
    config: { tserver: { maxFrameBytes: MAX_FRAME, maxRequestsPerSecond: 50, requestBurst: 20, maxConnections: 4, maxDNsPerClient: 2, maxUserDataBytes: 256, allowedOrigins: ['https://desk.example.com'] } },
  });

  // Origin: a browser page from another site is refused at the upgrade; listed, same-origin and no Origin are fine.
  const evil = await upgradeStatus(ts.url, { origin: 'https://evil.example' });
  t.equal(evil.status, 403);
  t.match(evil.body, /Origin https:\/\/evil\.example is not allowed/);
  await ts.proc.waitFor((l) => l.msg === 'connection refused' && l.status === 403, 5_000, 'origin refusal log');
  t.equal((await upgradeStatus(ts.url, { origin: 'https://desk.example.com' })).status, 101);
  t.equal((await upgradeStatus(ts.url, { origin: ts.http })).status, 101, 'same origin: the desktop this server serves');
  t.equal((await upgradeStatus(ts.url)).status, 101, 'no Origin: not a browser');

  // Flood: 200 requests at once on one connection, burst 20: the excess is Overloaded, every frame answered.
  const flood = await openClient(t, ts.url, 'flooder');
  const refs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const ref = flood.ref();
    refs.push(ref);
    flood.sendRaw(JSON.stringify({ request: 'RequestQueryServer', referenceId: ref }));
  }
  const answers = await Promise.all(refs.map((r) => flood.waitFor((e) => e.referenceId === r, 10_000, `answer ${r}`)));
  const overloaded = answers.filter((e) => e.errorCode === 'Overloaded');
  t.ok(overloaded.length >= 150, `${overloaded.length} of 200 answered Overloaded`);
  t.ok(answers.filter((e) => e.event === 'EventServerInfo').length >= 19, 'the burst (20, one was RequestOpen) went through');
  t.match(overloaded[0], { event: 'EventError', errorMessage: /more than 50 requests a second/ });
  // Overloaded answers are logged once per episode, then counted (gateway/overload-log.ts): not 180 lines.
  await ts.proc.waitFor((l) => /^request answered Overloaded/.test(String(l.msg)) && l.reason === 'perConnectionRate' && l.errorCode === 'Overloaded', 5_000, 'overload log');
  t.equal(ts.proc.lines.filter((l) => /answered Overloaded/.test(String(l.msg))).length, 1, 'one line for the whole flood so far');
  // The SDK's referenceIds have 16 digits (Date.now() x 1000): a refused request still carries its own,
  // or the SDK cannot match the refusal and waits for RequestTimeout.
  const sdkRefs = Array.from({ length: 40 }, (_, i) => Date.now() * 1000 + i);
  for (const ref of sdkRefs) flood.sendRaw(JSON.stringify({ request: 'RequestQueryServer', referenceId: ref }));
  const sdkAnswers = await Promise.all(sdkRefs.map((r) => flood.waitFor((e) => e.referenceId === r, 10_000, `answer ${r}`)));
  t.ok(sdkAnswers.some((e) => e.errorCode === 'Overloaded'), `16-digit referenceIds: ${sdkAnswers.filter((e) => e.errorCode === 'Overloaded').length} of 40 refused, each answered with its own`);
  t.notOk(flood.closed, 'the flooding connection is kept');
  // The bucket refills (50/s): the same connection is served again.
  let again: TEvent | undefined;
  for (let i = 0; i < 50 && again?.event !== 'EventServerInfo'; i++) {
    again = await flood.request('RequestQueryServer');
    if (again.event !== 'EventServerInfo') await new Promise((r) => setTimeout(r, 50)); // pacing a retry, as a client would
  }
  t.equal(again?.event, 'EventServerInfo', 'served again once under the rate');

  // DNs per client and user-data size.
  const agent = await openClient(t, ts.url, 'agent');
  t.equal((await agent.request('RequestRegisterAddress', { thisDN: '5001' })).event, 'EventRegistered');
  t.equal((await agent.request('RequestRegisterAddress', { thisDN: '5002' })).event, 'EventRegistered');
  t.match(await agent.request('RequestRegisterAddress', { thisDN: '5003' }), { event: 'EventError', errorCode: 'Overloaded', errorMessage: /limit \(tserver\.maxDNsPerClient\) is 2/ });
  t.match(await agent.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002', userData: { blob: 'x'.repeat(300) } }), { event: 'EventError', errorCode: 'BadRequest', errorMessage: /userData is \d+ bytes/ });
  t.equal((await ts.health()).calls, 0, 'nothing was dialed');

  // Oversized frames: up to 2x the limit answered BadRequest; beyond, the connection is closed (1009).
  t.match(await agent.request('RequestQueryServer', { pad: 'x'.repeat(MAX_FRAME + 10) }), { event: 'EventError', errorCode: 'BadRequest', errorMessage: /over the limit/ });
  const big = await openClient(t, ts.url, 'big');
  big.sendRaw(JSON.stringify({ request: 'RequestQueryServer', referenceId: big.ref(), pad: 'x'.repeat(MAX_FRAME * 3) }));
  t.equal((await big.closedWith()).code, 1009);
  await ts.proc.waitFor((l) => l.msg === 'client connection error' && /frame over/.test(String(l.reason)), 5_000, 'oversize log');

  // Too many connections: flooder and agent are open; two more fill the cap of 4, the fifth gets 503.
  const c3 = await TestClient.connect(ts.url, 'c3');
  const c4 = await TestClient.connect(ts.url, 'c4');
  t.teardown(() => Promise.all([c3.close(), c4.close()]));
  const full = await upgradeStatus(ts.url);
  t.equal(full.status, 503);
  t.match(full.body, /connection limit reached \(4 open/);
  await ts.proc.waitFor((l) => l.msg === 'connection refused' && l.status === 503, 5_000, 'connection cap log');
  await c4.close();
  for (let i = 0; i < 100 && !/^tandem_connections 3$/m.test(await ts.metrics()); i++) await new Promise((r) => setImmediate(r));
  t.match(await ts.metrics(), /^tandem_connections 3$/m, 'c4 gone: a slot is free');

  // Unharmed: a new client opens once a slot is free; the earlier ones still work.
  const late = await openClient(t, ts.url, 'late');
  t.match(await late.request('RequestQueryAddress', { thisDN: '5001' }), { event: 'EventAddressInfo' });
  t.match(await agent.request('RequestQueryAddress', { thisDN: '5001' }), { event: 'EventAddressInfo' });
  t.match(await ts.metrics(), /tandem_connections_refused_total\{status="503"\} 1/);
  t.equal(ts.proc.child.exitCode, null, 'server alive');
});

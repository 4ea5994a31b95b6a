// Fuzzing /tlib with a real T-Server: 70,000 random and mutated frames (truncation, type swaps, huge
// numbers, deep nesting, unicode, wrong attributes, binary frames) from opened clients, in pipelined
// bursts. Every frame is invalid (checked with the server's own validator before sending) and must be
// answered with exactly one EventError; the process stays up, its state does not change, its memory
// stays bounded and its log is not flooded.
import t from 'tap';
import { WebSocket } from 'ws';
import { parseRequest } from '../../src/protocol/validate.js';
import { checkRequest } from '../../src/adapters/gateway/guard.js';
import { DEFAULT_LIMITS } from '../../src/processes/tserver/config.js';
import type { Request, TEvent } from '../../src/protocol/messages.js';
import { openClient, startStack } from '../helpers/tserver-fixture.js';
import { mutateRequest, Rng, rssMb } from '../helpers/fuzz.js';

const FRAMES = 70_000;
const CONNECTIONS = 4;
const BURST = 500;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_121);

const VALID: Record<string, unknown>[] = [
  { request: 'RequestOpen', referenceId: 1, clientName: 'fuzz', token: 't' },
  { request: 'RequestRegisterAddress', referenceId: 2, thisDN: '5001' },
  { request: 'RequestAgentLogin', referenceId: 3, thisDN: '5001', agentId: 'a1', thisQueue: '7000', workMode: 'ManualIn', password: 'p' },
  { request: 'RequestAgentReady', referenceId: 4, thisDN: '5001', workMode: 'AutoIn' },
  { request: 'RequestMakeCall', referenceId: 5, thisDN: '5001', otherDN: '5002', userData: { case: 1, tags: ['a'] } },
  { request: 'RequestAnswerCall', referenceId: 6, thisDN: '5001', connId: '00000000000000a1' },
  { request: 'RequestAttachUserData', referenceId: 7, thisDN: '5001', connId: '00000000000000a1', userData: { k: 'v' } },
  { request: 'RequestCompleteTransfer', referenceId: 8, thisDN: '5001', connId: '00000000000000a1', transferConnId: '00000000000000a2' },
  { request: 'RequestQueryAddress', referenceId: 9, thisDN: '5001' },
  { request: 'RequestReplay', referenceId: 10, afterSeq: 0 },
];

/** A frame the server must refuse: its own validator and edge checks say so. */
function invalidFrame(r: Rng): { text: string } | { binary: Buffer } {
  for (;;) {
    if (r.int(20) === 0) return { binary: r.bytes(r.int(200)) };
    const text = r.int(25) === 0 ? r.bytes(r.int(100)).toString('latin1') : mutateRequest(r, r.pick(VALID));
    const p = parseRequest(text, DEFAULT_LIMITS.maxFrameBytes);
    if (!p.ok) return { text };
    if (checkRequest(p.request as Request, undefined, [], DEFAULT_LIMITS)) return { text };
  }
}

t.test(`fuzz /tlib: ${FRAMES} invalid frames (seed ${SEED})`, async (t) => {
  // A long lease: the fuzz load on a 2-core box must not make the T-Server miss heartbeats (that
  // would be a real but unrelated state change: a lapse and a new epoch).
  const { ts } = await startStack(t, { config: { tserver: { maxRequestsPerSecond: 0 } }, switchArgs: ['--lease-ms', '5000', '--heartbeat-ms', '250'] });
  const ref = await openClient(t, ts.url, 'witness');
  await ref.request('RequestRegisterAddress', { thisDN: '5001' });
  await ref.request('RequestAgentLogin', { thisDN: '5001', agentId: 'w1', thisQueue: '7000' });
  const strip = (e: TEvent) => ({ ...e, time: undefined, referenceId: undefined });
  const before = { health: await ts.health(), address: strip(await ref.request('RequestQueryAddress', { thisDN: '5001' })) };
  const pid = ts.proc.child.pid!;
  // Warm up once so the baseline includes the JIT and the buffers of steady state.
  const rss0 = rssMb(pid);

  const rng = new Rng(SEED);
  let sent = 0;
  let answered = 0;
  let notErrors = 0;
  const codes = new Map<string, number>();
  const fuzzers = await Promise.all(Array.from({ length: CONNECTIONS }, async (_, i) => {
    const c = await openClient(t, ts.url, `fuzz-${i}`);
    return c.ws;
  }));
  const counters = fuzzers.map(() => ({ got: 0 }));
  const unsolicited: string[] = [];
  fuzzers.forEach((ws, i) => ws.on('message', (data) => {
    const e = JSON.parse(data.toString()) as TEvent;
    // Pushed to every connection (role, link); not an answer to a frame.
    if (e.event === 'EventServerInfo' || e.event === 'EventLinkConnected' || e.event === 'EventLinkDisconnected') { unsolicited.push(e.event); return; }
    counters[i]!.got += 1;
    answered += 1;
    if (e.event !== 'EventError') notErrors += 1;
    else codes.set(e.errorCode!, (codes.get(e.errorCode!) ?? 0) + 1);
  }));
  // The open answers were consumed by openClient's TestClient; count from here on.
  for (const c of counters) c.got = 0;
  answered = 0;

  const t0 = Date.now();
  let rssPeak = rss0;
  while (sent < FRAMES) {
    await Promise.all(fuzzers.map(async (ws, i) => {
      const target = counters[i]!.got + BURST;
      for (let k = 0; k < BURST; k++) {
        const f = invalidFrame(rng);
        if ('binary' in f) ws.send(f.binary, { binary: true });
        else ws.send(f.text);
      }
      sent += BURST;
      await new Promise<void>((resolve, reject) => {
        const check = () => { if (counters[i]!.got >= target) { ws.off('message', check); ws.off('close', closed); resolve(); } };
        const closed = (code: number) => reject(new Error(`fuzz connection ${i} closed (${code}) after ${sent} frames, seed ${SEED}`));
        ws.on('message', check);
        ws.on('close', closed);
        check();
      });
    }));
    if (sent % 10_000 < BURST * CONNECTIONS) rssPeak = Math.max(rssPeak, rssMb(pid));
  }
  const ms = Date.now() - t0;
  t.comment(`${sent} frames in ${ms} ms (${Math.round(sent / (ms / 1000))}/s); codes ${JSON.stringify(Object.fromEntries(codes))}; RSS ${rss0.toFixed(0)} -> peak ${rssPeak.toFixed(0)} MB`);

  t.ok(sent >= FRAMES, `${sent} frames sent`);
  t.equal(answered, sent, 'every frame answered exactly once');
  t.equal(notErrors, 0, 'every answer is an EventError');
  t.same(unsolicited, [], 'no role or link change during the fuzz');
  for (const ws of fuzzers) t.equal(ws.readyState, WebSocket.OPEN, 'fuzz connection kept');
  t.equal(ts.proc.child.exitCode, null, 'T-Server alive');
  const after = { health: await ts.health(), address: strip(await ref.request('RequestQueryAddress', { thisDN: '5001' })) };
  t.same(after.address, before.address, 'DN state unchanged');
  t.same({ seq: after.health.seq, calls: after.health.calls, epoch: after.health.epoch, switchLink: after.health.switchLink },
    { seq: before.health.seq, calls: before.health.calls, epoch: before.health.epoch, switchLink: before.health.switchLink }, 'server state unchanged');
  t.ok(rssPeak - rss0 < 200, `memory bounded: RSS grew ${(rssPeak - rss0).toFixed(0)} MB (< 200)`);
  const rejectLines = ts.proc.lines.filter((l) => l.msg === 'request rejected').length;
  const suppressed = ts.proc.lines.filter((l) => l.msg === 'rejected requests not logged (over 20 a second on this connection)').reduce((n, l) => n + Number(l.suppressed), 0);
  t.ok(rejectLines < sent / 5, `log not flooded: ${rejectLines} rejection lines, ${suppressed} more counted in summaries`);
});

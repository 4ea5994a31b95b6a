// CoreHost, the shell around the pure core: a core bug is not swallowed. The input is rolled back
// (no delta, event, reply or command leaves the host), the bug is logged with the input (ids, no user
// data) and handed to onCoreBug, which in a T-Server exits non-zero (tserver-core-bug.test.ts).
import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { canonicalState, CoreBugError, defaultCoreConfig } from '../../src/core/index.js';
import type { Request } from '../../src/protocol/messages.js';
import { CoreHost } from '../../src/pipeline/core-host.js';
import { BatchCollector, type OutboundBatch } from '../../src/pipeline/outbound.js';
import { FakeSwitch } from '../helpers/fake-switch.js';
import { PLAN } from '../helpers/core-rig.js';

function host(onCoreBug?: (err: CoreBugError) => void) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  const batches: OutboundBatch[] = [];
  const batch = new BatchCollector((b) => batches.push(b));
  const core = new CoreHost({
    config: defaultCoreConfig(), role: { role: 'primary', epoch: 1, serving: true }, batch, log: pino({ level: 'info' }, sink),
    ...(onCoreBug ? { onCoreBug } : {}),
  });
  const commands: unknown[] = [];
  core.attachSwitch({ isUp: true, send: (c) => commands.push(...c) });
  core.switchSnapshot(new FakeSwitch(PLAN).snapshot());
  core.request('desk', { request: 'RequestAgentLogin', referenceId: 1, thisDN: '5001', agentId: 'a1', thisQueue: '7000', workMode: 'AuxWork' } as Request);
  batch.flush();
  batches.length = 0;
  t.teardown(() => core.stop());
  return { core, batch, batches, lines, commands };
}

const ready = { request: 'RequestAgentReady', referenceId: 2, thisDN: '5001', userData: { secret: 'x' } } as unknown as Request;

t.test('a core bug half-way through an input: nothing applied, nothing sent, logged with the input, onCoreBug called', async (t) => {
  const bugs: CoreBugError[] = [];
  const h = host((err) => bugs.push(err));
  const before = canonicalState(h.core.state);
  h.core.failNextInputAfter = 2;
  h.core.request('desk', ready);
  h.batch.flush();
  t.equal(bugs.length, 1);
  t.equal(bugs[0]!.undone, 2, 'two deltas had been applied, both undone');
  t.equal(canonicalState(h.core.state), before, 'state unchanged');
  t.same(h.batches, [], 'no delta, event or reply handed on');
  t.same(h.commands, []);
  const line = h.lines.find((l) => l.code === 'CoreBug');
  t.ok(line, 'one error line');
  t.equal(line!.level, 50);
  t.same(line!.input, { kind: 'request', clientName: 'desk', request: 'RequestAgentReady', referenceId: 2, thisDN: '5001' });
  t.equal(line!.undoneDeltas, 2);
  t.notMatch(JSON.stringify(line), /secret/, 'user data is not logged');

  // The fault was one-shot: the same request now runs and its deltas go out.
  h.core.request('desk', ready);
  h.batch.flush();
  t.equal(h.batches.length, 1);
  t.ok(h.batches[0]!.deltas.length > 0);
  t.equal(h.core.state.agents.get('5001')?.state, 'Ready');
});

t.test('without onCoreBug the error reaches the caller (never swallowed)', async (t) => {
  const h = host();
  h.core.failNextInputAfter = 0;
  t.throws(() => h.core.request('desk', ready), { code: 'CoreBug', undone: 0 });
  h.batch.flush();
  t.same(h.batches, []);
  // The host is usable again afterwards (its run loop was not left marked as running).
  h.core.request('desk', ready);
  h.batch.flush();
  t.equal(h.core.state.agents.get('5001')?.state, 'Ready');
});

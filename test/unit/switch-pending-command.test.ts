// A command the call model completes later (CallModel.command -> {pending: true}, then
// SwitchHooks.commandDone): the SIP switch's remote answer waits for the phone's 200 OK (issue 13).
// On a real switch in-process (gRPC on 127.0.0.1 port 0) with a model that holds every Answer until
// the test completes it: no result before, the events then the result after, exactly once; a repeat
// of the id meanwhile gets the same result marked duplicate; the command log records it once.
import t from 'tap';
import pino from 'pino';
import { startSwitchServer } from '../../src/processes/switch/start.js';
import { DEFAULT_SWITCH_CONFIG } from '../../src/processes/switch/config.js';
import { Pbx } from '../../src/processes/switch/pbx.js';
import type { CallModel, SwitchHooks } from '../../src/processes/switch/call-model.js';
import { openLink } from '../../src/adapters/switch-client/link-client.js';
import { sw } from '../../src/wire/switch-proto.js';

t.test('a pending command: result only when the model says so, after its events, once; repeats answered as duplicates', async (t) => {
  let hooks: SwitchHooks | undefined;
  const held: sw.ICommand[] = [];
  let pbx: Pbx | undefined;
  const server = await startSwitchServer({ ...DEFAULT_SWITCH_CONFIG, host: '127.0.0.1', port: 0, leaseMs: 60_000 }, pino({ level: 'silent' }), (plan, h) => {
    hooks = h;
    const p = (pbx = new Pbx(plan));
    const model: CallModel = {
      command: (cmd, now) => {
        if (!cmd.answer) return p.command(cmd, now);
        held.push(cmd);
        return { pending: true };
      },
      inboundCall: (a, d, now) => p.inboundCall(a, d, now),
      callerHangup: (c, a, now) => p.callerHangup(c, a, now),
      autoAnswer: (c, d, now) => p.autoAnswer(c, d, now),
      release: (c, d, now) => p.release(c, d, now),
      snapshotCalls: () => p.snapshotCalls(),
      devices: () => p.devices(),
    };
    return model;
  });
  t.teardown(() => server.close());
  const link = openLink({ address: `127.0.0.1:${server.port}`, serverName: 'A' });
  t.teardown(() => link.close());
  await link.welcome;
  t.match((await link.claim({ epoch: 1 })).granted, { epoch: 1 });
  const got: sw.LinkDown[] = [];
  link.on('message', (m) => got.push(m));

  const made = await link.command({ commandId: 'c1', epoch: 1, makeCall: { dn: '5001', to: '5002' } });
  t.match(made, { ok: true });
  const results: sw.CommandResult[] = [];
  const first = link.command({ commandId: 'a1', epoch: 1, answer: { callId: made.callId, dn: '5002' } }).then((r) => { results.push(r); return r; });
  await link.snapshot(); // a round trip: the switch has taken the answer
  t.equal(held.length, 1, 'the model holds the answer');
  t.same(results, [], 'no result while it is pending');
  const repeat = link.command({ commandId: 'a1', epoch: 1, answer: { callId: made.callId, dn: '5002' } }).then((r) => { results.push(r); return r; });
  await link.snapshot();
  t.equal(held.length, 1, 'a repeat of the id while pending runs nothing');
  t.same(results, [], 'and is not answered yet either');

  const o = pbx!.command(held[0]!, Date.now());
  hooks!.commandDone('a1', o);
  const [r1, r2] = await Promise.all([first, repeat]);
  t.match(r1, { commandId: 'a1', ok: true, callId: made.callId, duplicate: false });
  t.match(r2, { commandId: 'a1', ok: true, callId: made.callId, duplicate: true }, 'the repeat: the same result, marked duplicate');
  const established = got.findIndex((m) => m.events?.events?.some((e) => e.type === sw.EventType.ESTABLISHED && e.commandId === 'a1'));
  const result = got.findIndex((m) => m.commandResult?.commandId === 'a1');
  t.ok(established >= 0 && established < result, 'ESTABLISHED (with the command id) before the result');
  t.match(await link.command({ commandId: 'a1', epoch: 1, answer: { callId: made.callId, dn: '5002' } }), { ok: true, duplicate: true }, 'later repeats: the remembered result');
  t.equal(held.length, 1);
  const log = await link.commandLog();
  t.same(log.commands.map((c) => c.commandId), ['c1', 'a1'], 'recorded once, when it completed');

  // A failed pending command: its error, no event.
  const before = got.length;
  const second = link.command({ commandId: 'a2', epoch: 1, answer: { callId: made.callId, dn: '5002' } });
  await link.snapshot();
  hooks!.commandDone('a2', { ok: false, error: { code: 'InvalidState', message: "5002's phone refused the remote answer" } });
  t.match(await second, { commandId: 'a2', ok: false, errorCode: 'InvalidState', errorMessage: /refused the remote answer/ });
  t.notOk(got.slice(before).some((m) => m.events), 'no event');
});

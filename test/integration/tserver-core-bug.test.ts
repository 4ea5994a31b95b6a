// A core bug on a real primary (issue 12 item 5): the input it failed on is rolled back, the process
// logs it with the input and exits 70, and the in-sync backup, which never received any of the
// input's deltas, takes over; the desktop's retry (same referenceId) runs there exactly once.
// The fault comes from the core-bug test hook (TANDEM_TEST_HOOKS=1, src/processes/tserver/core-bug-test-hook.ts).
import t from 'tap';
import { inSync, roleChanged, startPair, type Member } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

process.env.TANDEM_TEST_HOOKS = '1';

async function failNextInput(m: Member, afterDeltas: number): Promise<void> {
  const r = await fetch(`${m.http}/debug/core-bug?afterDeltas=${afterDeltas}`);
  if (r.status !== 202) throw new Error(`core-bug hook answered ${r.status}: is TANDEM_TEST_HOOKS=1 set?`);
}

t.test('a core bug on the primary: exit 70 with the input logged, the backup takes over without the half-done input', async (t) => {
  const { a, b } = await startPair(t);
  const desk = await openClient(t, a.url, 'desk');
  await desk.request('RequestRegisterAddress', { thisDN: '5001' });
  const login = await desk.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'AuxWork' });
  t.equal(login.event, 'EventAgentLogin');
  await inSync(a, b);

  await failNextInput(a, 1);
  const ref = desk.ref();
  desk.sendRaw(JSON.stringify({ request: 'RequestAgentReady', referenceId: ref, thisDN: '5001' }));
  t.equal(await a.proc.exited, 70, 'A exits 70 (EX_SOFTWARE)');
  const bug = a.proc.lines.find((l) => l.code === 'CoreBug');
  t.ok(bug, 'A logged the core bug');
  t.equal(bug?.level, 50, 'at error level');
  t.match(bug?.input, { kind: 'request', clientName: 'desk', request: 'RequestAgentReady', referenceId: ref, thisDN: '5001' });
  t.equal(bug?.undoneDeltas, 1);
  t.notOk(desk.events.some((e) => e.referenceId === ref), 'the failed request got no answer from A');

  await roleChanged(b, 'primary', 0, 10_000);
  const again = await openClient(t, b.url, 'desk');
  const info = await again.request('RequestQueryAddress', { thisDN: '5001' });
  t.equal(info.agentState, 'NotReady', 'B never saw any of the failed input');
  // The SDK retries with the same referenceId: the failed input left no de-dup record, so it runs.
  again.sendRaw(JSON.stringify({ request: 'RequestAgentReady', referenceId: ref, thisDN: '5001' }));
  const retry = await again.waitFor((e) => e.referenceId === ref, 5_000, 'answer to the retry');
  t.equal(retry.event, 'EventAgentReady', `the retry runs on B (got ${JSON.stringify(retry)})`);
  const h = await b.health();
  t.match(h, { role: 'primary', serving: true });
});

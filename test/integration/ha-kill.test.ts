// kill -9 of the primary in the middle of everything (calls ringing, established with user data,
// held, in consultation, in conference, queued with treatment, at a route point; agents Ready,
// NotReady, AfterCallWork): the backup becomes primary at once and has every call, ConnID, user data,
// agent state, queue position and registration the primary had; new requests work; seq and ConnIDs
// continue without reuse.
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { inSync, mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { runWorkload, WORKLOAD_CONFIG } from '../helpers/ha-workload.js';
import { openClient } from '../helpers/tserver-fixture.js';

type State = Record<string, unknown> & { seq: number; connIdCounter: number; calls: Record<string, unknown>; registrations: Record<string, unknown> };

t.test('kill -9 of the primary: the backup takes over with the whole state', async (t) => {
  const pair = await startPair(t, { config: WORKLOAD_CONFIG });
  const { a, b } = pair;
  const caller = await connectLink({ address: pair.sw.address, serverName: 'caller' });
  t.teardown(() => caller.close());
  const onA = await openClient(t, a.url, 'desk');
  const onB = await openClient(t, b.url, 'desk');
  const { connIds } = await runWorkload(onA, caller);
  // A desktop that registered with the backup only: its registration must survive the promotion.
  const lateB = await openClient(t, b.url, 'late');
  t.equal((await lateB.request('RequestRegisterAddress', { thisDN: '5099' })).event, 'EventRegistered');

  await inSync(a, b);
  const before = JSON.parse(await a.state()) as State;
  const from = mark(b);
  const killedAt = Date.now();
  a.proc.kill('SIGKILL');
  const promoted = await roleChanged(b, 'primary', from);
  t.comment(`promoted ${Date.parse(String(promoted.time)) - killedAt} ms after kill -9 (${String(promoted.reason)})`);
  t.ok(Number(promoted.epoch) > Number(promoted.oldEpoch), 'epoch went up');

  const after = JSON.parse(await b.state()) as State;
  for (const coll of ['devices', 'calls', 'agents', 'queues', 'routeRequests', 'pending']) {
    t.same(after[coll], before[coll], `${coll}: the same on the new primary`);
  }
  const { late, ...regs } = after.registrations;
  t.same(regs, before.registrations, 'registrations made through the primary are there');
  t.same(late, { clientName: 'late', dns: ['5099'] }, 'a registration made on the backup only is re-run on promotion');
  t.ok(after.seq >= before.seq, 'seq did not go back');
  for (const id of Object.values(connIds)) t.ok(after.calls[id], `call ${id} is there`);

  // New requests work and numbering continues.
  const answered = await onB.request('RequestAnswerCall', { thisDN: '5021', connId: connIds.ringing }, 10_000);
  t.equal(answered.event, 'EventEstablished', 'the ringing call is answered on the new primary');
  t.ok(answered.seq! > before.seq, `new events continue the seq (${answered.seq} > ${before.seq})`);
  const dial = await onB.request('RequestMakeCall', { thisDN: '5071', otherDN: '5072' });
  t.equal(dial.event, 'EventDialing');
  const maxOld = Object.keys(before.calls).sort().at(-1)!;
  t.ok(dial.connId! > maxOld && !before.calls[dial.connId!], `a new ConnID (${dial.connId} > ${maxOld})`);
  t.equal((await onB.request('RequestAgentReady', { thisDN: '5012' })).event, 'EventAgentReady', 'agent requests work');
  const h = await b.health();
  t.match(h, { haState: 'primary', serving: true, syncState: 'alone' }, 'the new primary runs alone and says so');
  t.ok(b.proc.lines.some((l) => l.msg === 'running alone: no backup in sync, nothing waits for acks'), 'running alone is logged');
});

// Overload control at the entry, with real processes (switch + one T-Server) and real sockets: while
// the T-Server's governor is overloaded (forced by the test hook /debug/overload, TANDEM_TEST_HOOKS=1),
// the switch answers part of the NEW inbound calls Congestion (no call, no event), while the call in
// progress and the agent's requests still work; once the overload ends the gate reopens by itself.
// A link that does not hold the lease cannot gap; a primary that goes silent does not leave gapping on.
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import type { sw } from '../../src/wire/switch-proto.js';
import { openClient, startStack } from '../helpers/tserver-fixture.js';

// The overload hook exists only with TANDEM_TEST_HOOKS=1 (src/processes/tserver/overload-test-hook.ts).
process.env.TANDEM_TEST_HOOKS = '1';

/** A fast governor: a decision every 50 ms, halving at once, back to admit-all within ~0.3 s of calm. */
const OVERLOAD = { sampleMs: 25, intervalMs: 50, validMs: 600, decreaseEveryMs: 0, decreasePercent: 50, increasePermille: 300, clearHoldMs: 100, minAdmitPermille: 100 };

async function force(http: string, ms: number): Promise<void> {
  const r = await fetch(`${http}/debug/overload?ms=${ms}`);
  if (r.status !== 202) throw new Error(`overload hook answered ${r.status}: is TANDEM_TEST_HOOKS=1 set?`);
}

t.test('forced overload: new inbound calls gapped with Congestion, calls in progress and agents served, gate reopens by itself', async (t) => {
  const { sw, ts } = await startStack(t, { config: { tserver: { overload: OVERLOAD } } });
  const caller = await connectLink({ address: sw.address, serverName: 'caller' });
  t.teardown(() => caller.close());
  const delivered = new Set<string>();
  let lastSeen: () => void = () => {};
  caller.on('events', (evs: sw.ISwitchEvent[]) => {
    for (const e of evs) if (e.type === 2 /* DELIVERED */) delivered.add(e.ani ?? '');
    if (delivered.has('4155559999')) lastSeen();
  });

  // A call in progress before the overload: ringing at agent 5001, answered.
  const agent = await openClient(t, ts.url, 'agent-5001');
  await agent.request('RequestRegisterAddress', { thisDN: '5001' });
  t.equal((await caller.inboundCall('4155550001', '5001')).ok, true);
  const ring = await agent.take((e) => e.event === 'EventRinging', 5_000, 'ringing');
  t.equal((await agent.request('RequestAnswerCall', { thisDN: '5001', connId: ring.connId })).event, 'EventEstablished');

  // Overload: the governor halves its share every 50 ms down to 100 per 1,000 and tells the switch.
  await force(ts.http, 2_000);
  await ts.proc.waitFor((l) => l.component === 'overload' && /^overload: shedding new inbound calls/.test(String(l.msg)), 5_000, 'governor sheds');
  await sw.proc.waitFor((l) => l.component === 'overload' && l.admitPermille === 100, 5_000, 'switch gate at the floor');

  // 30 new inbound calls while gapping at 100 per 1,000: the credit counter admits exactly 3.
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => caller.inboundCall(`41555510${String(i).padStart(2, '0')}`, '5002')));
  const congested = results.filter((r) => !r.ok);
  t.equal(results.filter((r) => r.ok).length, 3, 'admitted: 3 of 30');
  t.equal(congested.length, 27);
  for (const r of congested) t.match(r, { ok: false, errorCode: 'Congestion', callId: '', errorMessage: /congested: the switch admits 100 of every 1,000 new inbound calls \(overload control from A, epoch \d+\).*try again later/ });

  // The call in progress and the agent are served while new calls are gapped.
  t.equal((await agent.request('RequestHoldCall', { thisDN: '5001', connId: ring.connId })).event, 'EventHeld');
  t.equal((await agent.request('RequestRetrieveCall', { thisDN: '5001', connId: ring.connId })).event, 'EventRetrieved');
  t.equal((await agent.request('RequestReleaseCall', { thisDN: '5001', connId: ring.connId })).event, 'EventReleased');

  // The overload ends (the hook's 2 s): the governor climbs back and clears; the switch opens at once.
  await sw.proc.waitFor((l) => l.component === 'overload' && l.reason === 'Cleared', 10_000, 'gapping off');
  await ts.proc.waitFor((l) => l.component === 'overload' && /^overload over/.test(String(l.msg)), 5_000, 'governor clear');
  const after = await Promise.all(Array.from({ length: 10 }, (_, i) => caller.inboundCall(`41555520${String(i).padStart(2, '0')}`, '5002')));
  t.same(after.map((r) => r.ok), Array(10).fill(true), 'every new call admitted again');

  // Gapped calls created nothing: no DELIVERED event at all, and the T-Server knows only the admitted calls.
  // A last call: its event comes after every earlier one (one stream, in seq order).
  const seen = new Promise<void>((resolve) => { lastSeen = resolve; });
  await caller.inboundCall('4155559999', '5002');
  await seen;
  const gappedAnis = results.map((r, i) => (r.ok ? '' : `41555510${String(i).padStart(2, '0')}`)).filter(Boolean);
  t.same(gappedAnis.filter((a) => delivered.has(a)), [], 'no event for a gapped call');
  t.equal(delivered.size, 1 + 3 + 10 + 1, 'an event for every admitted call');
  const m = await ts.metrics();
  t.match(m, /tandem_overload_calls_gapped 27\b/);
  t.match(m, /tandem_overload_admit_permille 1000\b/);
  const gapOn = sw.proc.lines.filter((l) => l.component === 'overload' && /^gapping on/.test(String(l.msg)));
  t.equal(gapOn.length, 1, 'the switch logged gapping on once, not per call');
  t.match(sw.proc.lines.find((l) => l.reason === 'Cleared'), { gapped: 27, admitted: 3 });
});

t.test('fencing and expiry: a non-holder cannot gap; a silent primary does not leave gapping on', async (t) => {
  const { sw, ts } = await startStack(t, { config: { tserver: { overload: OVERLOAD } } });
  const tool = await connectLink({ address: sw.address, serverName: 'tool' });
  t.teardown(() => tool.close());
  const errors: sw.IError[] = [];
  tool.on('message', (m: sw.ILinkDown) => { if (m.error) errors.push(m.error); });
  tool.send({ overloadControl: { epoch: 1, admitPermille: 0, validMs: 60_000 } });
  await sw.proc.waitFor((l) => l.component === 'overload' && l.code === 'NotLeaseHolder', 5_000, 'refusal logged');
  t.equal((await tool.inboundCall('4155550100', '5002')).ok, true, 'a non-holder\'s OverloadControl changed nothing');
  t.match(errors, [{ code: 'NotLeaseHolder', message: /OverloadControl refused: this link does not hold the lease/ }]);

  // The primary gaps, then stops (SIGSTOP): its setting lapses (lease change or validMs), calls flow.
  await force(ts.http, 60_000);
  await sw.proc.waitFor((l) => l.component === 'overload' && l.admitPermille === 100, 5_000, 'switch gate at the floor');
  ts.proc.kill('SIGSTOP');
  t.teardown(() => ts.proc.kill('SIGCONT'));
  const off = await sw.proc.waitFor((l) => l.component === 'overload' && (l.reason === 'Expired' || l.reason === 'LeaseChanged'), 5_000, 'gapping off without the primary');
  t.match(off.msg, /^gapping off/);
  const calls = await Promise.all(Array.from({ length: 10 }, (_, i) => tool.inboundCall(`415555300${i}`, '5002')));
  t.same(calls.map((r) => r.ok), Array(10).fill(true), 'every new call admitted with the primary gone silent');
  ts.proc.kill('SIGCONT');
});

// The switch Snapshot rebuilds devices and the calls the switch knows (no events), parks calls at route
// points and queues, drops calls the switch no longer has, and sets the applied switch seq.
import t from 'tap';
import { createState, describeDN, waitingCallers } from '../../src/core/index.js';
import { Rig, seqOf } from '../helpers/core-rig.js';

t.test('snapshot on an empty core rebuilds the calls quietly', async (t) => {
  const old = new Rig({ routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } } });
  const talking = old.inbound('4155550100', '5001');
  old.req('d', { request: 'RequestAnswerCall', thisDN: '5001', connId: old.connIdOf(talking.callId) });
  old.inbound('4155550101', '7000');
  old.inbound('4155550102', '8000');

  const fresh = new Rig(old.config, undefined, { sw: old.sw, state: createState() });
  const out = fresh.feed({ kind: 'switchSnapshot', snapshot: old.sw.snapshot() });
  t.same(seqOf(out), [], 'catching up is not an event');
  t.equal(fresh.state.appliedSwitchSeq, old.sw.seq);
  t.equal(fresh.state.calls.size, 3);
  t.equal(fresh.state.devices.get('8000')?.type, 'RoutePoint');
  t.equal(fresh.state.routeRequests.size, 1);
  t.equal(waitingCallers(fresh.state, '7000').length, 1);
  t.match(describeDN(fresh.state, '5001'), { calls: [{ state: 'Established', ani: '4155550100' }] });

  // A call that ended meanwhile disappears with the next snapshot.
  old.callerHangup(talking.callId);
  fresh.feed({ kind: 'switchSnapshot', snapshot: old.sw.snapshot() });
  t.equal(fresh.state.calls.size, 2);
  t.same(describeDN(fresh.state, '5001').calls, []);
  // And the rebuilt core goes on with the switch's events.
  fresh.agentReady('5002', 'a2');
  t.same(waitingCallers(fresh.state, '7000'), [], 'the waiting caller went to the new Ready agent');
  t.equal(fresh.state.calls.get(fresh.connIdOf([...old.sw.calls.values()].find((c) => c.dnis === '7000')!.callId))?.parties.find((p) => p.dn === '5002')?.state, 'Ringing');
});

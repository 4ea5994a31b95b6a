// "Backup equals primary": the deltas of a long mixed scenario, applied (as JSON) to a fresh state,
// give the same canonical state; so do snapshotDeltas.
import t from 'tap';
import { applyDelta, canonicalState, createState, snapshotDeltas, stateDigest, type CoreState, type Delta } from '../../src/core/index.js';
import { Rig, seqsIncrease } from '../helpers/core-rig.js';

function rebuild(deltas: Delta[]): CoreState {
  const s = createState();
  for (const d of JSON.parse(JSON.stringify(deltas)) as Delta[]) applyDelta(s, d);
  return s;
}

t.test('a replica built from the output deltas equals the primary, at every step', async (t) => {
  const rig = new Rig({ routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } }, queues: { '7000': { wrapUpMs: 2000, treatment: 'music' } }, journal: { maxEvents: 40, maxAgeMs: 600_000 }, dedup: { maxRecords: 20, maxAgeMs: 600_000 } });
  const replica = createState();
  let applied = 0;
  const sync = (): void => {
    for (const d of JSON.parse(JSON.stringify(rig.all.deltas.slice(applied))) as Delta[]) applyDelta(replica, d);
    applied = rig.all.deltas.length;
    t.equal(canonicalState(replica), canonicalState(rig.state));
  };
  rig.req('r', { request: 'RequestRegisterAddress', thisDN: '8000' });
  rig.agentReady('5001', 'a1');
  rig.agentReady('5002', 'a2');
  sync();
  for (let i = 0; i < 6; i++) {
    const inb = rig.inbound(`41555501${10 + i}`, i % 2 ? '8000' : '7000');
    const c = rig.connIdOf(inb.callId);
    if (i % 2) rig.req('r', { request: 'RequestAttachUserData', thisDN: '8000', connId: c, userData: { i } });
    if (i === 1) rig.req('r', { request: 'RequestRouteCall', thisDN: '8000', connId: c, otherDN: '7000' });
    rig.tick(5000);
    sync();
    const at = rig.state.calls.get(c)?.parties.find((p) => p.state === 'Ringing');
    if (at) {
      rig.req('d', { request: 'RequestAnswerCall', thisDN: at.dn, connId: c });
      if (i === 2) {
        const init = rig.req('d', { request: 'RequestInitiateTransfer', thisDN: at.dn, connId: c, otherDN: '5003' });
        const c2 = init.events.find((e) => e.event.event === 'EventDialing')!.event.connId!;
        rig.req('d3', { request: 'RequestAnswerCall', thisDN: '5003', connId: c2 });
        rig.req('d', { request: 'RequestCompleteTransfer', thisDN: at.dn, connId: c, transferConnId: c2 });
        rig.req('d3', { request: 'RequestReleaseCall', thisDN: '5003', connId: c });
      } else if (i === 4) {
        rig.req('d', { request: 'RequestHoldCall', thisDN: at.dn, connId: c });
        rig.req('d', { request: 'RequestRetrieveCall', thisDN: at.dn, connId: c });
        rig.req('d', { request: 'RequestReleaseCall', thisDN: at.dn, connId: c });
      } else {
        rig.callerHangup(inb.callId);
      }
    } else if (rig.sw.calls.has(inb.callId)) {
      rig.callerHangup(inb.callId);
    }
    sync();
    rig.tick(2000);
    sync();
  }
  rig.req('d', { request: 'RequestMakeCall', thisDN: '5004', otherDN: '5003' });
  rig.req('d', { request: 'RequestAgentNotReady', thisDN: '5001', workMode: 'AuxWork' });
  sync();
  t.ok(rig.all.events.length > 40, `a long scenario (${rig.all.events.length} events)`);
  t.ok(seqsIncrease(rig.all.events), 'seq strictly increasing');
  t.equal(rig.state.journal.length, 40, 'journal trimmed on the replica too');

  const fromSnapshot = rebuild(snapshotDeltas(rig.state));
  t.equal(canonicalState(fromSnapshot), canonicalState(rig.state), 'snapshotDeltas rebuilds the same state');
  t.equal(stateDigest(fromSnapshot), stateDigest(rig.state));
  t.same([...fromSnapshot.bySwitchCall], [...rig.state.bySwitchCall], 'derived indexes rebuilt');
  t.same([...fromSnapshot.callsByDN].map(([k, v]) => [k, [...v]]), [...rig.state.callsByDN].map(([k, v]) => [k, [...v]]));
});

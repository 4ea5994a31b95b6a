// A turn's deltas are coalesced by the BatchCollector (repeated puts of one key, repeated counters):
// a replica fed the coalesced batches through the wire codec ends with the same state as the primary,
// down to the insertion order of every collection (what a promoted backup iterates in).
import t from 'tap';
import { applyDelta, canonicalState, createState, type CoreState, type Delta } from '../../src/core/index.js';
import { deltaFromWire, deltaToWire } from '../../src/adapters/sync/delta-codec.js';
import { sy } from '../../src/wire/sync-proto.js';
import { BatchCollector, type OutboundBatch } from '../../src/pipeline/outbound.js';
import { Rig } from '../helpers/core-rig.js';

const COLLS = ['devices', 'calls', 'agents', 'registrations', 'routeRequests', 'queues', 'pending', 'dedup'] as const;

function order(s: CoreState): string {
  return JSON.stringify([...COLLS.map((c) => [...s[c].keys()]), s.journal.map((e) => e.seq)]);
}

/** Through the wire: encode, decode (as the backup receives a DeltaBatch). */
function wire(ds: Delta[]): Delta[] {
  const bytes = sy.DeltaBatch.encode({ firstOffset: 1, lastOffset: ds.length, deltas: ds.map(deltaToWire) }).finish();
  return sy.DeltaBatch.decode(bytes).deltas.map((w) => deltaFromWire(w as sy.Delta));
}

t.test('coalesced batches rebuild the same state in the same order', async (t) => {
  const rig = new Rig({ routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } }, queues: { '7000': { wrapUpMs: 2000, treatment: 'music' } }, journal: { maxEvents: 60, maxAgeMs: 600_000 }, dedup: { maxRecords: 25, maxAgeMs: 600_000 } });
  const replica = createState();
  const batches: OutboundBatch[] = [];
  const collector = new BatchCollector((b) => batches.push(b));
  let fed = 0;
  let before = 0;
  let after = 0;
  /** One "turn": everything the rig did since the last one, in the core's output order. */
  const turn = (): void => {
    const ds = rig.all.deltas.slice(fed);
    fed = rig.all.deltas.length;
    collector.deltas(ds);
    collector.flush();
    for (const b of batches.splice(0)) {
      before += ds.length;
      after += b.deltas.length;
      for (const d of wire(b.deltas)) applyDelta(replica, d);
    }
    t.equal(canonicalState(replica), canonicalState(rig.state));
    t.equal(order(replica), order(rig.state), 'same insertion order in every collection');
  };
  rig.req('r', { request: 'RequestRegisterAddress', thisDN: '8000' });
  rig.agentReady('5001', 'a1');
  rig.agentReady('5002', 'a2');
  turn();
  for (let i = 0; i < 8; i++) {
    const inb = rig.inbound(`41555502${10 + i}`, i % 2 ? '8000' : '7000');
    const c = rig.connIdOf(inb.callId);
    if (i % 2) rig.req('r', { request: 'RequestRouteCall', thisDN: '8000', connId: c, otherDN: '7000' });
    if (i % 3 === 0) turn();
    const at = rig.state.calls.get(c)?.parties.find((p) => p.state === 'Ringing');
    if (at) {
      rig.req('d', { request: 'RequestAnswerCall', thisDN: at.dn, connId: c });
      rig.req('d', { request: 'RequestAttachUserData', thisDN: at.dn, connId: c, userData: { i } });
      rig.req('d', { request: 'RequestReleaseCall', thisDN: at.dn, connId: c });
    } else if (rig.sw.calls.has(inb.callId)) {
      rig.callerHangup(inb.callId);
    }
    if (i % 2 === 0) turn();
    rig.tick(2500);
    rig.req('a', { request: 'RequestAgentLogin', thisDN: '5003', agentId: 'x' });
    rig.req('a', { request: 'RequestAgentLogout', thisDN: '5003' });
  }
  turn();
  t.ok(after < before * 0.8, `fewer deltas on the wire (${after} of ${before})`);
});

t.test('a put after a del of the same key is not merged across the del', async (t) => {
  const got: OutboundBatch[] = [];
  const c = new BatchCollector((b) => got.push(b));
  c.deltas([
    { op: 'put', coll: 'calls', key: 'a', value: 1 },
    { op: 'counters', seq: 1, connIdCounter: 1, appliedSwitchSeq: 1 },
    { op: 'put', coll: 'agents', key: 'a', value: 2 },
    { op: 'put', coll: 'calls', key: 'a', value: 3 },
    { op: 'del', coll: 'calls', key: 'a' },
    { op: 'put', coll: 'calls', key: 'a', value: 4 },
    { op: 'put', coll: 'calls', key: 'a', value: 5 },
    { op: 'counters', seq: 2, connIdCounter: 2, appliedSwitchSeq: 2 },
  ]);
  c.flush();
  t.same(got[0]!.deltas, [
    { op: 'put', coll: 'calls', key: 'a', value: 3 },
    { op: 'counters', seq: 2, connIdCounter: 2, appliedSwitchSeq: 2 },
    { op: 'put', coll: 'agents', key: 'a', value: 2 },
    { op: 'del', coll: 'calls', key: 'a' },
    { op: 'put', coll: 'calls', key: 'a', value: 5 },
  ]);
});

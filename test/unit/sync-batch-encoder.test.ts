// encodeDeltaBatch writes the live DeltaBatch frame straight from the core's deltas: byte for byte
// what the generated encoder makes of deltaToWire's wire objects, for every kind of delta.
import t from 'tap';
import type { Delta } from '../../src/core/index.js';
import { deltaFromWire, deltaToWire, encodeDeltaBatch } from '../../src/adapters/sync/delta-codec.js';
import { encodePrimary } from '../../src/wire/sync-service.js';
import { sy } from '../../src/wire/sync-proto.js';
import { Rig } from '../helpers/core-rig.js';

const generated = (first: number, last: number, ds: Delta[]): Buffer => encodePrimary({ deltaBatch: { firstOffset: first, lastOffset: last, deltas: ds.map(deltaToWire) } });

t.test('same bytes as the generated encoder, for a mixed workload and edge values', async (t) => {
  const rig = new Rig({ routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } }, queues: { '7000': { wrapUpMs: 1000, treatment: 'music' } }, journal: { maxEvents: 20, maxAgeMs: 600_000 } });
  rig.agentReady('5001', 'a1');
  for (let i = 0; i < 6; i++) {
    const inb = rig.inbound(`41555503${10 + i}`, i % 2 ? '8000' : '7000');
    const c = rig.connIdOf(inb.callId);
    const at = rig.state.calls.get(c)?.parties.find((p) => p.state === 'Ringing');
    if (at) {
      rig.req('d', { request: 'RequestAnswerCall', thisDN: at.dn, connId: c });
      rig.req('d', { request: 'RequestAttachUserData', thisDN: at.dn, connId: c, userData: { note: 'é✓😀 "quoted" \\ \u0000', n: i, deep: { a: [1, null, true] } } });
      rig.req('d', { request: 'RequestReleaseCall', thisDN: at.dn, connId: c });
    } else if (rig.sw.calls.has(inb.callId)) rig.callerHangup(inb.callId);
    rig.tick(3000);
  }
  const ds = rig.all.deltas;
  const kinds = new Set(ds.map((d) => d.op));
  t.same([...kinds].sort(), ['counters', 'del', 'journal', 'journalTrim', 'put'], 'every kind of delta is covered');
  for (let i = 0; i < ds.length; i += 7) {
    const part = ds.slice(i, i + 7);
    t.same(encodeDeltaBatch(1000 + i, 1000 + i + part.length - 1, part), generated(1000 + i, 1000 + i + part.length - 1, part));
  }
  const edge: Delta[] = [
    { op: 'put', coll: 'dedup', key: '', value: undefined },
    { op: 'put', coll: 'calls', key: 'k', value: '' },
    { op: 'del', coll: 'agents', key: '' },
    { op: 'counters', seq: 0, connIdCounter: 2 ** 52 + 3, appliedSwitchSeq: 0 },
    { op: 'journalTrim', upToSeq: 0 },
    { op: 'journalTrim', upToSeq: 2 ** 40 },
  ];
  t.same(encodeDeltaBatch(0, 0, edge), generated(0, 0, edge), 'defaults left out as proto3 does');
  t.same(encodeDeltaBatch(5, 4, []), generated(5, 4, []), 'empty batch');
  const decoded = sy.PrimaryToBackup.decode(encodeDeltaBatch(1, ds.length, ds)).deltaBatch!;
  t.same(decoded.deltas.map((w) => deltaFromWire(w as sy.Delta)), JSON.parse(JSON.stringify(ds)), 'decodes to the same deltas');
});

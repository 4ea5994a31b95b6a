// Queue entries are one replicated entity per waiting caller; the FIFO line of each queue is derived
// (queue-index.ts). A primary, a backup fed its deltas through the wire codec and a backup built from
// a full snapshot agree on every queue's order, on the next caller to offer and on the reserved
// agents; a promoted backup serves the callers in the order the primary would have. The line itself
// matches a sorted model under any sequence of puts and deletes (rollbacks put entries back anywhere).
import t from 'tap';
import { applyDelta, canonicalState, createState, snapshotDeltas, waitingCallers, type CoreState, type Delta, type QueueEntry } from '../../src/core/index.js';
import { QueueLine, createQueueIndex, reindexQueueEntry } from '../../src/core/queue-index.js';
import { LazyMinHeap } from '../../src/core/derived.js';
import { deltaFromWire, encodeDeltaBatch } from '../../src/adapters/sync/delta-codec.js';
import { sy } from '../../src/wire/sync-proto.js';
import { Rig, seqOf } from '../helpers/core-rig.js';

const CFG = { queues: { '7000': { wrapUpMs: 0, treatment: 'music' }, '7001': { wrapUpMs: 0, treatment: 'silence' } } };

/** Deltas as a backup receives them: one DeltaBatch frame, decoded. */
function overWire(deltas: Delta[]): Delta[] {
  const frame = encodeDeltaBatch(1, deltas.length, deltas);
  return sy.PrimaryToBackup.decode(frame).deltaBatch!.deltas.map((w) => deltaFromWire(w as sy.Delta));
}

function stateFrom(deltas: Delta[]): CoreState {
  const s = createState();
  for (const d of overWire(deltas)) applyDelta(s, d);
  return s;
}

/** What the ACD reads from the queue index: each line in order, its next caller to offer, the reserved agents. */
function view(s: CoreState): unknown {
  const out: Record<string, unknown> = {};
  for (const dn of [...s.queueIndex.lines.keys()].sort()) {
    out[dn] = { line: waitingCallers(s, dn).map((e) => e.connId), next: s.queueIndex.lines.get(dn)!.firstFree()?.[0] };
  }
  return { queues: out, offersTo: [...s.queueIndex.offersTo].sort() };
}

t.test('primary, incremental backup and snapshot backup agree on FIFO order after enqueues, offers, refusals and abandons', async (t) => {
  const rig = new Rig(CFG);
  rig.agentReady('5001', 'a1');
  rig.agentReady('5002', 'a2');
  rig.agentReady('5003', 'a3', '7001');
  rig.autoRun = false; // the switch sits on the ACD's Deflects: offers stay in flight
  const calls: string[] = [];
  for (let i = 0; i < 12; i++) {
    rig.now += 7;
    calls.push(rig.inbound(`41555500${String(i).padStart(2, '0')}`, i % 4 === 3 ? '7001' : '7000').callId);
  }
  const offers = rig.held.splice(0);
  t.equal(offers.length, 3, 'one offer per Ready agent, to the oldest callers');
  t.same(offers.map((c) => c.deflect?.callId), [calls[0], calls[1], calls[3]]);
  // The switch refuses the first offer: that caller waits again, first in line, and is offered at the next tick.
  rig.feed({ kind: 'commandResult', result: { commandId: offers[0]!.commandId, ok: false, errorCode: 'InvalidState' } });
  t.equal(rig.state.agents.get('5001')?.state, 'Ready', 'the reservation is undone');
  t.same(rig.held, [], 'not offered again at once (a refusing agent is not hammered)');
  rig.tick(0);
  const reoffer = rig.held.splice(0);
  t.same(reoffer.map((c) => c.deflect?.callId), [calls[0]], 'the refused caller is offered again first (FIFO kept)');
  // Abandons: one in the middle of the line, one with an offer in flight (its agent is freed and takes the next).
  rig.callerHangup(calls[5]!);
  rig.callerHangup(calls[1]!);
  const next = rig.held.splice(0);
  t.same(next.map((c) => c.deflect?.callId), [calls[2]], 'the freed agent is offered the oldest caller still waiting, at once');
  t.equal(rig.state.agents.get('5002')?.state, 'Busy', 'reserved again');
  const conn = (i: number) => rig.connIdOf(calls[i]!);
  t.same(waitingCallers(rig.state, '7000').map((e) => e.connId), [0, 2, 4, 6, 8, 9, 10].map(conn));
  t.same(waitingCallers(rig.state, '7001').map((e) => e.connId), [3, 7, 11].map(conn));
  t.same(waitingCallers(rig.state, '7001').map((e) => e.treatment), ['silence', 'silence', 'silence']);

  const incremental = stateFrom(rig.all.deltas);
  const snapshot = stateFrom(snapshotDeltas(rig.state));
  t.equal(canonicalState(incremental), canonicalState(rig.state), 'incremental backup: same replicated state');
  t.equal(canonicalState(snapshot), canonicalState(rig.state), 'snapshot backup: same replicated state');
  t.same(view(incremental), view(rig.state), 'incremental backup: same lines, next caller and reservations');
  t.same(view(snapshot), view(rig.state), 'snapshot backup: same lines, next caller and reservations');
  t.match(JSON.parse(canonicalState(rig.state)).queues['7000'], { dn: '7000', lastOrder: 9, waiting: [0, 2, 4, 6, 8, 9, 10].map((i) => ({ connId: conn(i), queue: '7000' })) }, 'canonicalState shows the queue in order');

  // The snapshot-built backup takes over: the same switch runs the commands in flight (same ids) and
  // the agents serve the callers in the primary's order.
  const b = new Rig(rig.config, undefined, { sw: rig.sw, state: snapshot });
  b.now = rig.now;
  const served: string[] = [];
  for (const cmd of [...reoffer, ...next, offers[1]!, offers[2]!].filter((c) => c.deflect?.callId !== calls[1])) {
    const fired = b.sw.exec(cmd);
    b.feed({ kind: 'switchEvents', events: fired.events });
    b.feed({ kind: 'commandResult', result: fired.result! });
  }
  for (let round = 0; round < 12; round++) {
    for (const dn of ['5001', '5002', '5003']) {
      const connId = [...(b.state.callsByDN.get(dn) ?? [])][0];
      if (!connId) continue;
      served.push(connId);
      b.req('desk' + dn, { request: 'RequestAnswerCall', thisDN: dn, connId });
      const rel = b.req('desk' + dn, { request: 'RequestReleaseCall', thisDN: dn, connId });
      t.ok(seqOf(rel).includes(`${dn}:EventReleased`));
    }
  }
  const order7000 = served.filter((c) => [0, 2, 4, 6, 8, 9, 10].map(conn).includes(c));
  t.same(order7000, [0, 2, 4, 6, 8, 9, 10].map(conn), 'queue 7000 served oldest first after the takeover');
  t.same(served.filter((c) => [3, 7, 11].map(conn).includes(c)), [3, 7, 11].map(conn), 'queue 7001 too');
  t.equal(b.state.queueEntries.size, 0, 'nobody left waiting');
});

t.test('a consultation call waiting in a queue is merged: the original call takes its place in line', async (t) => {
  const rig = new Rig(CFG);
  const first = rig.inbound('4155550001', '7000');
  const talking = rig.answeredInbound('4155550002', '5002');
  rig.req('desk5002', { request: 'RequestInitiateTransfer', thisDN: '5002', connId: talking, otherDN: '7000' });
  const last = rig.inbound('4155550003', '7000');
  const consult = waitingCallers(rig.state, '7000')[1]!.connId;
  t.not(consult, talking);
  rig.req('desk5002', { request: 'RequestCompleteTransfer', thisDN: '5002', connId: talking, transferConnId: consult });
  t.same(waitingCallers(rig.state, '7000').map((e) => e.connId), [rig.connIdOf(first.callId), talking, rig.connIdOf(last.callId)], 'the original call waits where the consultation call did');
  t.equal(canonicalState(stateFrom(snapshotDeltas(rig.state))), canonicalState(rig.state));
  t.same(view(stateFrom(rig.all.deltas)), view(rig.state));
});

t.test('a line matches a sorted model under any puts and deletes', async (t) => {
  let seed = 11;
  const rnd = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const index = createQueueIndex();
  const live = new Map<string, QueueEntry>();
  const put = (key: string, e: QueueEntry | undefined) => {
    reindexQueueEntry(index, key, live.get(key), e);
    if (e) live.set(key, e);
    else live.delete(key);
  };
  let order = 0;
  let mismatches = 0;
  const removed: QueueEntry[] = [];
  for (let step = 0; step < 12_000; step++) {
    const keys = [...live.keys()];
    const any = keys[rnd(Math.max(1, keys.length))];
    if (step === 6_000) for (const k of [...live.keys()].slice(0, Math.max(0, live.size - 3))) put(k, undefined); // drained: the consumed front is compacted
    const op = rnd(10);
    if (op <= 3 || !any) {
      const key = `c${step}`;
      put(key, { connId: key, queue: 'q', order: ++order, since: step, treatment: 'm' });
    } else if (op <= 5) {
      const e = live.get(any)!;
      removed.push(e);
      put(any, undefined);
    } else if (op === 6) {
      const e = live.get(any)!;
      put(any, e.offer ? { ...e, offer: undefined } : { ...e, offer: { agentDn: `a${rnd(5)}`, commandId: `auto:${any}:0`, at: step } });
    } else if (op === 7 && removed.length > 0) {
      const e = removed.splice(rnd(removed.length), 1)[0]!; // a rollback puts a removed caller back at its place
      if (!live.has(e.connId)) put(e.connId, e);
    } else if (op === 8) {
      const e = live.get(any)!; // a merge: another key takes its place
      put(any, undefined);
      put(`m${step}`, { ...e, connId: `m${step}`, offer: undefined });
    } else {
      const e = live.get(any)!;
      put(any, { ...e, treatment: `t${step}` }); // changed in place
    }
    if (step % 10 !== 0 && op < 7) continue; // the model check sorts everything: every 10th step, and after every rollback or merge
    const model = [...live].sort(([ka, a], [kb, b]) => a.order - b.order || (ka < kb ? -1 : 1));
    const line = index.lines.get('q');
    const got = line ? [...line.ordered()].map(([k]) => k) : [];
    const want = model.map(([k]) => k);
    const free = line?.firstFree()?.[0];
    const wantFree = model.find(([, e]) => !e.offer)?.[0];
    const offers = new Map<string, number>();
    for (const e of live.values()) if (e.offer) offers.set(e.offer.agentDn, (offers.get(e.offer.agentDn) ?? 0) + 1);
    if (JSON.stringify(got) !== JSON.stringify(want) || free !== wantFree || JSON.stringify([...index.offersTo].sort()) !== JSON.stringify([...offers].sort())) {
      mismatches++;
      if (mismatches < 3) t.same({ got, free, offersTo: [...index.offersTo].sort() }, { got: want, free: wantFree, offersTo: [...offers].sort() }, `step ${step} op ${op}`);
    }
  }
  t.equal(mismatches, 0, 'ordered(), firstFree() and offersTo match the model at every step');
  t.ok(order > 4000, `${order} callers numbered`);
});

t.test('an empty line is dropped; a single line holds 10,000 callers in order', async (t) => {
  const line = new QueueLine();
  for (let i = 1; i <= 10_000; i++) line.add(`k${i}`, { connId: `k${i}`, queue: 'q', order: i, since: 0, treatment: 'm' });
  t.equal(line.size, 10_000);
  t.equal(line.firstFree()?.[0], 'k1');
  const index = createQueueIndex();
  reindexQueueEntry(index, 'a', undefined, { connId: 'a', queue: 'q', order: 1, since: 0, treatment: 'm' });
  t.equal(index.lines.size, 1);
  reindexQueueEntry(index, 'a', index.lines.get('q')!.members.get('a'), undefined);
  t.equal(index.lines.size, 0, 'no line for an empty queue');
  reindexQueueEntry(index, 'junk', undefined, { nonsense: true });
  t.equal(index.lines.size, 0, 'a value that is not an entry is not indexed');
});

t.test('LazyMinHeap.due: the live entries due, earliest first, stale ones skipped, nothing changed', async (t) => {
  const live = new Map<string, { at: number }>();
  const heap = new LazyMinHeap<{ at: number }>((v) => v.at);
  const put = (k: string, at: number) => {
    const v = { at };
    live.set(k, v);
    heap.offer(k, v, live);
  };
  put('a', 50);
  put('b', 10);
  put('c', 30);
  put('b', 40); // b's first value is stale now
  put('d', 30);
  t.same(heap.due(live, 35).map(([k, v]) => [k, v.at]), [['c', 30], ['d', 30]]);
  t.same(heap.due(live, 45).map(([k]) => k), ['c', 'd', 'b']);
  t.same(heap.due(live, 5), []);
  t.equal(heap.min(live), 30, 'due() left the heap as it was');
});

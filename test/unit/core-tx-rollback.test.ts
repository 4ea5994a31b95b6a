// A core input commits all its deltas or none (issue 12 item 5): a handler that throws half-way leaves
// the state exactly as it was (replicated collections, counters, journal and the derived indexes)
// and outputs nothing, so no delta the backup never receives stays applied on the primary. Each input
// below is failed before every one of its deltas in turn, then run for real and compared with a
// replica that never saw the failures.
import t from 'tap';
import { applyDelta, canonicalState, CoreBugError, createState, handle, snapshotDeltas, type CoreContext, type CoreInput, type CoreState } from '../../src/core/index.js';
import { Rig } from '../helpers/core-rig.js';

const CFG = {
  routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 5000 } },
  queues: { '7000': { wrapUpMs: 0, treatment: 'music' } },
  // Small bounds, so inputs also trim the journal and the de-dup records (journalTrim / del deltas).
  journal: { maxEvents: 6, maxAgeMs: 60_000 },
  dedup: { maxRecords: 3, maxAgeMs: 60_000 },
};

/** The derived indexes applyDelta maintains, in a comparable form. */
function derived(s: CoreState): string {
  return JSON.stringify({
    bySwitchCall: [...s.bySwitchCall].sort(),
    callsByDN: [...s.callsByDN].map(([k, v]) => [k, [...v].sort()]).sort(),
    journalByCommand: [...s.journalByCommand].map(([k, v]) => [k, v.map((e) => e.seq)]).sort(),
    journal: s.journal.map((e) => e.seq),
  });
}

function replicaOf(s: CoreState): CoreState {
  const r = createState();
  for (const d of JSON.parse(JSON.stringify(snapshotDeltas(s))) as ReturnType<typeof snapshotDeltas>) applyDelta(r, d);
  return r;
}

/** Fails `input` before each of its deltas in turn; then runs it and compares with a clean replica. */
function failAtEveryDelta(t: Tap.Test, rig: Rig, input: CoreInput): string[] {
  const ctx: CoreContext = { now: rig.now, config: rig.config, switchUp: true };
  const replica = replicaOf(rig.state);
  const clean = handle(replica, input, ctx);
  t.ok(clean.deltas.length > 1, `the input makes several deltas (${clean.deltas.length})`);
  const before = canonicalState(rig.state);
  const beforeDerived = derived(rig.state);
  for (let k = 0; k < clean.deltas.length; k++) {
    let seen = 0;
    const failing: CoreContext = { ...ctx, beforeApply: () => { if (seen++ === k) throw new Error(`handler bug before delta ${k}`); } };
    let caught: unknown;
    try { handle(rig.state, input, failing); } catch (err) { caught = err; }
    t.type(caught, CoreBugError, `fault before delta ${k}: CoreBugError`);
    const bug = caught as CoreBugError;
    t.equal(bug.undone, k, `fault before delta ${k}: ${k} delta(s) undone`);
    t.equal(bug.input, input);
    t.match(String((bug.cause as Error).message), `before delta ${k}`);
    t.equal(canonicalState(rig.state), before, `fault before delta ${k}: state unchanged`);
    t.equal(derived(rig.state), beforeDerived, `fault before delta ${k}: derived indexes unchanged`);
  }
  // After all those failures the same input runs exactly as on a state that never saw them.
  const real = handle(rig.state, input, ctx);
  t.same(real, clean, 'same output as the clean replica');
  t.equal(canonicalState(rig.state), canonicalState(replica));
  t.equal(derived(rig.state), derived(replica));
  return clean.deltas.map((d) => (d.op === 'put' || d.op === 'del' ? `${d.op}:${d.coll}` : d.op));
}

t.test('a request that readies an agent and offers it a waiting call: all or nothing', async (t) => {
  const rig = new Rig(CFG);
  rig.req('desk5001', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000', workMode: 'AuxWork' });
  rig.req('desk5001', { request: 'RequestAgentNotReady', thisDN: '5001', workMode: 'AuxWork' });
  rig.inbound('4155550100', '7000');
  rig.inbound('4155550101', '7000');
  // Fill the journal and the de-dup records up to their bounds.
  for (let i = 0; i < 4; i++) rig.req('desk5001', { request: 'RequestAgentNotReady', thisDN: '5001', workMode: 'AuxWork' });
  const ops = failAtEveryDelta(t, rig, { kind: 'request', clientName: 'desk5001', request: { request: 'RequestAgentReady', referenceId: 99, thisDN: '5001' } });
  t.ok(ops.includes('journalTrim'), `the input trims the journal: ${ops.join(' ')}`);
  t.ok(ops.includes('del:dedup'), 'and a de-dup record');
  t.ok(ops.includes('put:queueEntries') || ops.includes('put:agents'));
});

t.test('switch events of a new inbound call at a route point: all or nothing', async (t) => {
  const rig = new Rig(CFG);
  const { events } = rig.sw.inbound('4155550100', '8000');
  const ops = failAtEveryDelta(t, rig, { kind: 'switchEvents', events });
  t.ok(ops.includes('put:calls') && ops.includes('journal') && ops.includes('counters'), ops.join(' '));
});

t.test('a timer tick that routes to the default target: all or nothing', async (t) => {
  const rig = new Rig(CFG);
  rig.agentReady('5001', 'a1');
  rig.req('desk5001', { request: 'RequestAgentReady', thisDN: '5001' });
  rig.inbound('4155550100', '8000');
  rig.now += 6_000;
  const ops = failAtEveryDelta(t, rig, { kind: 'tick' });
  t.ok(ops.includes('put:routeRequests') || ops.includes('del:routeRequests'), ops.join(' '));
});

t.test('a refusal is an answer, not a bug: no CoreBugError, nothing changed', async (t) => {
  const rig = new Rig(CFG);
  const before = canonicalState(rig.state);
  const out = handle(rig.state, { kind: 'request', clientName: 'd', request: { request: 'RequestAgentReady', referenceId: 1, thisDN: '5001' } }, { now: rig.now, config: rig.config, switchUp: true });
  t.equal(out.replies[0]?.event.event, 'EventError');
  t.same(out.deltas, []);
  t.equal(canonicalState(rig.state), before);
});

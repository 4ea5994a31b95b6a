// An in-process primary core for the memory and GC benches: the pure core (dist/core) driven by the
// simulated PBX (dist/processes/switch/pbx.js) with no sockets. Every command the core emits runs on the PBX at
// once and its events (numbered like the switch's event log) and result are fed back.
import { createState, defaultCoreConfig, handle } from '../../dist/core/index.js';
import { Pbx } from '../../dist/processes/switch/pbx.js';
import { DialPlan } from '../../dist/processes/switch/dial-plan.js';

export const QUEUE = '7000';
export const ROUTE_POINT = '8000';
/** A route point with no router and no default target: calls wait there (the bench's parked calls). */
export const PARK_POINT = '8001';
export const FIRST_AGENT = 20000;

export class CoreRig {
  constructor(core = {}) {
    this.plan = new DialPlan({ extensions: ['5000-5999', '20000-39999'], queues: ['7000-7009'], routePoints: ['8000-8009'], trunkPrefix: '9', externalMinDigits: 7 });
    this.pbx = new Pbx(this.plan);
    this.state = createState();
    this.now = 1_700_000_000_000;
    this.swSeq = 0;
    this.ref = 0;
    const d = defaultCoreConfig();
    this.config = {
      ...d, ...core,
      queues: { [QUEUE]: { wrapUpMs: 0, treatment: 'music' } },
      routePoints: { [ROUTE_POINT]: { defaultTarget: QUEUE, timeoutMs: 10_000 } },
      journal: { ...d.journal, ...(core.journal ?? {}) },
      dedup: { ...d.dedup, ...(core.dedup ?? {}) },
    };
    this.feed({ kind: 'switchSnapshot', snapshot: { lastSeq: 0, devices: this.plan.devices(), calls: [], trunkPrefix: '9' } });
  }

  /** One input and every switch round trip it leads to. Returns the events caused. */
  feed(input) {
    const queue = [input];
    let events = 0;
    while (queue.length > 0) {
      const out = handle(this.state, queue.shift(), { now: this.now, config: this.config, switchUp: true });
      events += out.events.length;
      for (const cmd of out.commands) {
        const o = this.pbx.command(cmd, this.now);
        if (o.ok && o.events.length) queue.push({ kind: 'switchEvents', events: this.number(o.events) });
        queue.push({ kind: 'commandResult', result: o.ok ? { commandId: cmd.commandId, ok: true, callId: o.callId, epoch: 1 } : { commandId: cmd.commandId, ok: false, errorCode: o.error.code, errorMessage: o.error.message, epoch: 1 } });
      }
    }
    return events;
  }

  number(events) {
    for (const e of events) { e.seq = ++this.swSeq; e.timeMs = this.now; }
    return events;
  }

  request(clientName, r) {
    const referenceId = ++this.ref;
    this.feed({ kind: 'request', clientName, request: { ...r, referenceId } });
    return referenceId;
  }

  /** Agent desktop `agent-<dn>`: registers its DN, logs in to the queue, Ready (ManualIn). */
  agent(dn, queue = QUEUE) {
    const c = `agent-${dn}`;
    this.request(c, { request: 'RequestRegisterAddress', thisDN: dn });
    this.request(c, { request: 'RequestAgentLogin', thisDN: dn, agentId: `ag${dn}`, thisQueue: queue, workMode: 'ManualIn' });
  }

  /** An inbound call from `ani` to `dnis`; returns its switch call id. */
  inbound(ani, dnis) {
    const o = this.pbx.inboundCall(ani, dnis, this.now);
    if (!o.ok) throw new Error(`inbound ${ani} -> ${dnis}: ${o.error.message}`);
    this.feed({ kind: 'switchEvents', events: this.number(o.events) });
    return o.callId;
  }

  connIdOf(switchCallId) { return this.state.bySwitchCall.get(switchCallId); }

  /** One whole call: inbound to the route point, routed to the queue by the default target, to a Ready agent, answered, released by the agent. */
  call(ani) {
    const callId = this.inbound(ani, ROUTE_POINT);
    this.tick(10_001); // the route point's default target (10 s)
    const connId = this.connIdOf(callId);
    const call = connId && this.state.calls.get(connId);
    const agentDn = call?.parties.find((p) => p.dnType === 'Extension')?.dn;
    if (!agentDn) return false;
    this.request(`agent-${agentDn}`, { request: 'RequestAnswerCall', thisDN: agentDn, connId });
    this.request(`agent-${agentDn}`, { request: 'RequestReleaseCall', thisDN: agentDn, connId });
    return true;
  }

  tick(ms) {
    this.now += ms;
    return this.feed({ kind: 'tick' });
  }
}

export function heapUsed() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

/**
 * A primary state of known size: `agents` logged in and Ready on queue 7001 (no calls reach them),
 * `calls` parked at route point 8001, a journal of `journal` events and `dedup` de-dup records
 * (filled by whole calls through route point 8000 → queue 7000 → 100 agents on 5000-5099).
 */
export function buildState({ agents = 5000, calls = 10_000, journal = 100_000, dedup = 100_000, core = {} } = {}) {
  const rig = new CoreRig({ journal: { maxEvents: journal, maxAgeMs: 1e13 }, dedup: { maxRecords: dedup, maxAgeMs: 1e13 }, ...core });
  for (let i = 0; i < 100; i++) rig.agent(String(5000 + i));
  for (let i = 0; i < agents; i++) rig.agent(String(FIRST_AGENT + i), '7001');
  let n = 0;
  while (rig.state.journal.length < journal || rig.state.dedup.size < Math.min(dedup, journal)) {
    if (!rig.call(`44${String(n++).padStart(8, '0')}`)) break;
    if (n > 10 * journal) break;
  }
  for (let i = 0; i < calls; i++) rig.inbound(`33${String(i).padStart(8, '0')}`, PARK_POINT);
  return rig;
}

/** Heap bytes per item: the difference in heap used when one kind of item is added, divided by the count. */
export function measurePerItem({ agents = 5000, calls = 10_000, journal = 100_000 } = {}) {
  const out = {};
  // Journal events and de-dup records: whole calls fill both; a run with de-dup capped tiny isolates the journal.
  {
    let rig = new CoreRig({ journal: { maxEvents: 1_000_000, maxAgeMs: 1e13 }, dedup: { maxRecords: 10, maxAgeMs: 1e13 } });
    for (let i = 0; i < 100; i++) rig.agent(String(5000 + i));
    let k = 0;
    for (; k < 200; k++) rig.call(`45${String(k).padStart(8, '0')}`);
    const h0 = heapUsed();
    const j0 = rig.state.journal.length;
    while (rig.state.journal.length - j0 < journal) rig.call(`45${String(k++).padStart(8, '0')}`);
    const h1 = heapUsed();
    out['journal event'] = (h1 - h0) / (rig.state.journal.length - j0);
    rig = undefined;
  }
  {
    let rig = new CoreRig({ journal: { maxEvents: 1_000, maxAgeMs: 1e13 }, dedup: { maxRecords: 1_000_000, maxAgeMs: 1e13 } });
    for (let i = 0; i < 100; i++) rig.agent(String(5000 + i));
    let k = 0;
    for (; k < 200; k++) rig.call(`46${String(k).padStart(8, '0')}`);
    const h0 = heapUsed();
    const d0 = rig.state.dedup.size;
    const target = Math.min(journal, 100_000);
    while (rig.state.dedup.size - d0 < target) rig.call(`46${String(k++).padStart(8, '0')}`);
    const h1 = heapUsed();
    out['de-dup record'] = (h1 - h0) / (rig.state.dedup.size - d0);
    rig = undefined;
  }
  {
    let rig = new CoreRig({ journal: { maxEvents: 1_000, maxAgeMs: 1e13 }, dedup: { maxRecords: 1_000, maxAgeMs: 1e13 } });
    const h0 = heapUsed();
    for (let i = 0; i < agents; i++) rig.agent(String(FIRST_AGENT + i), '7001');
    const h1 = heapUsed();
    out['logged-in agent (registration + agent)'] = (h1 - h0) / agents;
    for (let i = 0; i < calls; i++) rig.inbound(`34${String(i).padStart(8, '0')}`, PARK_POINT);
    rig.pbx = new Pbx(rig.plan); // the simulated switch's own calls are not the T-Server's
    const h2 = heapUsed();
    out['call (parked, with its route request)'] = (h2 - h1) / calls;
    rig = undefined;
  }
  return out;
}

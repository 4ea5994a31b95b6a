// The derived indexes applyDelta maintains (derived.ts) agree with a full scan of the state at every
// step of a mixed workload, on the primary and on a replica built from the deltas; and the journal is
// trimmed in chunks without ever exceeding its bounds.
import t from 'tap';
import { applyDelta, createState, nextDeadline, waitingCallers, type Agent, type CoreConfig, type CoreState, type Delta } from '../../src/core/index.js';
import { Rig } from '../helpers/core-rig.js';

const EXT = ['5000', '5001', '5002', '5003', '5004', '5005', '5006', '5007'];
const PLAN = { extensions: EXT, routePoints: ['8000'], queues: ['7000', '7001'] };
const CFG: Partial<CoreConfig> = {
  routePoints: { '8000': { defaultTarget: '7000', timeoutMs: 3000 } },
  queues: { '7000': { wrapUpMs: 1500, treatment: 'music' }, '7001': { wrapUpMs: 0, treatment: 'music' } },
  journal: { maxEvents: 5000, maxAgeMs: 600_000 },
  dedup: { maxRecords: 1000, maxAgeMs: 600_000 },
  pendingTimeoutMs: 4000,
};

/** Ready agents per queue by a full scan, longest idle first (what acd.ts's index must equal). */
function scanReady(s: CoreState): Record<string, string[]> {
  const by: Record<string, Agent[]> = {};
  for (const a of s.agents.values()) if (a.state === 'Ready' && a.queue) (by[a.queue] ??= []).push(a);
  const out: Record<string, string[]> = {};
  for (const [q, list] of Object.entries(by)) {
    out[q] = list.sort((a, b) => a.idleSince - b.idleSince || (a.dn < b.dn ? -1 : a.dn > b.dn ? 1 : 0)).map((a) => a.dn);
  }
  return out;
}

/** Each queue's callers by a full scan, in `order` (the FIFO the queue index must keep), the first one not offered, and the agents offered a call. */
function scanQueues(s: CoreState): { lines: Record<string, string[]>; free: Record<string, string>; offered: string[] } {
  const by: Record<string, { order: number; connId: string; offer?: unknown }[]> = {};
  for (const e of s.queueEntries.values()) (by[e.queue] ??= []).push(e);
  const lines: Record<string, string[]> = {};
  const free: Record<string, string> = {};
  for (const [q, list] of Object.entries(by).sort(([a], [b]) => (a < b ? -1 : 1))) {
    list.sort((a, b) => a.order - b.order);
    lines[q] = list.map((e) => e.connId);
    const f = list.find((e) => !e.offer);
    if (f) free[q] = f.connId;
  }
  const offered = [...s.queueEntries.values()].flatMap((e) => (e.offer ? [e.offer.agentDn] : [])).sort();
  return { lines, free, offered };
}

function indexedQueues(s: CoreState): ReturnType<typeof scanQueues> {
  const lines: Record<string, string[]> = {};
  const free: Record<string, string> = {};
  for (const [q, line] of [...s.queueIndex.lines].sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines[q] = waitingCallers(s, q).map((e) => e.connId);
    const f = line.firstFree();
    if (f) free[q] = f[0];
  }
  const offered = [...s.queueIndex.offersTo].flatMap(([dn, n]) => Array<string>(n).fill(dn)).sort();
  return { lines, free, offered };
}

function indexedReady(s: CoreState): Record<string, string[]> {
  return Object.fromEntries([...s.readyByQueue].map(([q, list]) => [q, list.map((a) => a.dn)]));
}

/** nextDeadline as a full scan of every timed collection (the definition the timers must meet). */
function scanDeadline(s: CoreState, config: CoreConfig): number | undefined {
  const times: number[] = [];
  const timeout = config.pendingTimeoutMs ?? 10_000;
  for (const rr of s.routeRequests.values()) if (rr.deadline !== Number.MAX_SAFE_INTEGER) times.push(rr.deadline);
  for (const a of s.agents.values()) if (a.state === 'AfterCallWork' && a.wrapUpUntil !== undefined) times.push(a.wrapUpUntil);
  for (const w of s.queueEntries.values()) if (w.offer) times.push(w.offer.at + timeout);
  for (const p of s.pending.values()) times.push(p.since + timeout);
  if (s.journal.length > 0) times.push(Date.parse(s.journal[0].event.time!) + config.journal.maxAgeMs);
  const first = s.dedup.values().next();
  if (!first.done) times.push(first.value.at + config.dedup.maxAgeMs);
  return times.length ? Math.min(...times) : undefined;
}

t.test('ready index and timers equal a full scan at every step, on the primary and a replica', async (t) => {
  const rig = new Rig(CFG, PLAN);
  const replica = createState();
  let applied = 0;
  let checks = 0;
  let mismatches = 0;
  const seen = { acw: 0, offers: 0, waiting: 0, pending: 0, routes: 0, ready: 0 };
  const check = (what: string): void => {
    for (const d of JSON.parse(JSON.stringify(rig.all.deltas.slice(applied))) as Delta[]) applyDelta(replica, d);
    applied = rig.all.deltas.length;
    for (const [name, s] of [['primary', rig.state], ['replica', replica]] as const) {
      checks++;
      const okReady = JSON.stringify(indexedReady(s)) === JSON.stringify(scanReady(s));
      const okDeadline = nextDeadline(s, rig.config) === scanDeadline(s, rig.config);
      const okQueues = JSON.stringify(indexedQueues(s)) === JSON.stringify(scanQueues(s));
      if (!okReady || !okDeadline || !okQueues) {
        mismatches++;
        t.same(indexedReady(s), scanReady(s), `${name} ready index after ${what}`);
        t.same(indexedQueues(s), scanQueues(s), `${name} queue index after ${what}`);
        t.equal(nextDeadline(s, rig.config), scanDeadline(s, rig.config), `${name} deadline after ${what}`);
      }
    }
  };
  let seed = 7; // mulberry32: the same scenario every run
  const rnd = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  rig.req('router', { request: 'RequestRegisterAddress', thisDN: '8000' });
  for (const [i, dn] of EXT.entries()) {
    rig.req('desk' + dn, { request: 'RequestAgentLogin', thisDN: dn, agentId: 'a' + dn, thisQueue: i % 3 ? '7000' : '7001', workMode: 'ManualIn' });
    rig.now += 5;
  }
  check('logins');
  const partyIn = (state: string) => {
    const calls = [...rig.state.calls.values()].filter((c) => c.parties.some((p) => p.state === state && EXT.includes(p.dn)));
    const call = calls[rnd(Math.max(1, calls.length))];
    return call && { connId: call.connId, dn: call.parties.find((p) => p.state === state && EXT.includes(p.dn))!.dn };
  };
  for (let step = 0; step < 600; step++) {
    rig.now += 1 + rnd(400);
    const dn = EXT[rnd(EXT.length)]!;
    const op = rnd(12);
    if (op === 0) rig.req('desk' + dn, { request: 'RequestAgentReady', thisDN: dn });
    else if (op === 1) rig.req('desk' + dn, { request: 'RequestAgentNotReady', thisDN: dn, workMode: 'AuxWork' });
    else if (op <= 3) {
      const inb = rig.inbound(`4155550${1000 + step}`, rnd(2) ? '8000' : rnd(2) ? '7000' : '7001');
      const c = rig.connIdOf(inb.callId);
      if (c && rig.state.routeRequests.has(c) && rnd(2)) rig.req('router', { request: 'RequestRouteCall', thisDN: '8000', connId: c, otherDN: '7000' });
    } else if (op <= 5) {
      const r = partyIn('Ringing');
      if (r) rig.req('desk' + r.dn, { request: 'RequestAnswerCall', thisDN: r.dn, connId: r.connId });
    } else if (op <= 8) {
      const e = partyIn('Established');
      if (e) rig.req('desk' + e.dn, { request: 'RequestReleaseCall', thisDN: e.dn, connId: e.connId });
    } else if (op === 9) {
      const any = [...rig.sw.calls.keys()][rnd(Math.max(1, rig.sw.calls.size))];
      if (any) rig.callerHangup(any);
    } else {
      rig.autoRun = rnd(3) !== 0; // sometimes the switch sits on commands: offers and pending requests wait
      rig.tick(0);
    }
    seen.acw += [...rig.state.agents.values()].some((a) => a.state === 'AfterCallWork') ? 1 : 0;
    seen.offers += [...rig.state.queueEntries.values()].some((w) => w.offer) ? 1 : 0;
    seen.waiting += [...rig.state.queueIndex.lines.values()].some((l) => l.size >= 2) ? 1 : 0;
    seen.pending += rig.state.pending.size > 0 ? 1 : 0;
    seen.routes += rig.state.routeRequests.size > 0 ? 1 : 0;
    seen.ready += rig.state.readyByQueue.size > 0 ? 1 : 0;
    check(`step ${step} (op ${op})`);
  }
  rig.autoRun = true;
  for (let i = 0; i < 5; i++) {
    rig.tick(5000);
    check(`final tick ${i}`);
  }
  for (const [k, n] of Object.entries(seen)) t.ok(n >= 10, `the workload exercised ${k} (${n} steps)`);
  t.equal(mismatches, 0, `derived indexes matched a full scan in ${checks} checks`);
  t.ok(rig.all.events.length > 300, `a long scenario (${rig.all.events.length} events)`);
});

t.test('the journal is trimmed in chunks and never exceeds maxEvents', async (t) => {
  const rig = new Rig({ journal: { maxEvents: 640, maxAgeMs: 600_000 } });
  const lengths: number[] = [];
  let trims = 0;
  for (let i = 0; i < 600; i++) {
    rig.req('a', { request: 'RequestAgentLogin', thisDN: '5003', agentId: 'x' });
    const out = rig.req('a', { request: 'RequestAgentLogout', thisDN: '5003' });
    trims += out.deltas.filter((d) => d.op === 'journalTrim').length;
    lengths.push(rig.state.journal.length);
  }
  t.ok(Math.max(...lengths) <= 640, 'never over maxEvents');
  t.ok(Math.min(...lengths.slice(400)) >= 630, 'trimmed by at most maxEvents/64 below the bound');
  t.ok(trims > 0 && trims <= (1200 - 640) / 10 + 1, `trimmed in chunks (${trims} trims for ${1200 - 640} events over the bound)`);
  t.equal(rig.state.journal.at(-1)!.seq, rig.state.seq, 'the newest event is kept');
});

t.test('journal index by command id equals a scan of the journal, through trims', async (t) => {
  const s = createState();
  const scan = () => {
    const by: Record<string, number[]> = {};
    for (const e of s.journal) if (e.commandId) (by[e.commandId] ??= []).push(e.seq);
    return by;
  };
  const indexed = () => Object.fromEntries([...s.journalByCommand].map(([id, list]) => [id, list.map((e) => e.seq)]));
  for (let seq = 1; seq <= 300; seq++) {
    const commandId = seq % 3 === 0 ? undefined : `c${seq % 17}`;
    applyDelta(s, { op: 'journal', entry: { seq, dn: '5001', event: { event: 'EventHeld', seq }, ...(commandId ? { commandId } : {}) } });
    if (seq % 50 === 0) applyDelta(s, { op: 'journalTrim', upToSeq: seq - 40 });
  }
  t.same(indexed(), scan());
  applyDelta(s, { op: 'journalTrim', upToSeq: 300 });
  t.equal(s.journalByCommand.size, 0, 'emptied with the journal');
});

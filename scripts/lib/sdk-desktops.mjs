// Load-generator child process: N agent desktops on the SDK (dist/sdk/node.js createNodeClient,
// both servers' URLs), and optionally the router of the route point. Each desktop registers its DN
// (the SDK registers it with both servers), logs in to the queue and goes Ready; it answers every
// EventRinging on its DN, talks `talkMs`, then releases. The router routes every EventRouteRequest
// to the queue. Controlled by the parent over IPC (workers.mjs forkWorker).
//
// What it records for scripts/bench-desktops.mjs:
//  - per desktop, the SDK statuses 'failover-started' and 'failover-complete' (ms, epoch clock):
//    the time a desktop resumed after a failover;
//  - every request the desktops and the router sent through the SDK (which carries a request over a
//    failover with the same referenceId): answered, refused by error code, or lost (never answered:
//    RequestTimeout, still pending at the end, or dropped by the SDK with ClientClosed/ConnectionLost).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session as Inspector } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { createNodeClient } from '../../dist/sdk/node.js';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** An SDK rejection that means the request never got its answer. */
const LOST = new Set(['RequestTimeout', 'ClientClosed', 'ConnectionLost']);

/** @type {{urls:string[], queue:string, routePoint:string, talkMs:number, heartbeatMs?:number, requestTimeoutMs:number}} */
let cfg;
const desks = [];
let router;
let mark = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let cpuAtMark = process.cpuUsage();
/** TANDEM_DESKTOPS_PROF=DIR: a CPU profile of this process from each mark to its 'resumed' reading. */
const profDir = process.env.TANDEM_DESKTOPS_PROF;
const inspector = profDir ? new Inspector() : undefined;
if (inspector) { inspector.connect(); inspector.post('Profiler.enable'); }
let profiles = 0;
const reqs = { sent: 0, answered: 0, pending: 0, refused: {}, lost: {}, rings: 0, released: 0 };

/** Runs one SDK request and counts its outcome. */
function track(what, promise) {
  const c = reqs;
  c.sent++;
  c.pending++;
  return promise.then((ev) => { c.pending--; c.answered++; return ev; }, (err) => {
    c.pending--;
    const code = err?.errorCode ?? err?.code ?? 'Error';
    const into = LOST.has(code) ? c.lost : c.refused;
    into[`${what}:${code}`] = (into[`${what}:${code}`] ?? 0) + 1;
    return undefined;
  });
}

function client(name) {
  const opts = { servers: cfg.urls, clientName: name, requestTimeoutMs: cfg.requestTimeoutMs };
  if (cfg.heartbeatMs) opts.heartbeatMs = cfg.heartbeatMs;
  return createNodeClient(opts);
}

class Desk {
  constructor(dn) {
    this.dn = dn;
    this.startedAt = 0;
    this.switchedAt = 0;
    this.completedAt = 0;
    this.c = client(`sdk-agent-${dn}`);
    this.c.on('status', (s) => {
      if (s.type === 'failover-started') this.startedAt = now();
      else if (s.type === 'switched') this.switchedAt = now();
      else if (s.type === 'failover-complete') this.completedAt = now();
    });
    this.c.on('event', (ev) => {
      if (ev.event !== 'EventRinging' || ev.thisDN !== dn) return;
      reqs.rings++;
      void this.take(ev.connId);
    });
  }

  async start() {
    await this.c.register(this.dn);
    await this.c.login(this.dn, `ag${this.dn}`, { queue: cfg.queue, workMode: 'ManualIn' }).catch((err) => {
      if (err?.errorCode !== 'AgentAlreadyLoggedIn') throw err;
    });
    await this.c.ready(this.dn);
  }

  async take(connId) {
    if (!(await track('answer', this.c.answer(this.dn, connId)))) return;
    await sleep(cfg.talkMs);
    if (await track('release', this.c.release(this.dn, connId))) reqs.released++;
  }

  /** Both links open (connected and RequestOpen answered): registered with both servers. */
  get bothOpen() { return this.c.servers().every((s) => s.state === 'open'); }
}

async function setup(msg) {
  cfg = msg;
  const t0 = now();
  if (msg.router) {
    router = client(`sdk-router-${process.pid}`);
    router.on('event', (ev) => {
      if (ev.event === 'EventRouteRequest' && ev.thisDN === cfg.routePoint) void track('routeCall', router.routeCall(cfg.routePoint, ev.connId, cfg.queue));
    });
    await router.register(cfg.routePoint);
  }
  // Waves of `wave` desktops: thousands of simultaneous handshakes only measure the listen backlog.
  const wave = msg.wave ?? 50;
  for (let i = 0; i < msg.dns.length; i += wave) {
    await Promise.all(msg.dns.slice(i, i + wave).map(async (dn) => {
      const d = new Desk(dn);
      desks.push(d);
      await d.start();
    }));
  }
  return { ms: now() - t0, desktops: desks.length };
}

/** Desktops that started a failover after the mark, and those of them that completed it since. */
function progress() {
  let moving = 0, resumed = 0;
  for (const d of desks) {
    if (d.startedAt <= mark) continue;
    moving++;
    if (d.completedAt >= d.startedAt) resumed++;
  }
  return { moving, resumed, desktops: desks.length };
}

const ops = {
  setup,
  /** From now on, failovers count for the next `resumed` reading. */
  mark: () => {
    mark = now();
    loopDelay.reset();
    cpuAtMark = process.cpuUsage();
    inspector?.post('Profiler.start');
    return { mark };
  },
  progress,
  /** When each desktop that failed over since the mark completed it (ms, epoch clock), and when it started. */
  resumed: () => {
    const completedAt = [], startedAt = [], switchedAt = [];
    for (const d of desks) {
      if (d.startedAt <= mark || d.completedAt < d.startedAt) continue;
      completedAt.push(d.completedAt);
      startedAt.push(d.startedAt);
      // 'switched': the new primary's EventServerInfo read, its replay sent or already standing (0: no switch seen).
      switchedAt.push(d.switchedAt >= d.startedAt ? d.switchedAt : 0);
    }
    // This process's event loop since the mark: how long its 1,000 desktops kept it from reading.
    const cpu = process.cpuUsage(cpuAtMark);
    const loop = { maxMs: loopDelay.max / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 };
    inspector?.post('Profiler.stop', (err, r) => { if (!err) writeFileSync(`${profDir}/desktops-${process.pid}-${++profiles}.cpuprofile`, JSON.stringify(r.profile)); });
    return { completedAt, startedAt, switchedAt, loop, ...progress() };
  },
  /** Desktops with both links open (and the router's). */
  links: () => ({ bothOpen: desks.reduce((n, d) => n + (d.bothOpen ? 1 : 0), 0), desktops: desks.length }),
  /** Request outcomes since the start (the parent takes differences between readings). */
  collect: () => ({ ...reqs, refused: { ...reqs.refused }, lost: { ...reqs.lost } }),
  close: () => {
    for (const d of desks) d.c.close();
    router?.close();
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

process.on('message', async (msg) => {
  try {
    const op = ops[msg.op];
    if (!op) throw new Error(`unknown op ${msg.op}`);
    process.send({ id: msg.id, ok: true, ...(await op(msg)) });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));

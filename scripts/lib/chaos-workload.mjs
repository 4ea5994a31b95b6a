// The chaos drill's workload: N agent desktops and a router on the SDK (createNodeClient, both
// servers), callers on a switch link. Agents answer what rings, talk, then release, attach user
// data and release, or single-step-transfer to the queue; every few calls they go NotReady and
// Ready again. Every state event each desktop's SDK delivers is kept for the checker, and every
// error answer any server gave is counted by code (`answers`: the overload and stall phases judge
// NotPrimary and Overloaded from them). A request refused with Overloaded was not run: the desk
// retries it after a pause, as a person would.
import { createNodeClient } from '../../dist/sdk/node.js';
import { connectLink } from '../../dist/adapters/switch-client/link-client.js';
import { mulberry32 } from './chaos-plan.mjs';

/** Error answers by code from every desk and the router (the SDK absorbs NotPrimary: counted here). */
export const answers = { byCode: {} };
const countAnswer = ({ event }) => {
  if (event?.event === 'EventError') answers.byCode[event.errorCode] = (answers.byCode[event.errorCode] ?? 0) + 1;
};

const now = () => performance.timeOrigin + performance.now();

export class Desk {
  /** @param {{dn:string, urls:string[], queue:string, talkMs:number, rnd:()=>number, failures:Record<string,number>}} o */
  constructor(o) {
    this.o = o;
    this.dn = o.dn;
    this.name = `chaos-agent-${o.dn}`;
    /** Every state event the SDK delivered: [seq, event name, connId]. */
    this.events = [];
    this.baselineSeq = 0;
    this.calls = 0;
    this.resumedAt = 0;
    this.failoverStartedAt = 0;
    this.wantReady = true;
    this.busy = new Set();
    /** ConnIDs that rang again while still busy with them. */
    this.rangAgain = new Set();
    /** ConnID -> the last event about it on this DN (is a call that rang again still ringing?). */
    this.lastOnDn = new Map();
    this.connect();
  }

  connect() {
    this.client = createNodeClient({ servers: this.o.urls, clientName: this.name, requestTimeoutMs: 30_000 });
    this.client.on('event', (ev) => this.onEvent(ev));
    this.client.on('control', countAnswer);
    this.client.on('status', (s) => {
      if (s.type === 'failover-started') this.failoverStartedAt = now();
      if (s.type === 'failover-complete') this.resumedAt = now();
    });
  }

  /** The agent reloads the desktop page: a new SDK client (registers and logs in again). */
  async reload() {
    this.client.close();
    this.connect();
    await this.client.register(this.dn);
    // A reloaded page knows nothing before its registration: what its DN got meanwhile is not its loss.
    this.baselineSeq = Math.max(this.baselineSeq, this.client.lastSeq ?? 0);
    await this.relogin();
  }

  async start() {
    await this.client.register(this.dn);
    const login = await this.client.login(this.dn, `ag${this.dn}`, { queue: this.o.queue, workMode: 'ManualIn' });
    this.baselineSeq = login.seq - 1;
    await this.client.ready(this.dn);
  }

  /**
   * After a fault whose expected outcome is a fresh state (the pair restarted from the switch's
   * snapshot): log in again if this agent is gone, and be Ready.
   */
  async relogin() {
    const r = await this.req('relogin', () => this.client.login(this.dn, `ag${this.dn}`, { queue: this.o.queue, workMode: 'ManualIn' }), ['AgentAlreadyLoggedIn']);
    if (r?.seq) this.baselineSeq = Math.max(this.baselineSeq, r.seq - 1);
    await this.req('ready', () => this.client.ready(this.dn));
    this.wantReady = true;
  }

  /** Runs a request; Overloaded (not run) is retried after a pause; other errors are counted failures. */
  async req(what, fn, ignore = []) {
    for (let attempt = 0; ; attempt++) {
      try { return await fn(); } catch (err) {
        const code = err?.errorCode ?? err?.code ?? 'Error';
        if (ignore.includes(code)) return undefined;
        if (code === 'Overloaded' && attempt < 50) { await sleep(50 + 25 * Math.min(attempt, 8)); continue; }
        this.o.failures[`${what}:${code}`] = (this.o.failures[`${what}:${code}`] ?? 0) + 1;
        return undefined;
      }
    }
  }

  onEvent(ev) {
    this.events.push([ev.seq, ev.event, ev.connId ?? '']);
    if (ev.thisDN !== this.dn) return;
    if (ev.connId) this.lastOnDn.set(ev.connId, ev.event);
    if (ev.event !== 'EventRinging') return;
    // A call this desk is still finishing (transferred to the queue) can ring here again: a new
    // offer (a new seq; the SDK already dropped duplicates). Answer it once the first leg is done.
    if (this.busy.has(ev.connId)) this.rangAgain.add(ev.connId);
    else this.take(ev.connId);
  }

  take(connId) {
    this.busy.add(connId);
    void this.handleCall(connId).finally(() => {
      this.busy.delete(connId);
      const again = this.rangAgain.delete(connId) && this.lastOnDn.get(connId) === 'EventRinging';
      this.lastOnDn.delete(connId);
      if (again) this.take(connId);
    });
  }

  async handleCall(connId) {
    const c = this.client, dn = this.dn, n = ++this.calls;
    if (!(await this.req('answer', () => c.answer(dn, connId)))) return;
    await sleep(this.o.talkMs);
    const r = this.o.rnd();
    if (r < 0.2) {
      await this.req('attachUserData', () => c.attachUserData(dn, connId, { account: String(n), agent: dn }));
      await this.req('release', () => c.release(dn, connId));
    } else if (r < 0.35) {
      await this.req('singleStepTransfer', () => c.singleStepTransfer(dn, connId, this.o.queue));
    } else {
      await this.req('release', () => c.release(dn, connId));
    }
    if (n % 5 === 0) {
      this.wantReady = false;
      await this.req('notReady', () => c.notReady(dn, 'AuxWork', { why: 'chaos' }));
      await sleep(150);
      await this.req('ready', () => c.ready(dn));
      this.wantReady = true;
    }
  }

  close() { this.client.close(); }
}

export class Router {
  constructor({ urls, routePoint, queue, failures }) {
    this.events = [];
    this.dn = routePoint;
    this.name = 'chaos-router';
    this.baselineSeq = 0;
    this.client = createNodeClient({ servers: urls, clientName: this.name, requestTimeoutMs: 30_000 });
    this.client.on('control', countAnswer);
    this.client.on('event', (ev) => {
      this.events.push([ev.seq, ev.event, ev.connId ?? '']);
      if (ev.event === 'EventRouteRequest' && ev.thisDN === routePoint) {
        const route = (attempt) => this.client.routeCall(routePoint, ev.connId, queue).catch((err) => {
          if (err?.errorCode === 'Overloaded' && attempt < 50) return void setTimeout(() => route(attempt + 1), 50 + 25 * Math.min(attempt, 8));
          const k = `routeCall:${err?.errorCode ?? 'Error'}`;
          failures[k] = (failures[k] ?? 0) + 1;
        });
        route(0);
      }
    });
  }
  async start() { await this.client.register(this.dn); this.baselineSeq = this.client.lastSeq ?? 0; }
  close() { this.client.close(); }
}

/** Inbound calls at `rate`/s to the route point until stop(); unique anis. */
export async function startCallers(address, routePoint) {
  const link = await connectLink({ address, serverName: 'chaos-caller', timeoutMs: 20_000 });
  let n = 0, timer, rate = 0, t0 = 0, sentAtStart = 0;
  const failures = {};
  const tick = () => {
    const due = sentAtStart + Math.floor((rate * (now() - t0)) / 1000);
    for (; n < due; n++) {
      link.inboundCall(`41${String(n).padStart(8, '0')}`, routePoint).then((r) => { if (!r.ok) failures[r.errorCode] = (failures[r.errorCode] ?? 0) + 1; }, () => { failures.link = (failures.link ?? 0) + 1; });
    }
    timer = setTimeout(tick, 10);
  };
  return {
    link, failures,
    get sent() { return n; },
    run(r) { rate = r; t0 = now(); sentAtStart = n; clearTimeout(timer); tick(); },
    pause() { clearTimeout(timer); rate = 0; },
    close() { clearTimeout(timer); link.close(); },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A small seeded PRNG (mulberry32, chaos-plan.mjs) so a drill can be replayed with --seed. */
export const prng = mulberry32;

// Load-generator child process: N agent desktops + one router on raw `ws` connections (the SDK's
// per-request bookkeeping is not needed for a benchmark). Agents answer every EventRinging with
// RequestAnswerCall, talk `talkMs`, then RequestReleaseCall; the router routes every
// EventRouteRequest to the queue. Requests are built with template strings (no JSON.stringify of
// objects on the hot path). Controlled by the parent over IPC (child_process.fork).
import WebSocket from 'ws';

const now = () => performance.timeOrigin + performance.now();

/** @type {{url:string, queue:string, routePoint:string, talkMs:number}} */
let cfg;
const agents = [];
let router;
let win = freshWindow();

function freshWindow() {
  return { rings: [], answerLat: [], routeLat: [], established: 0, released: 0, errors: {}, closed: 0, eventsIn: 0, overloadedRetries: 0 };
}

function conn(name, onEvent) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(cfg.url, { perMessageDeflate: false });
    const c = { ws, name, ref: 0, waiting: new Map() };
    ws.once('error', reject);
    ws.on('message', (data) => {
      win.eventsIn++;
      const ev = JSON.parse(data.toString());
      if (ev.referenceId !== undefined) {
        const w = c.waiting.get(ev.referenceId);
        if (w) { c.waiting.delete(ev.referenceId); w(ev); }
      }
      if (ev.event === 'EventError') win.errors[ev.errorCode] = (win.errors[ev.errorCode] ?? 0) + 1;
      onEvent(c, ev);
    });
    ws.on('close', () => { win.closed++; });
    ws.once('open', () => { ws.off('error', reject); ws.on('error', () => {}); resolve(c); });
  });
}

/** Sends a request and resolves with its direct answer (setup only: not the hot path). */
function ask(c, body) {
  const referenceId = ++c.ref;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${c.name}: no answer to ${body.request}`)), 30_000);
    c.waiting.set(referenceId, (ev) => { clearTimeout(timer); ev.event === 'EventError' && body.request !== 'RequestAgentReady' ? reject(new Error(`${c.name}: ${body.request} -> ${ev.errorCode} ${ev.errorMessage}`)) : resolve(ev); });
    c.ws.send(JSON.stringify({ ...body, referenceId }));
  });
}

/**
 * Sends a hot-path request (`body(ref)` builds its JSON) and calls `onAnswer` with its answer. An
 * `Overloaded` answer is retried after its `retryAfterMs`, as the SDK does: the server admitted
 * nothing, so the request is still ours to send.
 */
function send(c, body, onAnswer) {
  const ref = ++c.ref;
  c.waiting.set(ref, (ans) => {
    if (ans.event === 'EventError' && ans.errorCode === 'Overloaded') {
      win.overloadedRetries++;
      setTimeout(() => send(c, body, onAnswer), ans.retryAfterMs ?? 50);
      return;
    }
    onAnswer?.(ans);
  });
  c.ws.send(body(ref));
}

function onAgentEvent(c, ev) {
  switch (ev.event) {
    case 'EventRinging': {
      if (ev.thisDN !== c.dn) return;
      win.rings.push(ev.ani, now());
      const sent = now();
      send(c, (ref) => `{"request":"RequestAnswerCall","referenceId":${ref},"thisDN":"${c.dn}","connId":"${ev.connId}"}`, (ans) => {
        if (ans.event !== 'EventEstablished') return;
        win.answerLat.push(now() - sent);
        win.established++;
        setTimeout(() => send(c, (ref) => `{"request":"RequestReleaseCall","referenceId":${ref},"thisDN":"${c.dn}","connId":"${ev.connId}"}`), cfg.talkMs);
      });
      return;
    }
    case 'EventReleased': if (ev.thisDN === c.dn) win.released++; return;
    default: return;
  }
}

function onRouterEvent(c, ev) {
  if (ev.event !== 'EventRouteRequest') return;
  const sent = now();
  send(c, (ref) => `{"request":"RequestRouteCall","referenceId":${ref},"thisDN":"${cfg.routePoint}","connId":"${ev.connId}","otherDN":"${cfg.queue}"}`, () => win.routeLat.push(now() - sent));
}

async function setup(msg) {
  cfg = msg;
  const t0 = now();
  router = await conn('router', onRouterEvent);
  await ask(router, { request: 'RequestOpen', clientName: `bench-router-${process.pid}` });
  await ask(router, { request: 'RequestRegisterAddress', thisDN: cfg.routePoint });
  // Agents in waves of 100 connections: a thousand simultaneous handshakes only measure the backlog.
  for (let i = 0; i < msg.dns.length; i += 100) {
    await Promise.all(msg.dns.slice(i, i + 100).map(async (dn) => {
      const c = await conn(`agent-${dn}`, onAgentEvent);
      c.dn = dn;
      await ask(c, { request: 'RequestOpen', clientName: `bench-agent-${dn}` });
      await ask(c, { request: 'RequestRegisterAddress', thisDN: dn });
      const login = await ask(c, { request: 'RequestAgentLogin', thisDN: dn, agentId: `ag${dn}`, thisQueue: cfg.queue, workMode: 'ManualIn' }).catch((e) => e);
      if (login instanceof Error && !/AgentAlreadyLoggedIn/.test(login.message)) throw login;
      await ask(c, { request: 'RequestAgentReady', thisDN: dn });
      agents.push(c);
    }));
  }
  return { ms: now() - t0, agents: agents.length };
}

process.on('message', async (msg) => {
  try {
    if (msg.op === 'setup') process.send({ id: msg.id, ok: true, ...(await setup(msg)) });
    else if (msg.op === 'window') { win = freshWindow(); process.send({ id: msg.id, ok: true }); }
    else if (msg.op === 'unanswered') process.send({ id: msg.id, ok: true, unanswered: [router, ...agents].reduce((n, c) => n + (c?.waiting.size ?? 0), 0) });
    else if (msg.op === 'collect') {
      const w = win;
      win = freshWindow();
      // Requests sent and never answered (the server must answer every one, even Overloaded).
      const unanswered = [router, ...agents].reduce((n, c) => n + (c?.waiting.size ?? 0), 0);
      process.send({ id: msg.id, ok: true, ...w, unanswered });
    }
    else if (msg.op === 'close') {
      for (const c of [router, ...agents]) c?.ws.close();
      process.send({ id: msg.id, ok: true });
      setTimeout(() => process.exit(0), 50);
    }
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));

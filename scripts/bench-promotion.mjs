#!/usr/bin/env node
// Promotion time of a real pair (not a test): a switch and two `tandem tserver` processes on
// ephemeral ports; the primary is killed with SIGKILL (crash) or frozen with SIGSTOP (hang), and we
// measure from the signal to
//   - the backup's 'role changed' -> primary log line (its pino time, ms resolution), and
//   - the first answer to a call-control request on it (a client waits for the pushed
//     EventServerInfo serving:true, then sends RequestQueryAddress and times the answer), and
//   - (kill) when the dead primary's sockets closed: a TCP connection the bench holds to it sees
//     the close. The kernel closes a killed process's files only after it has unmapped its memory,
//     so this part is the dying process, before anything of the backup runs.
// The members' sync ports are chosen before they start and given to each other directly (no proxy
// between them: a relay in this process added its own event-loop turn to every failover).
// --switch-state warm (default): one call is made and released on the switch before the runs, so
// the pair has applied switch events and a promotion asks for redelivery after its applied seq, as
// on any switch that has carried a call. fresh: a switch that never emitted an event; the pair's
// applied seq is 0, so every promotion rebuilds from the switch's snapshot (1,020 devices).
// Then the pair is repaired (restart / SIGCONT: the old primary rejoins as backup) and the roles
// alternate. --settle-ms N (default 0) waits N ms more before each signal, once the pair is in sync and
// the backup's liveness worker has its renewer link up: a restarted member is in sync ~0.4 s after it
// starts, but its liveness worker is still loading gRPC in its own isolate (~0.2 s of CPU); killed then,
// the primary's failover shares the 2 cores with that start-up (traced: 16-20 ms of the worker's CPU
// in the first 30 ms after the kill). 1000 measures an idle pair. Usage: npm run bench:promotion [-- --runs 20]. Needs `npm run build` first.
// --out FILE writes every run's times as a results file (kind 'promotion', scripts/lib/charts.mjs);
// --charts DIR also draws promotion.svg there (npm run bench passes --out and draws it itself).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseScriptArgs } from './lib/cli-args.mjs';
import { machineInfo } from './lib/bench-report.mjs';
import { writeCharts } from './lib/charts.mjs';
import { clock } from './lib/bench-progress.mjs';
import WebSocket from 'ws';

const USAGE = 'usage: node scripts/bench-promotion.mjs [--runs 20] [--modes kill,stop] [--switch-state warm|fresh] [--settle-ms 0] [--out FILE.json] [--charts DIR]\n  promotion time of the backup after kill -9 (kill) and SIGSTOP (stop) of the primary\n  --settle-ms: wait this long after the pair is in sync (and the backup\'s liveness worker is up) before each signal; 1000 = an idle pair\n  --switch-state: warm (default) one call made and released before the runs; fresh: a switch that never carried a call (promotion rebuilds from its snapshot)\n  --out: every run\'s times as JSON (a results file for scripts/charts.mjs); --charts: draw promotion.svg into DIR (needs --out)';
const { values } = parseScriptArgs('bench-promotion', USAGE, {
  options: { runs: { type: 'string', default: '20' }, modes: { type: 'string', default: 'kill,stop' }, 'switch-state': { type: 'string', default: 'warm' }, 'settle-ms': { type: 'string', default: '0' }, out: { type: 'string' }, charts: { type: 'string' } },
});
if (values.charts && !values.out) { console.error(`bench-promotion: --charts needs --out (the chart is drawn from the results file)\n${USAGE}`); process.exit(2); }
if (!['warm', 'fresh'].includes(values['switch-state'])) { console.error(`bench-promotion: --switch-state must be warm or fresh, got "${values['switch-state']}"\n${USAGE}`); process.exit(2); }
const SETTLE_MS = Number(values['settle-ms']);
if (!Number.isInteger(SETTLE_MS) || SETTLE_MS < 0) { console.error(`bench-promotion: --settle-ms must be a whole number of ms, got "${values['settle-ms']}"\n${USAGE}`); process.exit(2); }
const started = new Date();
const RUNS = Number(values.runs);
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'tandem.js');
const live = new Set();
process.on('exit', () => { for (const c of live) { try { c.kill('SIGCONT'); c.kill('SIGKILL'); } catch { /* gone */ } } });
process.on('SIGINT', () => process.exit(130));

function start(args, name) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TANDEM_LOG_LEVEL: 'info' } });
  live.add(child);
  const p = { name, child, lines: [], waiters: new Set() };
  const onLine = (raw) => {
    let l;
    try { l = JSON.parse(raw); } catch { return; }
    p.lines.push(l);
    for (const w of p.waiters) if (w.pred(l, p.lines.length - 1)) { p.waiters.delete(w); w.resolve(l); }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  p.exited = new Promise((r) => child.on('exit', () => { live.delete(child); r(); }));
  p.waitFor = (pred, from = 0, timeoutMs = 15_000, what = 'line') => {
    const i = p.lines.findIndex((l, n) => n >= from && pred(l));
    if (i >= 0) return Promise.resolve(p.lines[i]);
    return new Promise((resolve, reject) => {
      const w = { pred: (l, n) => n >= from && pred(l), resolve: (l) => { clearTimeout(timer); resolve(l); } };
      const timer = setTimeout(() => { p.waiters.delete(w); reject(new Error(`${name}: timeout waiting for ${what}`)); }, timeoutMs);
      p.waiters.add(w);
    });
  };
  return p;
}

/** A port free now (the member listening on it is started right after). */
async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** A TCP connection to `port`; `closed` resolves with Date.now() when the other end is gone. */
async function watchClose(port) {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
  return { closed: new Promise((r) => sock.once('close', () => r(Date.now()))), close: () => sock.destroy() };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const health = async (m) => (await fetch(`http://127.0.0.1:${m.http}/healthz`)).json();

async function main() {
  const sw = start(['switch', '--host', '127.0.0.1', '--port', '0'], 'switch');
  const swReady = await sw.waitFor((l) => l.msg === 'ready');
  const swPort = Object.values(swReady.ports).find((v) => typeof v === 'number' && v > 0);
  const syncPorts = { A: await freePort(), B: await freePort() };
  const members = {};
  const launch = async (name) => {
    const peer = name === 'A' ? 'B' : 'A';
    const p = start(['tserver', '--name', name, '--host', '127.0.0.1', '--port', '0', '--switch', `127.0.0.1:${swPort}`,
      '--sync-port', String(syncPorts[name]), '--peer-sync', `127.0.0.1:${syncPorts[peer]}`, '--peer-name', peer, '--peer-url', 'ws://127.0.0.1:0/tlib'], name);
    const r = await p.waitFor((l) => l.msg === 'ready');
    const m = { name, proc: p, http: r.ports.http };
    members[name] = m;
    return m;
  };
  await launch('A');
  await members.A.proc.waitFor((l) => l.msg === 'role changed' && l.to === 'primary');
  await launch('B');
  await members.B.proc.waitFor((l) => l.msg === 'role changed' && l.to === 'backup-in-sync');
  if (values['switch-state'] === 'warm') {
    // One call, released at once: the switch has emitted events and the pair has applied them.
    const call = spawn(process.execPath, [BIN, 'call', '--to', '8000', '--hangup-after', '50ms', '--switch', `127.0.0.1:${swPort}`], { stdio: 'ignore' });
    const code = await new Promise((r) => call.on('exit', r));
    if (code !== 0) throw new Error(`tandem call exited ${code}`);
    for (let i = 0; (await health(members.A)).calls > 0; i++) { if (i > 250) throw new Error('the warm-up call did not end'); await sleep(20); }
  }
  let primary = members.A;
  let backup = members.B;

  const results = { kill: { role: [], serve: [] }, stop: { role: [], serve: [] } };
  // Where the time goes, per run (ms from the signal, the backup's own log times): it noticed the
  // primary was gone (its sync stream lost or suspect), its claim was granted, it serves.
  const phases = { kill: [], stop: [] };
  const modes = values.modes.split(',');
  for (const mode of modes) {
    for (let run = 0; run < RUNS; run++) {
      // In sync: same offset, nothing unacked.
      for (let i = 0; ; i++) {
        const [p, b] = await Promise.all([health(primary), health(backup)]);
        if (p.haState === 'primary' && b.haState === 'backup-in-sync' && p.syncState === 'in-sync' && p.syncOffset === b.syncOffset) break;
        if (i > 500) throw new Error(`not in sync: ${JSON.stringify(p)} ${JSON.stringify(b)}`);
        await sleep(20);
      }
      if (SETTLE_MS > 0) {
        await backup.proc.waitFor((l) => l.msg?.startsWith('renewer link up'), 0, 15_000, 'the liveness worker\'s renewer link');
        await sleep(SETTLE_MS);
      }
      const ws = new WebSocket(`ws://127.0.0.1:${backup.http}/tlib`);
      await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
      const events = [];
      let wake = () => {};
      ws.on('message', (d) => { events.push(JSON.parse(d.toString())); wake(); });
      const next = (pred) => new Promise((resolve) => {
        const check = () => { const e = events.find(pred); if (e) { wake = () => {}; resolve(e); } };
        wake = check; check();
      });
      ws.send(JSON.stringify({ request: 'RequestOpen', referenceId: 1, clientName: `bench-${mode}-${run}` }));
      await next((e) => e.referenceId === 1);
      const from = backup.proc.lines.length;
      const dead = mode === 'kill' ? await watchClose(primary.http) : undefined;
      const t0 = Date.now();
      primary.proc.child.kill(mode === 'kill' ? 'SIGKILL' : 'SIGSTOP');
      const serving = next((e) => e.event === 'EventServerInfo' && e.serving === true && e.role === 'primary').then(async () => {
        ws.send(JSON.stringify({ request: 'RequestQueryAddress', referenceId: 2, thisDN: '5001' }));
        const a = await next((e) => e.referenceId === 2);
        if (a.event === 'EventError') throw new Error(`request failed on the new primary: ${JSON.stringify(a)}`);
        return Date.now() - t0;
      });
      const roleLine = await backup.proc.waitFor((l) => l.msg === 'role changed' && l.to === 'primary', from, 10_000, 'promotion');
      results[mode].role.push(Date.parse(roleLine.time) - t0);
      results[mode].serve.push(await serving);
      const after = backup.proc.lines.slice(from);
      const at = (pred) => { const l = after.find(pred); return l ? Date.parse(l.time) - t0 : undefined; };
      const closedAt = dead ? await dead.closed : undefined;
      phases[mode].push({
        ...(closedAt !== undefined ? { socketsClosed: closedAt - t0 } : {}),
        noticed: at((l) => l.msg === 'role changed' && l.from === 'backup-in-sync'),
        claimed: at((l) => /^switch link .* -> claiming$/.test(l.msg ?? '')),
        granted: at((l) => /^switch link claiming -> (up|resyncing)$/.test(l.msg ?? '')),
        role: results[mode].role.at(-1), serve: results[mode].serve.at(-1),
      });
      ws.close();
      // Repair: the old primary rejoins as backup.
      const old = primary;
      if (mode === 'kill') {
        await old.proc.exited;
        const m = await launch(old.name);
        await m.proc.waitFor((l) => l.msg === 'role changed' && l.to === 'backup-in-sync', 0, 15_000, 'rejoin');
        primary = backup; backup = m;
      } else {
        const mark = old.proc.lines.length;
        old.proc.child.kill('SIGCONT');
        await old.proc.waitFor((l) => l.msg === 'role changed' && l.to === 'backup-in-sync', mark, 15_000, 'rejoin');
        primary = backup; backup = old;
      }
      process.stderr.write(`${mode} run ${run + 1}/${RUNS}: role ${results[mode].role.at(-1)} ms, serving ${results[mode].serve.at(-1)} ms (elapsed ${clock(Date.now() - started.getTime())})\n`);
    }
  }

  const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; };
  const row = (label, xs) => `| ${label.padEnd(34)} | ${String(xs.length).padStart(4)} | ${String(pct(xs, 0.5)).padStart(6)} | ${String(pct(xs, 0.99)).padStart(6)} | ${String(Math.min(...xs)).padStart(5)} | ${String(Math.max(...xs)).padStart(5)} |`;
  const out = ['', `Promotion time (ms, from the signal; ADDP 100/400 ms, switch lease 400 ms, heartbeat 100 ms; switch ${values['switch-state']}; settle ${SETTLE_MS} ms)`, '',
    '| event                              | runs | median |    p99 |   min |   max |', '|---|---|---|---|---|---|'];
  for (const mode of modes) {
    const what = mode === 'kill' ? 'kill -9' : 'SIGSTOP';
    if (mode === 'kill') out.push(row(`${what}: dead primary's sockets closed`, phases[mode].map((p) => p.socketsClosed)));
    out.push(row(`${what}: backup noticed (sync lost/suspect)`, phases[mode].map((p) => p.noticed).filter((v) => v !== undefined)),
      row(`${what}: claim granted by the switch`, phases[mode].map((p) => p.granted).filter((v) => v !== undefined)),
      row(`${what}: 'role changed' to primary`, results[mode].role), row(`${what}: first request answered`, results[mode].serve));
  }
  console.log(out.join('\n'));
  if (values.out) {
    const file = {
      kind: 'promotion', command: `node scripts/bench-promotion.mjs ${process.argv.slice(2).join(' ')}`.trim(), started: started.toISOString(), machine: machineInfo(),
      settings: `ADDP 100/400 ms, switch lease 400 ms, heartbeat 100 ms; ms from the signal; switch ${values['switch-state']}; settle ${SETTLE_MS} ms`,
      runs: RUNS, modes: Object.fromEntries(modes.map((m) => [m, results[m]])), phases,
    };
    writeFileSync(values.out, JSON.stringify(file, null, 1) + '\n');
    if (values.charts) for (const c of writeCharts(file, values.charts, values.out)) process.stderr.write(`chart: ${c.path}\n`);
  }
  for (const c of live) { try { c.kill('SIGCONT'); c.kill('SIGKILL'); } catch { /* gone */ } }
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });

#!/usr/bin/env node
// `npm run chaos`: the Jepsen-style drill (v2). Starts the switch and the A/B pair as real processes
// (the sync link through TCP proxies this script cuts), drives SDK desktops and inbound calls, and runs
// faults in a seeded random order (chaos-plan.mjs: the catalogue, each fault's expected outcome, the
// schedule): single faults (kill -9, SIGSTOP, sync cut, backup kill, switchover), stalls shorter than
// the detection time, overload phases, and double faults. Every cycle checks, against what its fault
// allows: recovery (one serving primary and one in-sync backup within --recover-ms), failovers
// (planned vs unplanned, from every 'role changed' log line), and losses on a quiesced system (the
// checker, chaos-checker.mjs). Prints per-cycle and per-fault tables and one summary line; writes the
// results with the exact command (--out, --write); exits 1 on any failure. --help lists the options.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { startSystem, benchConfig, QUEUE, ROUTE_POINT } from './lib/system.mjs';
import { Desk, Router, startCallers, sleep, answers } from './lib/chaos-workload.mjs';
import { EventAudit, AnswerAudit, checkCalls, checkAgents, checkCommands } from './lib/chaos-checker.mjs';
import { injectFault } from './lib/chaos-faults.mjs';
import { JournalTap } from './lib/chaos-journal.mjs';
import { defaultCoreConfig } from '../dist/core/config.js';
import { FAULTS, USAGE, parseChaosArgs, schedule, mulberry32, replayCommand } from './lib/chaos-plan.mjs';
import { classifyFailovers, countsBetween } from './lib/chaos-classify.mjs';
import { RoleWatch, healthOf, waitRecovered } from './lib/chaos-watch.mjs';
import { table, fmt, pct } from './lib/stats.mjs';
import { CHAOS_HEADING, upsertSection, perFaultRows, PER_FAULT_HEADER, perFaultCells, lossesOf, resultsMarkdown } from './lib/chaos-report.mjs';
import { ROOT } from './lib/procs.mjs';

const argv = process.argv.slice(2);
const parsed = parseChaosArgs(argv);
if (!parsed.ok) { console.error(`chaos: ${parsed.error}\n${USAGE}`); process.exit(2); }
if (parsed.opts.help) { console.log(USAGE); process.exit(0); }
const o = parsed.opts;
const seed = o.seed ?? Math.floor(Math.random() * 1_000_000);
const plan = schedule(seed, o.faults, o.cycles);
const command = replayCommand(argv, seed);
const started = new Date(), loadStart = loadavg();
const log = (s) => console.log(`[chaos ${new Date().toISOString().slice(11, 23)}] ${s}`);
log(`seed ${seed} (replay: ${command})`);
log(`plan: ${plan.join(' ')}`);

// The servers keep their default journal; the drill collects it as it goes (chaos-journal.mjs).
const config = benchConfig({ journalEvents: defaultCoreConfig().journal.maxEvents });
const logDir = mkdtempSync(join(tmpdir(), 'tandem-chaos-'));
const outFile = o.out ?? join(logDir, 'chaos-results.md');
log(`process logs (pino JSON lines): ${logDir}/{switch,tserver-A,tserver-B}.log`);
const sys = await startSystem({ mode: o.mode, config, proxy: true, log, logDir });
if (!sys.haWorks) { log('the pair never got in sync: is the HA layer wired?'); await sys.stop(); process.exit(2); }
const watch = new RoleWatch();
for (const s of Object.values(sys.servers)) watch.attach(s);
/** Restarts a server as the supervisor would and follows its role changes from its first line. */
const restart = (name) => { const p = sys.start(name); watch.attach(sys.servers[name]); return p; };

const failures = {};
const rnd = mulberry32(seed ^ 0x5bd1e995);
const desks = Array.from({ length: o.desktops }, (_, i) => new Desk({ dn: String(5000 + i), urls: sys.urls, queue: QUEUE, talkMs: o.talkMs, rnd, failures }));
const router = new Router({ urls: sys.urls, routePoint: ROUTE_POINT, queue: QUEUE, failures });
const callers = await startCallers(sys.sw.address, ROUTE_POINT);
await router.start();
await Promise.all(desks.map((d) => d.start()));
log(`${o.desktops} desktops logged in, mode ${o.mode}, ${o.cycles} cycles at ${o.rate} calls/s`);
watch.take(); // start-up

const audit = new EventAudit(), answersOnce = new AnswerAudit();
const tap = new JournalTap({ servers: () => Object.values(sys.servers), onReset: () => { audit.reset(); answersOnce.reset(); for (const d of [...desks, router]) d.baselineSeq = 0; } });
tap.start();
let checkedSeq = 0, prevCheckedSeq = 0, resetsSeen = 0;
const ctx = { sys, desks, log, restart, callers, o };
const rows = [];
const failureLines = [];
let prev = { reqFailed: 0, twice: 0, splitWindows: 0 };
let exitCode = 0;
try {
  for (let i = 0; i < plan.length; i++) {
    const fault = plan[i], spec = FAULTS[fault];
    callers.run(o.rate);
    await sleep(o.loadMs);
    const before = await sys.primary();
    const answersBefore = { ...answers.byCode };
    const f = await injectFault(ctx, fault, before);
    const refused = countsBetween(answersBefore, answers.byCode);
    const rec = await waitRecovered(sys, f.endedAt, o.recoverMs);
    if (!rec.ok) log(`cycle ${i + 1} ${fault}: NOT RECOVERED within ${o.recoverMs} ms (${rec.late ? `after ${fmt(rec.ms)} ms` : 'not at all'}): ${rec.why}\n  A: ${JSON.stringify(rec.health.A)}\n  B: ${JSON.stringify(rec.health.B)}`);
    await sleep(o.loadMs / 2);
    callers.pause();
    const hungUp = spec.loss === 'fresh' ? await reestablish() : 0;
    const check = await quiesceAndCheck();
    const cls = classifyFailovers(watch.take(), spec.grants, before.name);
    const failedNow = Object.values(failures).reduce((x, y) => x + y, 0);
    const twiceNow = check.cmds.executedTwice;
    const row = {
      cycle: i + 1, fault, primary: `${before.name}→${f.after}`, promoteMs: f.promoteMs, resumedAfterPromoteMs: f.resumedAfterPromoteMs,
      recovered: rec.ok, recoverMs: rec.ms, planned: cls.planned.length, unplanned: cls.unplanned.length, missing: cls.missing,
      callsLost: check.calls.lost + check.calls.ghosts + check.calls.stuck, agentsLost: check.agents.lost,
      evLost: check.ev.lost, evDup: check.ev.duplicated, evUnexpected: check.ev.unexpected,
      reqFailed: failedNow - prev.reqFailed, twice: Math.max(0, twiceNow - prev.twice) + check.answers.answeredTwice, split: Math.max(0, check.cmds.splitBrainWindows - prev.splitWindows),
      refused, lossByDesign: spec.loss === 'fresh',
    };
    prev = { reqFailed: failedNow, twice: twiceNow, splitWindows: check.cmds.splitBrainWindows };
    const why = [...cls.why];
    if (!rec.ok) why.push(`not recovered within ${o.recoverMs} ms${rec.late ? ` (took ${fmt(rec.ms)} ms)` : ''}: ${rec.why}`);
    const forbidden = lossesOf(row).forbidden;
    if (forbidden) why.push(`lost: calls ${row.callsLost}, agent states ${row.agentsLost}, events ${row.evLost}, unexpected events ${row.evUnexpected}, requests failed ${row.reqFailed}`);
    if (row.evDup || row.twice || row.split) why.push(`events dup ${row.evDup}, executed twice ${row.twice}, split-brain windows ${row.split}`);
    if (spec.notPrimaryFails && refused.NotPrimary) why.push(`${refused.NotPrimary} NotPrimary answers while no role change was due (a serving primary refused)`);
    row.failed = why.length > 0;
    rows.push(row);
    // A state lost against expectation would fail every later cycle too (agents logged out, calls
    // nobody answers): start the next cycle from a sound workload, so each cycle is judged alone.
    const cleaned = spec.loss !== 'fresh' && (row.agentsLost || row.callsLost) ? { calls: await reestablish(check) } : undefined;
    const notes = [...f.notes, ...(hungUp ? [`${hungUp} calls left by the fresh state hung up`] : []), ...(cleaned ? [`after the check: ${cleaned.calls} stuck calls hung up, agents logged in again, desktops of the wrong agents reloaded`] : []), ...(row.lossByDesign && lossesOf(row).byDesign ? [`lost by design: calls ${row.callsLost}, agents ${row.agentsLost}, events ${row.evLost}+${row.evUnexpected} unexpected, requests ${row.reqFailed}`] : [])];
    if (row.failed) {
      writeFileSync(join(logDir, `failure-cycle-${i + 1}.json`), JSON.stringify({ row, why, health: rec.health, trace: check.trace, failures: { ...failures } }, null, 1));
      failureLines.push(`cycle ${i + 1} ${fault} (primary ${row.primary}): ${why.join('; ')}`);
    }
    log(`cycle ${i + 1} ${fault}: primary ${row.primary}, recovered ${rec.ok ? 'yes' : 'NO'} in ${fmt(rec.ms)} ms, failovers planned ${row.planned} unplanned ${row.unplanned}${Object.keys(refused).length ? `, refused ${JSON.stringify(refused)}` : ''}${notes.length ? ` [${notes.join('; ')}]` : ''}: ${row.failed ? `FAILED: ${why.join('; ')}` : 'ok'}`);
    if (row.failed) log(`evidence (row, health of both servers, desktop events, journal, calls): ${join(logDir, `failure-cycle-${i + 1}.json`)}`);
  }
} catch (err) {
  console.error(err);
  const health = await healthOf(sys).catch(() => ({}));
  console.error(`state of both servers: ${JSON.stringify(health)}`);
  exitCode = 2;
}

/**
 * After a fault whose outcome is a fresh state by design: calls the fresh primary rebuilt from the
 * switch without telling the desktops (nobody will answer them) are hung up, agents log in again.
 * Returns how many calls were hung up.
 */
async function reestablish(check) {
  const end = Date.now() + 3000;
  let snap = await callers.link.snapshot();
  while (snap.calls.length && Date.now() < end) { await sleep(200); snap = await callers.link.snapshot(); }
  for (const c of snap.calls) await callers.link.simulate({ callerHangup: { callId: c.callId } }).catch(() => {});
  // With a check: the desktops of the agents it found wrong are reloaded (an agent whose desktop
  // stopped receiving its DN's events would otherwise leave a stuck call in every later cycle).
  const wrong = new Set((check?.agents.wrong ?? []).map((w) => w.split(':')[0]));
  await Promise.all(desks.map((d) => (wrong.has(d.dn) ? d.reload() : d.relogin())));
  return snap.calls.length;
}

async function quiesceAndCheck() {
  // Drain: the last calls ring, are answered and released (or time out as stuck).
  const end = Date.now() + 10_000;
  let snap;
  while (Date.now() < end) {
    snap = await callers.link.snapshot();
    if (snap.calls.length === 0 && desks.every((d) => d.busy.size === 0 && d.wantReady)) break;
    await sleep(100);
  }
  if (!(await sys.inSync(30_000))) log('warning: the backup is not in sync after the fault');
  const primary = await sys.primary();
  await sleep(300); // the desktops' SDKs deliver what the primary released
  snap = await callers.link.snapshot();
  // The state is read from the in-sync backup (quiesced, it equals the primary's: ha-sync-state
  // proves it). /debug/state serializes the whole state and journal synchronously: tens of MB late
  // in a drill, a stall past the 400 ms lease on the primary, i.e. an unplanned failover after
  // nearly every check (35 in 100 cycles). A stalled backup only resyncs.
  const backup = Object.values(sys.servers).find((s) => s !== primary) ?? primary;
  const state = JSON.parse(await (await fetch(`${(o.checkOn === 'primary' ? primary : backup).http}/debug/state`)).text());
  await tap.flush();
  // This cycle's events: after the previous check's last seq (a fresh state starts the count again).
  const w = tap.window;
  if (w.resets !== resetsSeen) { resetsSeen = w.resets; checkedSeq = 0; prevCheckedSeq = 0; }
  const fromSeq = checkedSeq;
  const journal = w.after(fromSeq);
  const cmdLog = await callers.link.commandLog();
  const all = [...desks, router];
  const out = {
    calls: checkCalls(snap, state), agents: checkAgents(desks, state), ev: audit.check(all, journal, { fromSeq, judgeable: (seq) => w.judgeable(seq) }),
    cmds: checkCommands(cmdLog.commands, 0), answers: answersOnce.check(journal),
  };
  out.trace = lossTrace(out, snap, state, journal);
  w.prune(prevCheckedSeq);
  prevCheckedSeq = fromSeq;
  checkedSeq = w.maxSeq;
  return out;
}

/** What a person needs to explain a loss: per wrong agent and stuck call, what each side saw. */
function lossTrace(out, snap, state, journal) {
  const brief = (e) => ({ seq: e.seq, dn: e.dn, event: e.event.event, connId: e.event.connId, commandId: e.commandId, answer: e.answer });
  const dns = new Set([...out.agents.wrong.map((w) => w.split(':')[0]), ...out.ev.worst.map((w) => desks.find((d) => d.name === w.name)?.dn).filter(Boolean)]);
  const callIds = new Set((snap.calls ?? []).map((c) => c.callId));
  const calls = Object.values(state.calls ?? {}).filter((c) => callIds.has(c.switchCallId));
  for (const c of snap.calls ?? []) for (const p of c.parties) if (/^5\d{3}$/.test(p.dn)) dns.add(p.dn);
  const connIds = new Set(calls.map((c) => c.connId));
  return {
    agents: [...dns].map((dn) => ({ dn, agent: state.agents?.[dn], desk: desks.find((d) => d.dn === dn)?.events.slice(-12), journal: journal.filter((e) => e.dn === dn).slice(-12).map(brief) })),
    switchCalls: snap.calls, primaryCalls: calls, queues: state.queues,
    callJournal: journal.filter((e) => connIds.has(e.event.connId)).map(brief),
    commands: out.cmds.examples, answers: out.answers.examples, events: out.ev.worst,
  };
}

const cycleTable = table(['cycle', 'fault', 'primary', 'promote ms', 'desktops resumed after promotion, ms', 'recovered', 'recovery ms', 'failovers planned', 'unplanned',
  'calls lost', 'agent states lost', 'events lost', 'events dup', 'events unexpected', 'requests failed', 'executed twice', 'split-brain windows', 'refused', 'result'],
rows.map((r) => [r.cycle, r.fault, r.primary, r.promoteMs ?? '-', r.resumedAfterPromoteMs ?? '-', r.recovered ? 'yes' : 'NO', r.recoverMs, r.planned, r.unplanned + (r.missing ? ' (planned one missing)' : ''),
  r.callsLost, r.agentsLost, r.evLost, r.evDup, r.evUnexpected, r.reqFailed, r.twice, r.split,
  Object.entries(r.refused).map(([c, n]) => `${c} ${n}`).join(', ') || '-', r.failed ? 'FAILED' : r.lossByDesign ? 'ok (losses by design)' : 'ok']));
const kinds = o.faults.filter((f) => rows.some((r) => r.fault === f));
const perFault = table(PER_FAULT_HEADER, perFaultRows(rows, kinds, pct).map(perFaultCells));
const faultsDoc = table(['fault', 'what the drill does', 'failovers expected', 'losses'], o.faults.map((f) => [f, FAULTS[f].about,
  { peer: 'exactly one, to the peer', none: 'none', reclaim: 'none, or the frozen primary reclaiming its own lapsed lease (never the unsynced backup)', restarted: 'one, to the restarted primary (fresh); never the stale backup' }[FAULTS[f].grants],
  FAULTS[f].loss === 'fresh' ? 'agent states, events, requests in flight by design (docs/ha.md Known limits); never executed twice or split-brain' : `none${FAULTS[f].notPrimaryFails ? '; NotPrimary answers fail' : ''}`]));
console.log(`\n${cycleTable}\n\n${perFault}`);
if (failureLines.length) console.log(`\nfailures:\n${failureLines.map((l) => `- ${l}`).join('\n')}`);
if (Object.keys(failures).length) console.log(`request failures by kind: ${JSON.stringify(failures)}`);
if (Object.keys(callers.failures).length) console.log(`caller failures (switch Simulate): ${JSON.stringify(callers.failures)}`);
const failed = rows.filter((r) => r.failed).length;
if (failed) exitCode = exitCode || 1;
const n = (k) => rows.reduce((a, r) => a + (typeof r[k] === 'boolean' ? Number(r[k]) : r[k] || 0), 0);
const summary = `CHAOS seed ${seed}: ${rows.length}/${plan.length} cycles, ${failed} failed (not recovered ${rows.filter((r) => !r.recovered).length}, unplanned failovers ${n('unplanned')}, planned missing ${n('missing')}, lost ${rows.reduce((a, r) => a + lossesOf(r).forbidden, 0)}, dup ${n('evDup')}, executed twice ${n('twice')}, split-brain ${n('split')}), ${callers.sent} calls offered: ${exitCode === 0 ? 'PASS' : exitCode === 1 ? 'FAIL (exit 1)' : `STOPPED EARLY (exit ${exitCode})`}`;
const settings = `${o.desktops} SDK agent desktops, ${o.rate} inbound calls/s, talk ${o.talkMs} ms, ${o.loadMs / 1000} s of load before each fault and ${o.loadMs / 2000} s after, mode ${o.mode}; detection ${o.detectMs} ms (stalls ${o.stallMs} ms × ${o.stalls}), overload ${o.overloadRate} calls/s for ${o.overloadSecs} s, recovery bound ${o.recoverMs} ms, double faults hold ${o.holdMs} ms; faults in seeded random order: ${o.faults.join(', ')}`;
const md = resultsMarkdown({ command, seed, started, finished: new Date(), loadStart, loadEnd: loadavg(), settings, faultsDoc, perFault, failures: failureLines, cycleTable, summary });
writeFileSync(outFile, md);
console.log(`results: ${outFile}`);
if (o.write) {
  upsertSection(join(ROOT, 'docs', 'benchmarks.md'), md.replace(/^# Chaos drill results/, CHAOS_HEADING));
  console.log('results written to docs/benchmarks.md (section "Chaos drill")');
}
await tap.stop();
callers.close();
router.close();
for (const d of desks) d.close();
await sys.stop();
console.log(summary);
process.exit(exitCode);

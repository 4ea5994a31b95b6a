#!/usr/bin/env node
// Per-call cost of the pure core with a backlog of callers waiting in an ACD queue (and, optionally,
// calls parked at a route point with no router). In process, no sockets: the core (dist/core) driven
// by the simulated PBX (scripts/lib/core-rig.mjs), every batch of deltas encoded for the wire
// (encodeDeltaBatch) and applied to a second state, as a backup would.
//
// Steady state at a constant backlog: `--agents` agents serve queue 7000, `--waiting` callers wait
// behind them. One measured call = a new caller enqueued at the tail, one agent answers and releases
// its call (Ready again: the ACD offers it the head of the queue), and a tick (every timer runs).
// Then 2,000 ticks with nothing due: what a tick costs with that backlog.
//   node scripts/bench-queue.mjs [--waiting 0,1000,10000] [--parked 0] [--agents 50] [--calls 2000] [--runs 5]
// Each (waiting, parked) point is `--runs` fresh child processes; the median is reported.
import { parseScriptArgs } from './lib/cli-args.mjs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, table } from './lib/stats.mjs';

const USAGE = 'usage: node scripts/bench-queue.mjs [--waiting 0,1000,10000] [--parked 0] [--agents 50] [--calls 2000] [--runs 5]';
const { values: a } = parseScriptArgs('bench-queue', USAGE, {
  options: {
    waiting: { type: 'string', default: '0,1000,10000' },
    parked: { type: 'string', default: '0' },
    agents: { type: 'string', default: '50' },
    calls: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '5' },
    child: { type: 'string' },
  },
});

if (a.child) {
  const [waiting, parked] = a.child.split(':').map(Number);
  const { CoreRig, QUEUE, PARK_POINT } = await import('./lib/core-rig.mjs');
  const { applyDelta, canonicalState, createState, handle } = await import('../dist/core/index.js');
  const { encodeDeltaBatch } = await import('../dist/adapters/sync/delta-codec.js');

  /** CoreRig whose every core output is also encoded for the wire and applied to a backup state. */
  class ReplicatedRig extends CoreRig {
    feed(input) {
      this.backup ??= createState(); // the base constructor feeds the switch snapshot before ours runs
      this.bytes ??= 0;
      this.offset ??= 0;
      const queue = [input];
      while (queue.length > 0) {
        const out = handle(this.state, queue.shift(), { now: this.now, config: this.config, switchUp: true });
        if (out.deltas.length > 0) {
          const first = this.offset + 1;
          this.offset += out.deltas.length;
          const buf = encodeDeltaBatch(first, this.offset, out.deltas);
          this.bytes += buf.length;
          for (const d of out.deltas) applyDelta(this.backup, d);
        }
        for (const cmd of out.commands) {
          const o = this.pbx.command(cmd, this.now);
          if (o.ok && o.events.length) queue.push({ kind: 'switchEvents', events: this.number(o.events) });
          queue.push({ kind: 'commandResult', result: o.ok ? { commandId: cmd.commandId, ok: true, callId: o.callId, epoch: 1 } : { commandId: cmd.commandId, ok: false, errorCode: o.error.code, errorMessage: o.error.message, epoch: 1 } });
        }
      }
    }
  }

  const agents = Number(a.agents);
  const rig = new ReplicatedRig();
  for (let i = 0; i < agents; i++) rig.agent(String(5000 + i));
  for (let i = 0; i < parked; i++) rig.inbound(`33${String(i).padStart(8, '0')}`, PARK_POINT);
  let n = 0;
  const caller = () => rig.inbound(`44${String(n++).padStart(8, '0')}`, QUEUE);
  for (let i = 0; i < agents + waiting; i++) caller(); // the first `agents` ring at an agent, the rest wait
  /** The call ringing at (or talking to) agent `dn`. */
  const callAt = (dn) => {
    for (const id of rig.state.callsByDN.get(dn) ?? []) return id;
    return undefined;
  };
  const serve = (dn) => {
    const connId = callAt(dn);
    if (!connId) throw new Error(`no call at agent ${dn}`);
    rig.request(`agent-${dn}`, { request: 'RequestAnswerCall', thisDN: dn, connId });
    rig.request(`agent-${dn}`, { request: 'RequestReleaseCall', thisDN: dn, connId });
  };
  const one = (i) => {
    caller();
    serve(String(5000 + (i % agents)));
    rig.tick(1);
  };
  const warm = Math.min(500, Number(a.calls));
  for (let i = 0; i < warm; i++) one(i);
  const bytes0 = rig.bytes;
  const t0 = performance.now();
  const calls = Number(a.calls);
  for (let i = warm; i < warm + calls; i++) one(i);
  const ms = performance.now() - t0;
  const inQueue = rig.state.calls.size - agents - parked;
  // A tick with nothing due (the adapter ticks at nextDeadline, so under load about once per input).
  const ticks = 2000;
  const t1 = performance.now();
  for (let i = 0; i < ticks; i++) rig.tick(0);
  const usPerTick = ((performance.now() - t1) * 1000) / ticks;
  if (canonicalState(rig.backup) !== canonicalState(rig.state)) throw new Error('the backup state differs from the primary state');
  process.send({ usPerCall: (ms * 1000) / calls, bytesPerCall: (rig.bytes - bytes0) / calls, inQueue, usPerTick });
  process.exit(0);
}

const waitings = a.waiting.split(',').map(Number);
const parkeds = a.parked.split(',').map(Number);
const runs = Number(a.runs);
const rows = [];
for (const parked of parkeds) {
  for (const waiting of waitings) {
    const res = [];
    for (let r = 0; r < runs; r++) {
      const args = ['--child', `${waiting}:${parked}`, '--agents', a.agents, '--calls', a.calls];
      res.push(await new Promise((resolve, reject) => {
        const c = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        c.once('message', resolve);
        c.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      }));
    }
    const us = res.map((x) => x.usPerCall);
    const ticks = res.map((x) => x.usPerTick);
    console.log(`waiting ${waiting}, parked ${parked}: µs/call ${us.map((v) => v.toFixed(0)).join(' / ')}; µs/idle tick ${ticks.map((v) => v.toFixed(1)).join(' / ')}; bytes/call ${res[0].bytesPerCall.toFixed(0)}; calls in queue at the end ${res[0].inQueue}`);
    rows.push([waiting, parked, median(us), median(ticks), Math.round(median(res.map((x) => x.bytesPerCall)))]);
  }
}
console.log(`\n${a.agents} agents on queue 7000; ${a.calls} measured calls per run, median of ${runs} runs\n`);
console.log(table(['callers waiting', 'parked at a route point', 'µs per call (median)', 'µs per idle tick (median)', 'sync bytes per call'], rows));

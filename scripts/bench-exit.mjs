#!/usr/bin/env node
// How long a killed process takes to die, as its peers see it: kill -9 of a Node process holding a
// TCP connection, until the other end sees the connection close, by the memory the process had.
// The kernel frees a dying process's memory before it closes its sockets, so a backup that learns
// of its primary's death from the closed sync stream cannot learn it sooner than this
// (docs/benchmarks.md, "kill -9 -> backup serving").
//
//   node scripts/bench-exit.mjs [--sizes 0,25,50,100,150] [--runs 15]
import { fork } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { parseScriptArgs } from './lib/cli-args.mjs';

const USAGE = 'usage: node scripts/bench-exit.mjs [--sizes 0,25,50,100,150] [--runs 15]   (MiB of extra memory in the killed process; kills per size)';
const { values: a } = parseScriptArgs('bench-exit', USAGE, { options: { sizes: { type: 'string', default: '0,25,50,100,150' }, runs: { type: 'string', default: '15' }, child: { type: 'string' } } });
const bad = (what) => { console.error(`bench-exit: ${what}\n${USAGE}`); process.exit(2); };
const sizes = a.sizes.split(',').map(Number);
const runs = Number(a.runs);
if (a.child === undefined && (sizes.some((n) => !Number.isInteger(n) || n < 0) || !Number.isInteger(runs) || runs < 1)) bad('--sizes takes whole MiB >= 0, --runs a whole number >= 1');

if (a.child !== undefined) {
  // The dying process: `child` MiB of touched Buffers on top of Node's own, and a listening socket.
  const keep = [];
  for (let i = 0; i < Number(a.child); i++) keep.push(Buffer.alloc(1 << 20, 1));
  const srv = net.createServer(() => {}).listen(0, '127.0.0.1', () => process.send(srv.address().port));
} else {
  const pct = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  console.log(`kill -9 -> the peer sees the TCP connection close (ms), ${runs} kills per size; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
  console.log('| extra MiB | RSS MiB | p50 ms | p90 ms | max ms |\n|---|---|---|---|---|');
  for (const mb of sizes) {
    const ms = [];
    let rss = 0;
    for (let i = 0; i < runs; i++) {
      const c = fork(new URL(import.meta.url).pathname, ['--child', String(mb)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const port = await new Promise((r) => c.once('message', r));
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      await new Promise((r) => setTimeout(r, 200)); // settled: the allocation done, the GC quiet
      rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'))[1]) / 1024;
      const closed = new Promise((r) => s.once('close', r));
      const t0 = performance.now();
      c.kill('SIGKILL');
      await closed;
      ms.push(performance.now() - t0);
      if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
    }
    console.log(`| ${mb} | ${rss.toFixed(0)} | ${pct(ms, 50).toFixed(1)} | ${pct(ms, 90).toFixed(1)} | ${Math.max(...ms).toFixed(1)} |`);
  }
}

// Reads a V8 .cpuprofile (node --cpu-prof) and names the hot functions by self time.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './procs.mjs';

/** Self time (µs) per `keyOf(callFrame)` of the newest profile in `dir`, and the total. */
function selfTimes(dir, keyOf) {
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: worker threads (the liveness worker) write
  // their own; the main thread's is thread 0. The newest main-thread profile, else the newest.
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files.filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)).pop() ?? files.pop();
  if (!file) return undefined;
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const self = new Map();
  const dts = prof.timeDeltas ?? [];
  let total = 0, idle = 0;
  prof.samples.forEach((id, i) => {
    const dt = dts[i + 1] ?? dts[i] ?? 0;
    const cf = byId.get(id).callFrame;
    if (cf.functionName === '(idle)') idle += dt;
    const key = keyOf(cf);
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return { self, total, idle };
}

const where = (cf) => (cf.url ? relative(ROOT, cf.url.replace(/^file:\/\//, '')) : '');

/**
 * Top `n` functions by self time: [{fn, where, selfPct, busyPct}] (busyPct: share of the time the
 * process was not idle).
 */
export function hotFunctions(dir, n = 12) {
  const r = selfTimes(dir, (cf) => { const w = where(cf); return `${cf.functionName || '(anonymous)'}\t${w}${w ? `:${cf.lineNumber + 1}` : ''}`; });
  if (!r) return [];
  return [...r.self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => {
    const [fn, at] = k.split('\t');
    return { fn, where: at, selfPct: (100 * v) / r.total, busyPct: fn === '(idle)' ? NaN : (100 * v) / (r.total - r.idle) };
  });
}

/**
 * Self time by source file (node_modules packages as one entry each, V8/native as '(native)'):
 * [{file, busyPct}] over the busy time, the largest first.
 */
export function hotFiles(dir, n = 20) {
  const r = selfTimes(dir, (cf) => {
    if (cf.functionName === '(idle)') return '(idle)';
    const w = where(cf);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(w);
    return pkg ? `node_modules/${pkg[1]}` : w || (cf.url.startsWith('node:') ? cf.url : `(native) ${cf.functionName}`);
  });
  if (!r) return [];
  r.self.delete('(idle)');
  return [...r.self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([file, v]) => ({ file, busyPct: (100 * v) / (r.total - r.idle) }));
}

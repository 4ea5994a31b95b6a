// Reads a V8 .cpuprofile (node --cpu-prof) and names the hot functions by self time.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './procs.mjs';

/** Top `n` functions by self time: [{fn, where, selfPct}]. */
export function hotFunctions(dir, n = 12) {
  const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().pop();
  if (!file) return [];
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const self = new Map();
  const dts = prof.timeDeltas ?? [];
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = dts[i + 1] ?? dts[i] ?? 0;
    const nd = byId.get(id);
    const cf = nd.callFrame;
    const url = cf.url ? relative(ROOT, cf.url.replace(/^file:\/\//, '')) : '';
    const key = `${cf.functionName || '(anonymous)'}\t${url}${url ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => {
    const [fn, where] = k.split('\t');
    return { fn, where, selfPct: (100 * v) / total };
  });
}

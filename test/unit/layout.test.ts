// The layout shows the architecture (README "Where things live"): no folder imports a folder that
// imports it back, and no source file grows past 400 lines. A unit is a top-level folder of src/, or
// one level deeper under adapters/, processes/ and lib/.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { ROOT } from '../helpers/process.js';

const SRC = join(ROOT, 'src');
const NESTED = new Set(['adapters', 'processes', 'lib']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'gen' ? [] : sources(p);
    return f.endsWith('.ts') ? [p] : [];
  });
}

function unit(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return NESTED.has(parts[0]!) && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const files = sources(SRC);
const edges = new Map<string, Map<string, string>>();
for (const f of files) {
  for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    const target = normalize(join(dirname(f), m[1]!));
    if (!target.startsWith(SRC + sep)) continue;
    const [a, b] = [unit(f), unit(target)];
    if (a === b || b === 'gen') continue;
    if (!edges.has(a)) edges.set(a, new Map());
    if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${relative(ROOT, f)} imports ${m[1]}`);
  }
}

function reaches(from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const x = stack.pop()!;
    if (x === to) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    stack.push(...(edges.get(x)?.keys() ?? []));
  }
  return false;
}

t.test('no folder-level import cycle', async (t) => {
  const cycles: string[] = [];
  for (const [a, out] of edges) for (const [b, why] of out) if (reaches(b, a)) cycles.push(`${a} -> ${b} (${why}) and back`);
  t.same(cycles, [], 'every cycle names one import that closes it');
  t.ok(edges.size >= 8, `the graph was read (${edges.size} folders import others)`);
});

t.test('no source file over 400 lines', async (t) => {
  const long = files.map((f) => ({ f: relative(ROOT, f), n: readFileSync(f, 'utf8').split('\n').length - 1 })).filter((x) => x.n > 400);
  t.same(long.map((x) => `${x.f}: ${x.n} lines`), []);
});

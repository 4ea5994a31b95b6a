// src/lib/eager-compile.ts: a module graph loaded through loadCompiled has its functions compiled
// at load (their bytecode exists before any of them ran); modules loaded afterwards compile lazily
// again; an explicit node flag wins.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapCodeStatistics } from 'node:v8';
import { loadCompiled } from '../../src/lib/eager-compile.js';

/** A module of `n` functions that nobody calls, each with a body worth compiling. */
function fixture(dir: string, name: string, n = 400): string {
  const fns = Array.from({ length: n }, (_, i) => `export function f${i}(a, b) { let s = 0; for (let k = 0; k < a; k++) { s += (k * ${i}) ^ b; if (s > 1e9) s = s % ${i + 7}; } return { s, tag: 'f${i}', list: [a, b, s] }; }`);
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, fns.join('\n') + '\n');
  return pathToFileURL(file).href;
}

const bytecode = (): number => getHeapCodeStatistics().bytecode_and_metadata_size;

/** Bytecode bytes added by importing `url` (nothing is called). */
async function importCost(load: () => Promise<unknown>): Promise<number> {
  const before = bytecode();
  await load();
  return bytecode() - before;
}

t.test('the graph loaded through loadCompiled is compiled at load; later imports are lazy again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-eager-'));
  const lazyUrl = fixture(dir, 'lazy'), eagerUrl = fixture(dir, 'eager'), afterUrl = fixture(dir, 'after');
  const lazy = await importCost(() => import(lazyUrl));
  let eager = 0;
  const r = await loadCompiled(async () => { eager = await importCost(() => import(eagerUrl)); return 'loaded'; }, [], '');
  t.same(r, { module: 'loaded', eager: { applied: true } });
  const after = await importCost(() => import(afterUrl));
  // 400 functions compiled: several hundred bytes each; lazily, only the module's top level.
  t.ok(eager > 400 * 100, `eager load compiled the functions (${eager} bytes of bytecode)`);
  t.ok(eager > 10 * Math.max(lazy, 1), `eager ${eager} bytes vs lazy ${lazy}`);
  t.ok(after < eager / 10, `lazy again afterwards: ${after} bytes vs eager ${eager}`);
});

t.test('an explicit --lazy / --no-lazy / bytecode-flushing flag on the command line wins', async (t) => {
  for (const argv of [['--no-lazy'], ['--lazy'], ['--flush-bytecode'], ['--no-flush_bytecode']]) {
    const r = await loadCompiled(() => Promise.resolve(1), argv, '');
    t.same(r.eager, { applied: false, reason: 'command line' }, argv[0]);
  }
  t.same((await loadCompiled(() => Promise.resolve(1), ['--max-old-space-size=512'], '--trace-warnings')).eager, { applied: true });
});

// The T-Server's V8 heap growth setting (src/processes/tserver/heap-tuning.ts): validated at the edge, the
// operator's explicit node flag wins, and a bad value stops the server at start with one clear line.
import t from 'tap';
import { applyHeapTuning, DEFAULT_HEAP_GROWING_PERCENT, heapGrowingPercent } from '../../src/processes/tserver/heap-tuning.js';
import { TServerSection } from '../../src/processes/tserver/config-schema.js';
import { checkSettings } from '../../src/lib/config-check.js';
import { spawnTandem } from '../helpers/process.js';
import { writeConfig } from '../helpers/tserver-fixture.js';

t.test('config value: default, V8 heuristic, range (the schema\'s)', async (t) => {
  t.equal(heapGrowingPercent(undefined), DEFAULT_HEAP_GROWING_PERCENT);
  t.equal(heapGrowingPercent(0), 0);
  t.equal(heapGrowingPercent(10), 10);
  t.equal(heapGrowingPercent(400), 400);
  // The range is the schema's, checked when the file is read.
  for (const ok of [0, 10, 400]) t.same(checkSettings(TServerSection, { heapGrowingPercent: ok }, 'tserver'), { heapGrowingPercent: ok });
  for (const bad of [5, 401, 12.5, -1, '25', null]) {
    t.throws(() => checkSettings(TServerSection, { heapGrowingPercent: bad }, 'tserver'), /^tserver\.heapGrowingPercent must be 0 \(V8's own heuristic\) or an integer 10\.\.400, got /, String(bad));
  }
});

t.test('an explicit node flag or NODE_OPTIONS wins; 0 leaves V8 alone', async (t) => {
  t.same(applyHeapTuning(25, ['--heap-growing-percent=50'], ''), { applied: false, reason: 'command line' });
  t.same(applyHeapTuning(25, [], '--max-old-space-size=512 --heap-growing-percent=40'), { applied: false, reason: 'command line' });
  t.same(applyHeapTuning(0, [], ''), { applied: false, reason: 'V8 default' });
  t.same(applyHeapTuning(25, [], ''), { applied: true, percent: 25 });
});

t.test('a bad value in the config file: exit 1 with the setting named, before listening', async (t) => {
  const config = writeConfig({ tserver: { heapGrowingPercent: 5 } });
  const p = spawnTandem(t, ['tserver', '--name', 'A', '--port', '0', '--switch', '127.0.0.1:1', '--config', config]);
  t.equal(await p.exited, 1);
  t.match(p.text.join('\n'), /tandem tserver: tserver\.heapGrowingPercent must be 0/);
});

t.test('the ready line says what was applied', async (t) => {
  const config = writeConfig({ tserver: { heapGrowingPercent: 30 } });
  const p = spawnTandem(t, ['tserver', '--name', 'A', '--port', '0', '--switch', '127.0.0.1:1', '--config', config]);
  const ready = await p.waitFor((l) => l.msg === 'ready');
  t.same(ready.heap, { applied: true, percent: 30 });
  p.kill('SIGKILL');
});

// canonicalJson renders plain values itself (requestFingerprint runs it per request) and must give
// exactly what its definition gives: JSON.stringify with every object's keys sorted.
import t from 'tap';
import fc from 'fast-check';
import { canonicalJson } from '../../src/core/index.js';

function definition(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

t.test('the same text as the definition for any JSON-like value', async (t) => {
  const key = fc.oneof(fc.string(), fc.constantFrom('a', 'b', 'Z', '', '1', '10', '9', '01', '-1', '1a', 'é', '😀'));
  const leaf = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined),
    fc.constantFrom(NaN, Infinity, -0, 1e21, 2 ** 53), fc.date());
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v')), fc.dictionary(key, tie('v'))),
  })).v;
  fc.assert(fc.property(value, (v) => canonicalJson(v) === definition(v)), { numRuns: 3000 });
  t.pass('3000 random values');
});

t.test('edge cases', async (t) => {
  const cases: unknown[] = [
    undefined, null, 0, -0, 'x', [], {}, [undefined, () => 1], { b: 1, a: { d: [1, { z: 1, y: undefined }], c: 'é"\\' } },
    { 10: 'x', 9: 'y', a: 1 }, { '1a': 1, '1': 2 }, new Date(0), { d: new Date(0) }, Buffer.from('ab'), { s: new String('x'), n: new Number(1) },
    new Map([['a', 1]]), { toJSON: () => ({ z: 1, a: 2 }) },
  ];
  for (const v of cases) t.equal(canonicalJson(v), definition(v), JSON.stringify(v) ?? String(v));
});

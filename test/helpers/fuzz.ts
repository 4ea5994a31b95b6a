// Hostile-input generators for the fuzz tests: a seeded PRNG (a failure names its seed and can be
// replayed), mutations of valid JSON requests, and mutations of valid protobuf bytes.
import { readFileSync } from 'node:fs';

/** mulberry32: small, fast, seedable. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) { this.s = seed >>> 0; }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.int(256); return b; }
}

const WEIRD_STRINGS = ['', ' ', '\u0000', '\ud800', '\udfff', '\u202e5001', '😀'.repeat(40), 'ＡＢＣ', '5001\n', '../../etc/passwd', '%s%s%n', '<script>', 'x'.repeat(300), '٣٤٥', '\\', '"', '{}'];
const WEIRD_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, [], [1, 2], {}, { a: 1 }, '', '5001', 'NaN', 'Infinity'];

export function unicodeString(r: Rng): string {
  let s = '';
  const n = r.int(20);
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.pick([r.int(0x80), 0xd800 + r.int(0x800), r.int(0x10000), 0x200b + r.int(8)]));
  return s;
}

/** Deeply nested JSON text, built as text (JSON.stringify itself would overflow the stack). */
function nestedText(depth: number, arrays: boolean): string {
  return arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** One mutation of a valid request object, as frame text. */
export function mutateRequest(r: Rng, valid: Record<string, unknown>): string {
  const m: Record<string, unknown> = { ...valid };
  const keys = Object.keys(m);
  switch (r.int(12)) {
    case 0: { const k = r.pick(keys); m[k] = r.pick(WEIRD_VALUES); break; } // type swap
    case 1: { const k = r.pick(keys.filter((x) => x !== 'request')); delete m[k]; break; } // missing attribute
    case 2: m[r.pick(['thisDN', 'connId', 'otherDN', 'agentId', 'clientName', 'afterSeq'])] = r.pick(WEIRD_STRINGS); break;
    case 3: m.referenceId = r.pick([0, -5, 1.5, 1e300, 2 ** 53, '7', null, [], {}]); break; // huge / wrong numbers
    case 4: m.request = r.pick(['RequestFoo', '', 'requestopen', 'Request'.repeat(40), unicodeString(r), 42]); break; // unknown request
    case 5: { // deep nesting (up to ~12k levels: stays under the 64 KiB frame limit)
      m.userData = '__DEEP__';
      return JSON.stringify(m).replace('"__DEEP__"', nestedText(17 + r.int(12_000), r.int(2) === 0));
    }
    case 6: m[r.pick(['thisDN', 'connId'])] = unicodeString(r); break; // unicode
    case 7: { const text = JSON.stringify(m); return text.slice(0, r.int(text.length)); } // truncation
    case 8: m.afterSeq = r.pick([-1, 1e308, 2 ** 64, 'x']); m.request = 'RequestReplay'; break;
    case 9: { const text = JSON.stringify(m); const i = r.int(text.length); return text.slice(0, i) + r.pick(['\u0000', '}', '"', ',,', 'NaN', '\ud800']) + text.slice(i); } // byte-level corruption
    case 10: return r.pick(['[]', 'null', '1', '"x"', '{', '}', '', 'true', '[' .repeat(5000), JSON.stringify([m])]); // not an object
    default: m.userData = r.pick(WEIRD_VALUES); m.thisDN = r.pick(WEIRD_STRINGS); break;
  }
  return JSON.stringify(m);
}

/** Bit flips, truncation, insertion, duplication and splicing of valid bytes. */
export function mutateBytes(r: Rng, valid: Uint8Array): Buffer {
  const b = Buffer.from(valid);
  switch (r.int(6)) {
    case 0: { for (let i = 0, n = 1 + r.int(4); i < n && b.length; i++) b[r.int(b.length)]! ^= 1 << r.int(8); return b; }
    case 1: return b.subarray(0, r.int(b.length + 1));
    case 2: { const i = r.int(b.length + 1); return Buffer.concat([b.subarray(0, i), r.bytes(1 + r.int(8)), b.subarray(i)]); }
    case 3: return Buffer.concat([b, b]);
    case 4: { const i = r.int(b.length + 1); return Buffer.concat([b.subarray(0, i), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), b.subarray(i)]); } // huge varint length
    default: return r.bytes(r.int(64));
  }
}

/** Resident set size of a process, in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

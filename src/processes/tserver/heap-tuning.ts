// How much V8 lets the old generation grow between major GCs: the lever that keeps a T-Server's
// RSS inside its memory budget (docs/capacity.md).
//
// Left to itself, V8 picks a growing factor between 1.1 and 4 from how fast it collects compared with
// how fast the program allocates; a busy T-Server allocates fast, so V8 reserves ~2× its live old
// generation (soak at 150 calls/s: 50 MiB live, 100–200 MiB reserved, and rising over 30 minutes).
// A fixed factor of 1.25 keeps the reservation near the live set; the price is more major GCs, which
// V8 marks concurrently (pauses: docs/capacity.md). It is one of the few V8 flags read at every GC, so
// it can be set from inside the process (a young-generation size cannot: V8 fixes it at start).

import { setFlagsFromString } from 'node:v8';
import type { TServerSettings } from './config-schema.js';

export const HEAP_GROWING_FLAG = '--heap-growing-percent';
/** V8 old generation limit = live bytes × (1 + percent / 100) after each major GC. */
export const DEFAULT_HEAP_GROWING_PERCENT = 25;

export type HeapTuning =
  | { applied: true; percent: number }
  /** The operator chose on the node command line or in NODE_OPTIONS; or 0 = V8's own heuristic. */
  | { applied: false; reason: 'command line' | 'V8 default' };

/**
 * Applies `tserver.heapGrowingPercent` (0 = leave V8's heuristic) unless the node command line or
 * NODE_OPTIONS already set the flag: an explicit operator choice wins.
 */
export function applyHeapTuning(percent: number, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): HeapTuning {
  const explicit = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => a.startsWith(HEAP_GROWING_FLAG) || a.startsWith('--heap_growing_percent'));
  if (explicit) return { applied: false, reason: 'command line' };
  if (percent === 0) return { applied: false, reason: 'V8 default' };
  setFlagsFromString(`${HEAP_GROWING_FLAG}=${percent}`);
  return { applied: true, percent };
}

/**
 * The percent to apply: the config value, else the default. Its range (0, or an integer 10..400) is
 * the schema's (config-schema.ts), checked when the file is read.
 */
export function heapGrowingPercent(value: TServerSettings['heapGrowingPercent']): number {
  return value ?? DEFAULT_HEAP_GROWING_PERCENT;
}

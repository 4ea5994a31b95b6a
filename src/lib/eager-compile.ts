// Compiles a long-running server's code when it loads, not the first time each function runs.
//
// V8 compiles a function to bytecode only when it is first called. A failover runs code that never
// ran before in that process: the backup's stream-error path, the HA machine's promotion branch,
// SyncPrimary, the switch link's grant, the switch's link-gone and claim paths. Traced on a kill -9
// failover (bench-promotion, perf at 15 kHz on the backup's main thread from its sync socket's
// close to its first EventServerInfo): 44 % of the samples were V8 compiling those functions
// lazily. Loading the module graph with `--no-lazy` compiles every function of it up front
// (start-up +60-110 ms of CPU, +9 MB of anonymous memory for an idle T-Server).
//
// `--no-flush-bytecode` keeps that bytecode: V8 otherwise drops the bytecode of functions that did
// not run for a few major GCs, and a backup idle for hours would be back to compiling its failover
// path while it fails over. Both flags are read by V8 when it compiles or collects, so setting them
// from inside the process works (like heap-tuning.ts); modules loaded later (the liveness worker's,
// on-demand imports) compile lazily again.

import { setFlagsFromString } from 'node:v8';

export type EagerCompile =
  | { applied: true }
  /** The operator chose --lazy / --no-lazy on the node command line (or NODE_OPTIONS): theirs wins. */
  | { applied: false; reason: 'command line' };

/** `--lazy`, `--no-lazy`, `--flush-bytecode`, ... in any of V8's spellings. */
const FLAG = /^--(no-?)?(lazy|flush[-_]bytecode)(=|$)/;

/**
 * Runs `load` (a dynamic import of a server's module graph) with lazy compilation off, then turns
 * it back on; bytecode flushing stays off for the life of the process.
 */
export async function loadCompiled<T>(load: () => Promise<T>, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): Promise<{ module: T; eager: EagerCompile }> {
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((a) => FLAG.test(a))) return { module: await load(), eager: { applied: false, reason: 'command line' } };
  setFlagsFromString('--no-flush-bytecode');
  setFlagsFromString('--no-lazy');
  try {
    return { module: await load(), eager: { applied: true } };
  } finally {
    setFlagsFromString('--lazy');
  }
}

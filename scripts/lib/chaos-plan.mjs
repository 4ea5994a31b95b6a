// The chaos drill's plan, pure: the fault catalogue (what each fault does and what outcome the drill
// expects of it), the seeded PRNG, the fault schedule a seed gives, and the command line. Unit-tested
// in test/unit/chaos-plan.test.ts; nothing here touches a process.
import { parseArgs } from 'node:util';

/**
 * What the drill expects of a fault.
 * - `grants`: the primary-role grants (a 'role changed' to primary with a new epoch) the fault may
 *   cause. `peer`: exactly one, to the old primary's peer. `none`: none at all. `reclaim`: none, or
 *   one to the old primary (its lease lapsed while it was frozen and nobody else could take it).
 *   `restarted`: exactly one, to the old primary restarted (fresh from the switch's snapshot); never
 *   to the stale backup.
 * - `loss`: `none` = every guarantee holds (nothing lost, duplicated, failed, executed twice, no
 *   split-brain). `fresh` = by design (docs/ha.md "Known limits": both copies of the state lost) the
 *   pair restarts from the switch's snapshot: agent states, user data, events and requests in flight
 *   may be lost and are reported, not failed; executed twice and split-brain still fail.
 * - `notPrimaryFails`: a NotPrimary answer during the fault is a failure (no role change is due, so
 *   a NotPrimary came from a serving primary that should have been serving).
 */
export const FAULTS = {
  'kill-primary': { grants: 'peer', loss: 'none', about: 'kill -9 the primary; restarted at once (rejoins as backup)' },
  'stop-primary': { grants: 'peer', loss: 'none', about: 'SIGSTOP the primary until the backup serves, then SIGCONT' },
  'cut-sync': { grants: 'none', loss: 'none', about: 'cut the sync link for 1 s, then heal it' },
  'kill-backup': { grants: 'none', loss: 'none', about: 'kill -9 the backup; restarted at once' },
  switchover: { grants: 'peer', loss: 'none', about: 'SIGUSR1 to the backup (graceful handover)' },
  'stall-primary': { grants: 'none', loss: 'none', about: 'SIGSTOP the primary for 60 % of the detection time, SIGCONT, repeated (--stalls)' },
  overload: { grants: 'none', loss: 'none', notPrimaryFails: true, about: 'offer --overload-rate calls/s for --overload-secs' },
  'kill-backup-resync': { grants: 'none', loss: 'none', about: 'kill -9 the backup, restart it, kill -9 it again as its full resync starts, restart it' },
  'stop-primary-backup-restart': { grants: 'reclaim', loss: 'none', about: 'kill -9 the backup and restart it while the primary is SIGSTOPped (--hold-ms), then SIGCONT' },
  'cut-sync-kill-primary': { grants: 'restarted', loss: 'fresh', about: 'cut the sync link past the claim window, kill -9 the primary, hold, heal and restart it' },
};

export const FAULT_NAMES = Object.keys(FAULTS);

/** mulberry32: a small seeded PRNG, uniform in [0, 1). Same seed, same sequence. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy, driven by `rnd`. */
export function shuffle(items, rnd) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The fault of every cycle for a seed: rounds of one random permutation of `faults` each (a "bag"),
 * so the order is random but every kind gets its share (counts differ by at most one).
 */
export function schedule(seed, faults, cycles) {
  const rnd = mulberry32(seed);
  const out = [];
  while (out.length < cycles) out.push(...shuffle(faults, rnd));
  return out.slice(0, cycles);
}

const NUM = (name, min = 0) => ({ name, min });
const NUMERIC = [NUM('cycles', 1), NUM('rate'), NUM('desktops', 1), NUM('seed'), NUM('load-ms'), NUM('talk-ms'), NUM('detect-ms', 1),
  NUM('stalls', 1), NUM('overload-rate'), NUM('overload-secs'), NUM('recover-ms', 1), NUM('hold-ms')];

export const USAGE = `usage: node scripts/chaos.mjs [options]     (npm run chaos -- [options] builds first)
  --cycles N           fault cycles (10)
  --rate R             inbound calls/s during the load (20)
  --desktops N         SDK agent desktops (20)
  --talk-ms N          talk time per call (300)
  --load-ms N          load before each fault, N/2 after it (1500)
  --mode ack|async     sync mode of the pair (ack)
  --seed N             fault order (a random one is drawn and printed when absent; replay with it)
  --faults a,b,...     restrict to these faults (all):
                       ${FAULT_NAMES.join(',')}
  --detect-ms N        the servers' hang-detection time, ADDP timeout / lease (400); stall-primary
                       stops the primary for 60 % of it
  --stalls N           stalls per stall-primary cycle (5)
  --overload-rate R    calls/s during an overload phase (2 x --rate)
  --overload-secs S    length of an overload phase (20)
  --recover-ms N       after a fault, the pair must be back to one serving primary and one in-sync
                       backup within N ms (5000)
  --hold-ms N          stop-primary-backup-restart keeps the primary stopped N ms (max(2000,
                       5 x detect)); cut-sync-kill-primary waits min(N, 1500) ms after the kill
  --check-on backup|primary   whose /debug/state the checker reads (backup: the in-sync backup)
  --out FILE           write the results (markdown) there (default: the run's log directory)
  --write              also put them in docs/benchmarks.md, section "Chaos drill"
  -h, --help           this text
Exit status: 0 no failure, 1 a failure (loss, unplanned failover, not recovered), 2 usage or the drill stopped.`;

/**
 * The command line, checked: `{ok: true, opts}` or `{ok: false, error}` (unknown flag, missing
 * value, a number that is not one, an unknown fault). Never throws.
 */
export function parseChaosArgs(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        cycles: { type: 'string', default: '10' }, rate: { type: 'string', default: '20' }, desktops: { type: 'string', default: '20' },
        mode: { type: 'string', default: 'ack' }, seed: { type: 'string' }, faults: { type: 'string', default: FAULT_NAMES.join(',') },
        'load-ms': { type: 'string', default: '1500' }, 'talk-ms': { type: 'string', default: '300' },
        'detect-ms': { type: 'string', default: '400' }, stalls: { type: 'string', default: '5' },
        'overload-rate': { type: 'string' }, 'overload-secs': { type: 'string', default: '20' },
        'recover-ms': { type: 'string', default: '5000' }, 'hold-ms': { type: 'string' },
        'check-on': { type: 'string', default: 'backup' }, out: { type: 'string' }, write: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    return { ok: false, error: String(err?.message ?? err).split('\n')[0] };
  }
  if (values.help) return { ok: true, opts: { help: true } };
  const opts = { help: false };
  for (const { name, min } of NUMERIC) {
    if (values[name] === undefined) continue;
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || values[name].trim() === '') return { ok: false, error: `--${name}: '${values[name]}' is not a number >= ${min}` };
    opts[camel(name)] = v;
  }
  if (!['ack', 'async'].includes(values.mode)) return { ok: false, error: `--mode: '${values.mode}' is not ack or async` };
  if (!['backup', 'primary'].includes(values['check-on'])) return { ok: false, error: `--check-on: '${values['check-on']}' is not backup or primary` };
  const faults = values.faults.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = faults.filter((f) => !FAULTS[f]);
  if (!faults.length || unknown.length) return { ok: false, error: `--faults: unknown ${unknown.join(', ') || '(none given)'}; known: ${FAULT_NAMES.join(', ')}` };
  if (values.out === '') return { ok: false, error: '--out: a file name is needed' };
  opts.faults = [...new Set(faults)];
  opts.mode = values.mode;
  opts.checkOn = values['check-on'];
  opts.out = values.out;
  opts.write = values.write;
  opts.seedGiven = values.seed !== undefined;
  if (!opts.seedGiven) opts.seed = undefined;
  opts.overloadRate ??= 2 * opts.rate;
  opts.holdMs ??= Math.max(2000, 5 * opts.detectMs);
  opts.stallMs = Math.round(0.6 * opts.detectMs);
  // The backup's claim window after losing the primary (docs/ha.md): max(1 s, 3 x lease).
  opts.claimWindowMs = Math.max(1000, 3 * opts.detectMs);
  return { ok: true, opts };
}

const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/** The exact command that replays a run: the given arguments, with `--seed` added when it was drawn. */
export function replayCommand(argv, seed) {
  const args = argv.filter((x) => x !== '--write');
  if (!args.some((x) => x === '--seed' || x.startsWith('--seed='))) args.push('--seed', String(seed));
  return `node scripts/chaos.mjs ${args.join(' ')}`.trim();
}

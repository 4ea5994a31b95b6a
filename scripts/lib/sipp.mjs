// SIPp (Debian sip-tester) processes for the SIP bench: the trunk callers, the agent phones and their
// registrations (scenarios in scripts/sip/), each in its own directory where SIPp writes its log
// (-trace_logs: the scenarios' timestamped "inv"/"ring" lines), its statistics (-trace_stat) and its
// errors (-trace_err). Every process started here is killed when the bench exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIPP = process.env.SIPP_BIN ?? 'sipp';
export const SCENARIOS = join(dirname(fileURLToPath(import.meta.url)), '..', 'sip');

const live = new Set();
process.on('exit', () => { for (const c of live) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

/**
 * Starts `sipp -sf <scenario> ... <target>`. Resolves at once with the handle; `exited` resolves with
 * SIPp's exit code (0: every call succeeded; 1: at least one failed; 99: stopped by a signal or
 * -timeout), -1 when sipp could not be spawned.
 * @param {{scenario:string, target:string, port:number, mediaPort:number, args?:string[], keys?:Record<string,string|number>, timeoutS:number}} o
 */
export function startSipp(o) {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-sipp-'));
  const args = ['-sf', join(SCENARIOS, o.scenario), '-i', '127.0.0.1', '-p', String(o.port), '-mp', String(o.mediaPort), '-t', 'u1',
    '-nostdin', '-timeout', `${o.timeoutS}s`, '-timeout_error', '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-trace_logs', '-log_file', join(dir, 'log.log'), '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    ...(o.args ?? [])];
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, String(v));
  args.push(o.target);
  const child = spawn(SIPP, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (d) => { out = (out + d.toString()).slice(-4000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.on('error', (err) => { out += `\nspawn ${SIPP}: ${err.message} (install Debian's sip-tester: apt-get install sip-tester)`; live.delete(child); resolve(-1); });
    child.on('exit', (code, sig) => { live.delete(child); resolve(code ?? (sig ? 128 : -1)); });
  });
  const read = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  return {
    child, dir, args, exited,
    /** SIPp's cumulative counters from the last line of its statistics file. */
    stats: () => lastStats(read('stat.csv')),
    /** The scenario's timestamped log lines: kind ('inv' | 'ring') → Map(ani → epoch ms). */
    marks: () => parseMarks(read('log.log')),
    /** What to show when it failed: the command, its output's tail, its error trace's tail. */
    output: () => `sipp ${args.join(' ')}\n${out.slice(-2000)}\n${read('errors.log').slice(-2000)}`,
    kill: () => { try { child.kill('SIGKILL'); } catch { /* gone */ } },
    /** Resolves with the exit code, or -2 after `ms` (the process is then killed). */
    async wait(ms) {
      let timer;
      const code = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r(-2), ms); })]);
      clearTimeout(timer);
      if (code === -2) { this.kill(); await exited; }
      return code;
    },
  };
}

/**
 * The last line of a SIPp -trace_stat file (';'-separated, a header line first) as numbers for the
 * cumulative columns: {calls (created), successful, failed, retransmissions, unexpected (messages a
 * call did not expect), recvTimeouts}; zeros for an empty file.
 */
export function lastStats(csv) {
  const lines = csv.split('\n').filter((l) => l.trim());
  if (lines.length < 2) return { calls: 0, successful: 0, failed: 0, retransmissions: 0, unexpected: 0, recvTimeouts: 0 };
  const head = lines[0].split(';');
  const row = lines[lines.length - 1].split(';');
  const col = (name) => Number(row[head.indexOf(name)] ?? NaN);
  return { calls: col('IncomingCall(C)') + col('OutgoingCall(C)'), successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'),
    retransmissions: col('Retransmissions(C)'), unexpected: col('FailedUnexpectedMessage(C)'), recvTimeouts: col('FailedTimeoutOnRecv(C)') };
}

/**
 * Lines "<kind> <date>\t<time>\t<epoch s.µs> <ani>" written by the bench scenarios' <log> actions
 * (SIPp's [timestamp]) → {kind: Map(ani → epoch ms)}; the first time an ani is seen per kind wins.
 */
export function parseMarks(text) {
  const marks = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+) \S+\t\S+\t(\d+\.\d+) (\d+)\s*$/.exec(line);
    if (!m) continue;
    const byAni = (marks[m[1]] ??= new Map());
    if (!byAni.has(m[3])) byAni.set(m[3], Number(m[2]) * 1000);
  }
  return marks;
}

/** Setup latencies (ms): for every ani with both marks, `to` minus `from`; and how many had no `to`. */
export function latencies(from, to) {
  const ms = [];
  let missing = 0;
  for (const [ani, t0] of from ?? new Map()) {
    const t1 = to?.get(ani);
    if (t1 === undefined) missing++;
    else ms.push(t1 - t0);
  }
  return { ms, missing };
}

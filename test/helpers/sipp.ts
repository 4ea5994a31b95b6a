// SIPp (Debian sip-tester) as real SIP user agents for the SIP switch tests: agent phones (a REGISTER
// run, then a UAS on the Contact port) and trunk callers, scenarios in test/sip/. Each process runs
// in the foreground without a terminal (-nostdin), in its own temp dir (its -trace_err files land
// there and are shown when it fails), with a global -timeout, and is killed at teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './process.js';
import { freePort } from './free-port.js';

interface Teardown { teardown(fn: () => unknown): void }

export const SIPP = process.env.SIPP_BIN ?? 'sipp';
export const SCENARIOS = join(ROOT, 'test', 'sip');

export interface SippRun {
  child: ChildProcess;
  /** The SIPp process's local SIP port, when the run was given one (a UAS others must reach). */
  port: number | undefined;
  /** Exit code: 0 when every call of the run succeeded (SIPp's own rule). */
  exited: Promise<number>;
  /** stdout, stderr and SIPp's error trace, for failure messages. */
  output(): string;
  /** Resolves 0, or rejects with the output when SIPp failed or did not finish in time. */
  done(timeoutMs?: number): Promise<void>;
}

export interface SippOptions {
  scenario: string;
  /** host:port of the SIP switch. */
  target: string;
  keys?: Record<string, string | number>;
  /** Request-URI user of the UAC's INVITE (-s). */
  service?: string;
  /** u1 (UDP, default) or t1 (TCP). */
  transport?: 'u1' | 't1';
  /**
   * The local SIP port. Without it SIPp binds one itself (5060 upward, then any): a UAC's port need
   * not be known, and a port picked here and bound by SIPp later can be taken in between by a
   * parallel test. Likewise no -mp: SIPp binds its RTP sockets (port and port + 2) from 6000 upward,
   * trying the next pair when one is taken; a picked -mp is one try only ("Unable to bind audio RTP
   * socket ... Address already in use", seen with four copies of a SIP test in parallel).
   */
  port?: number;
  calls?: number;
  timeoutS?: number;
  /** Digest credentials for [authentication] (-au / -ap). */
  auth?: { user: string; password: string };
}

export async function runSipp(t: Teardown, o: SippOptions): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-sipp-'));
  const args = ['-sf', join(SCENARIOS, o.scenario), '-i', '127.0.0.1', ...(o.port ? ['-p', String(o.port)] : []),
    '-t', o.transport ?? 'u1', '-m', String(o.calls ?? 1), '-nostdin', '-timeout', `${o.timeoutS ?? 30}s`, '-timeout_error', '-trace_err',
    ...(o.service ? ['-s', o.service] : []), ...(o.auth ? ['-au', o.auth.user, '-ap', o.auth.password] : []), ...(process.env.SIPP_TRACE ? ['-trace_msg'] : [])];
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, String(v));
  args.push(o.target);
  const child = spawn(SIPP, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number>((resolve) => {
    child.on('error', (err) => { out += `\nspawn ${SIPP}: ${err.message} (install Debian's sip-tester: apt-get install sip-tester)`; resolve(-1); });
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : -1)));
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const output = () => {
    let errors = '';
    try { for (const f of readdirSync(dir)) if (f.endsWith('_errors.log') || f.endsWith('_messages.log')) errors += readFileSync(join(dir, f), 'utf8'); } catch { /* none */ }
    return `sipp ${args.join(' ')}\n${out.slice(-3000)}\n${errors.slice(process.env.SIPP_TRACE ? -20000 : -3000)}`;
  };
  return {
    child, port: o.port, exited, output,
    async done(timeoutMs = (o.timeoutS ?? 30) * 1000 + 5_000) {
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<number>((r) => { timer = setTimeout(() => r(-2), timeoutMs); })]);
      clearTimeout(timer);
      if (code !== 0) throw new Error(`SIPp ${o.scenario} ${code === -2 ? 'did not finish in time' : `exited ${code}`}:\n${output()}`);
    },
  };
}

/** A SIPp agent phone: its UAS listening on a fresh port, registered as `dn` (Contact = that port). */
export async function startPhone(t: Teardown, target: string, dn: string, scenario = 'phone-answer.xml', o: { calls?: number; timeoutS?: number; transport?: 'u1' | 't1' } = {}): Promise<SippRun & { port: number }> {
  // The UAS must hold its port before the REGISTER names it as Contact: with several SIP tests in
  // parallel, a SIPp whose port another test's process took first exits at once, and the switch's
  // INVITEs then went nowhere (the phone "never rang"). Wait for the bind; on a lost race, a new port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const uas = await runSipp(t, { scenario, target, port, calls: o.calls ?? 1, timeoutS: o.timeoutS ?? 60, ...(o.transport ? { transport: o.transport } : {}) });
    if (await bound(uas, port, o.transport === 't1' ? 'tcp' : 'udp')) {
      await register(t, target, dn, port, 3600, o.transport);
      return { ...uas, port };
    }
    if (attempt === 3) throw new Error(`SIPp phone ${dn} never bound its port (3 tries):\n${uas.output()}`);
  }
}

/**
 * True once this SIPp process holds a socket on `port` (/proc/net and the process's own fds), false
 * when it exited first. The port alone is not enough: when another test's process took it first,
 * this SIPp dies, and the port is still listed, the other's (the phone's INVITEs then went there).
 */
async function bound(run: SippRun, port: number, proto: 'udp' | 'tcp'): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let exited = false;
  void run.exited.then(() => { exited = true; });
  for (const end = Date.now() + 10_000; Date.now() < end && !exited;) {
    const table = ['', '6'].map((v) => { try { return readFileSync(`/proc/net/${proto}${v}`, 'utf8'); } catch { return ''; } }).join('');
    if (!table) return true; // no /proc (not Linux): trust the process
    // Columns: sl, local_address, rem_address, st, queues, tr, retrnsmt, uid, timeout, inode.
    const inodes = table.split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[1]?.endsWith(hex)).map((c) => `socket:[${c[9]}]`);
    if (inodes.some((i) => socketsOf(run.child.pid).has(i))) return true;
    await new Promise((r) => setTimeout(r, 20)); // polls the kernel's socket table, not a result
  }
  return false;
}

/** The `socket:[inode]` links of a process's open fds (empty once it is gone). */
function socketsOf(pid: number | undefined): Set<string> {
  const out = new Set<string>();
  if (pid === undefined) return out;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try { out.add(readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch { /* closed meanwhile */ }
    }
  } catch { /* exited */ }
  return out;
}

/** One REGISTER (Expires 0 unregisters); resolves when the switch answered 200. */
export async function register(t: Teardown, target: string, dn: string, contactPort: number, expires = 3600, transport?: 'u1' | 't1'): Promise<void> {
  const reg = await runSipp(t, { scenario: 'register.xml', target, keys: { dn, contact_port: contactPort, expires }, timeoutS: 10, ...(transport ? { transport } : {}) });
  await reg.done();
}

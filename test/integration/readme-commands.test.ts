// Every shell command in README.md runs as written (issue 12 item 6). The commands are extracted
// from the README (test/helpers/readme.ts), so a new or changed command fails here until it works and
// has a rule below; none is copied into this file.
//
// How "as written" is kept on a shared test machine: the README's fixed ports (switch 7200,
// T-Servers 7001/7002, sync 7101/7102) are mapped to free ports, the tools' built-in defaults for
// them are pointed there by appending the flag (`status --servers`, `call --switch`, the pair's port
// flags), and commands run in a fresh folder under test-artifacts/ (inside the checkout, so npx finds
// this project's `tandem`), where `logs/` is the test pair's own. Paths relative to the checkout
// (dist/…, scripts/…) are resolved against it. Nothing else is changed.
//
// Long-running commands (npm start, the switch and T-Server by hand) are started, seen ready and
// stopped; `npm ci`, `npm test`, `npm run build` and the benchmarks are not run (this suite runs
// after the build; benchmarks take minutes): their scripts must exist and the flags the README passes
// must be accepted (`--help` appended exits 0).
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readmeCommands, transcriptInput, type ReadmeCommand } from '../helpers/readme.js';
import { ROOT } from '../helpers/process.js';
import { freePorts } from '../helpers/free-port.js';

interface Teardown { teardown(fn: () => unknown): void }

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const commands = readmeCommands();
const tandemSubcommands = new Set(['switch', 'tserver', 'pair', 'ctl', 'status', 'call', 'token']);

type Kind = 'npm-ci' | 'npm-start' | 'npm-test' | 'npm-build' | 'npm-script' | 'npx-tandem' | 'node-tandem' | 'curl' | 'wscat';

/** Which rule runs a command; undefined = nobody knows how (the test fails and says so). */
function kindOf(c: ReadmeCommand): Kind | undefined {
  const [a, b, cmd] = c.words;
  if (a === 'npm' && b === 'ci' && c.words.length === 2) return 'npm-ci';
  if (a === 'npm' && b === 'start' && c.words.length === 2) return 'npm-start';
  if (a === 'npm' && b === 'test' && c.words.length === 2) return 'npm-test';
  if (a === 'npm' && b === 'run' && cmd === 'build' && c.words.length === 3) return 'npm-build';
  if (a === 'npm' && b === 'run' && cmd && pkg.scripts[cmd] !== undefined && (c.words.length === 3 || c.words[3] === '--')) return 'npm-script';
  if (a === 'npx' && b === 'tandem' && cmd && tandemSubcommands.has(cmd)) return 'npx-tandem';
  if (a === 'node' && b === 'dist/cli/tandem.js' && cmd && tandemSubcommands.has(cmd)) return 'node-tandem';
  if (a === 'curl') return 'curl';
  if (a === 'npx' && b === 'wscat') return 'wscat';
  return undefined;
}

interface Ports { sw: number; a: number; b: number; aSync: number; bSync: number }

/** The README's fixed ports -> this run's; relative checkout paths -> absolute. */
function mapWords(words: string[], p: Ports): string[] {
  const map: Record<string, number> = { 7200: p.sw, 7001: p.a, 7002: p.b, 7101: p.aSync, 7102: p.bSync };
  return words.map((w) => w.replace(/\b(7200|7001|7002|7101|7102)\b/g, (m) => String(map[m]))
    .replace(/^(dist|scripts)\//, (m) => `${ROOT}/${m}`));
}

interface Ran { code: number | string; out: string; err: string }

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) try { c.kill('SIGKILL'); } catch { /* gone */ } });

function start(t: Teardown, words: string[], cwd: string, stdin: 'ignore' | 'pipe' = 'ignore') {
  const [cmd, ...args] = words;
  const child = spawn(cmd === 'node' ? process.execPath : cmd!, args, {
    cwd, stdio: [stdin, 'pipe', 'pipe'],
    // No registry: a command npx cannot find in this checkout fails instead of being downloaded.
    env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false', TANDEM_LOG_LEVEL: 'info' },
  });
  live.add(child);
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = () => { for (const w of [...waiters]) if (w.re.test(out)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); } };
  // Raw chunks, not lines: wscat's prompt ("> ") has no newline.
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; check(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | string>((res) => child.on('exit', (code, sig) => { live.delete(child); res(code ?? sig ?? -1); }));
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  });
  return {
    child, exited,
    get out() { return out; },
    get err() { return err; },
    /** Resolves once stdout matches `re` (rejects on exit or after timeoutMs). */
    waitOut(re: RegExp, timeoutMs = 20_000): Promise<void> {
      if (re.test(out)) return Promise.resolve();
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`${words.join(' ')}: no ${re} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ re, resolve: () => { clearTimeout(timer); res(); } });
        void exited.then((code) => { clearTimeout(timer); rej(new Error(`${words.join(' ')} exited (${code}) before ${re}; stdout:\n${out}\nstderr:\n${err}`)); });
      });
    },
  };
}

async function run(t: Teardown, words: string[], cwd: string, timeoutMs = 20_000): Promise<Ran> {
  const p = start(t, words, cwd);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.out, err: p.err };
}

/** A fresh folder inside the checkout (npx finds this project's bin from there); removed at teardown. */
function workdir(t: Teardown): string {
  const base = join(ROOT, 'test-artifacts');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function health(port: number): Promise<Record<string, unknown> | undefined> {
  try {
    return (await (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })).json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Polls /healthz (the interval only paces the reads) until pred holds. */
async function until(port: number, pred: (h: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  let last: Record<string, unknown> | undefined;
  while (Date.now() < end) {
    last = await health(port);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port}: timed out waiting for ${what}; last /healthz: ${JSON.stringify(last)}`);
}

const of = (kind: Kind) => commands.filter((c) => kindOf(c) === kind);

t.test('every README command parses and has a rule here', async (t) => {
  t.ok(commands.length >= 20, `${commands.length} commands found`);
  for (const c of commands) t.ok(kindOf(c), `README.md:${c.line} \`${c.text}\` is a command this test knows how to run`);
  for (const k of ['npm-start', 'npx-tandem', 'node-tandem', 'curl', 'wscat'] as Kind[]) t.ok(of(k).length > 0, `the README has ${k} commands`);
});

t.test('npm ci, npm test, npm run build and the npm scripts with the flags the README passes', async (t) => {
  t.ok(existsSync(join(ROOT, 'package-lock.json')), 'npm ci: a lockfile');
  t.match(pkg.scripts.prepare, /link-bin\.mjs/, 'npm ci links the tandem bin (prepare)');
  t.match(pkg.scripts.build, /link-bin\.mjs/, 'so does npm run build');
  t.ok(existsSync(join(ROOT, 'node_modules', '.bin', 'tandem')), 'node_modules/.bin/tandem is there');
  t.match(pkg.scripts.test, /^npm run build && /, 'npm test builds first');
  t.match(pkg.scripts.start, /^npm run build && node dist\/cli\/tandem\.js pair$/, 'npm start builds, then runs tandem pair');
  for (const c of of('npm-script')) {
    const script = pkg.scripts[c.words[2]!]!;
    const node = /node( --[\w-]+)* (scripts\/[\w-]+\.mjs)/.exec(script);
    t.ok(node, `README.md:${c.line}: npm run ${c.words[2]} runs a node script (${script})`);
    if (!node) continue;
    const flags = c.words.slice(4);
    const r = await run(t, ['node', join(ROOT, node[2]!), ...flags, '--help'], ROOT);
    t.equal(r.code, 0, `README.md:${c.line}: \`${c.text}\`: its flags are accepted (--help exits 0)${r.code === 0 ? '' : `: ${r.err}`}`);
    t.match(r.out, /usage/);
  }
});

t.test('npm start, then the commands that need a running pair: status, a call to 8000 reaching a Ready agent with no router (wscat), ctl', async (t) => {
  const [sw, a, b, aSync, bSync] = (await freePorts(5)) as [number, number, number, number, number];
  const ports: Ports = { sw, a, b, aSync, bSync };
  const cwd = workdir(t);
  t.equal(of('npm-start').length > 0, true);
  const startCmd = pkg.scripts.start!.split('&&').at(-1)!.trim().split(/\s+/);
  const pair = start(t, [...mapWords(startCmd, ports), '--switch-port', String(sw), '--a-port', String(a), '--b-port', String(b), '--a-sync-port', String(aSync), '--b-sync-port', String(bSync)], cwd);
  t.teardown(() => {
    // The supervisor's SIGKILL would orphan its children: kill them by pid (stopped cleanly: file gone).
    try {
      const pids = JSON.parse(readFileSync(join(cwd, 'logs', 'tandem-pair.json'), 'utf8')) as { children: Record<string, number> };
      for (const pid of Object.values(pids.children)) try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    } catch { /* stopped cleanly */ }
  });
  await pair.waitOut(/Ctrl-C stops everything/);
  t.match(pair.out, /dial plan: +extensions 5000-5999, queues 7000-7009, route points 8000-8009/, 'npm start prints the dial plan it runs');
  t.match(pair.out, /no router: +8000 -> 7000 after 10 s/, 'and where 8000 sends calls nobody routes');
  t.notMatch(pair.out, /WARNING/, 'on loopback: no desktop-auth warning');
  // "The first to claim the switch (normally A) is primary": on a busy machine it can be B. The
  // README's walkthrough talks to A, so hand the role to A first then (SIGUSR1, as ctl promote A).
  const inSync = (h: Record<string, unknown>) => h.haState === 'backup-in-sync';
  const serving = (h: Record<string, unknown>) => h.role === 'primary' && h.serving === true && h.syncState === 'in-sync';
  const [ha, hb] = await Promise.all([until(a, (h) => serving(h) || inSync(h), 'A up'), until(b, (h) => serving(h) || inSync(h), 'B up')]);
  if (!serving(ha)) {
    t.comment('B claimed first: switching over to A before the walkthrough');
    await until(a, inSync, 'A in-sync backup');
    const pids = JSON.parse(readFileSync(join(cwd, 'logs', 'tandem-pair.json'), 'utf8')) as { children: Record<string, number> };
    process.kill(pids.children.A!, 'SIGUSR1');
  } else t.ok(hb);
  await until(a, serving, 'A primary, in sync');
  await until(b, inSync, 'B in-sync backup');

  const tandem = (c: ReadmeCommand): string[] => {
    const w = mapWords(c.words, ports);
    if (c.words[2] === 'status') return [...w, '--servers', `http://127.0.0.1:${a},http://127.0.0.1:${b}`];
    if (c.words[2] === 'call') return [...w, '--switch', `127.0.0.1:${sw}`];
    return w;
  };
  for (const sub of new Set(of('npx-tandem').map((c) => c.words[2]!))) {
    const r = await run(t, ['npx', 'tandem', sub, '--help'], cwd);
    t.equal(r.code, 0, `npx tandem ${sub} --help exits 0${r.code === 0 ? '' : `: ${r.err}`}`);
  }
  for (const c of of('npx-tandem').filter((c) => c.words[2] === 'status')) {
    const r = await run(t, tandem(c), cwd);
    t.equal(r.code, 0, `README.md:${c.line}: \`${c.text}\` exits 0 (one serving primary)${r.code === 0 ? '' : `: ${r.out}${r.err}`}`);
    t.match(r.out, /^A +primary/m);
  }

  // The agent terminal of "One inbound call by hand", typed into the README's wscat command.
  // wscat reads what is typed only once connected, and says "Connected" only on a terminal: it
  // runs in a pseudo-terminal (util-linux script), as in the README's terminal. Its answers are the
  // lines "< {…}" (what is typed is echoed after the "> " prompt).
  const [wscatCmd] = of('wscat');
  const quoted = mapWords(wscatCmd!.words, ports).map((w) => `'${w}'`).join(' ');
  const agent = start(t, ['script', '-qfec', `stty cols 4000 -echo; exec ${quoted}`, '/dev/null'], cwd, 'pipe');
  await agent.waitOut(/Connected/);
  const typed = transcriptInput('Agent terminal:');
  t.ok(typed.length >= 4, 'the agent terminal has requests');
  for (const line of typed) {
    const ref = (JSON.parse(line) as { referenceId: number }).referenceId;
    agent.child.stdin!.write(`${line}\n`);
    await agent.waitOut(new RegExp(`< \\{[^\\r\\n]*"referenceId":${ref}[,}]`));
  }
  t.match(agent.out, /"event":"EventAgentReady"/, 'the agent is Ready');
  t.notMatch(agent.out, /EventError/, 'no request of the transcript was refused');
  // Nobody routes: the README's call to 8000 reaches the agent through the default target 7000.
  const calls = of('npx-tandem').filter((c) => c.words[2] === 'call');
  t.ok(calls.length > 0);
  const r = await run(t, tandem(calls[0]!), cwd);
  t.equal(r.code, 0, `README.md:${calls[0]!.line}: \`${calls[0]!.text}\` exits 0${r.code === 0 ? '' : `: ${r.err}`}`);
  t.match(r.out, /\S/, 'prints the call id');
  await agent.waitOut(/< \{"event":"EventRinging"[^\r\n]*"thisDN":"5001"/, 15_000);
  t.match(agent.out, /< \{"event":"EventRinging"[^\r\n]*"dnis":"8000"/, 'the call to 8000 rings at the Ready agent with no router');

  // Operator commands, in README order.
  for (const c of of('npx-tandem').filter((c) => c.words[2] === 'ctl')) {
    const res = await run(t, tandem(c), cwd);
    t.equal(res.code, 0, `README.md:${c.line}: \`${c.text}\` exits 0${res.code === 0 ? '' : `: ${res.err}`}`);
    t.match(res.out, /SIG\w+ sent to [AB] \(pid \d+\)/);
    const [action, name] = c.words.slice(3);
    if (action === 'promote' && name === 'B') await until(b, (h) => h.role === 'primary' && h.serving === true, 'B primary after ctl promote B');
    if (action === 'reload') {
      const log = join(cwd, 'logs', `${name}.log`);
      const end = Date.now() + 10_000;
      while (Date.now() < end && !readFileSync(log, 'utf8').includes('settings reloaded (SIGHUP)')) await new Promise((res) => setTimeout(res, 50));
      t.match(readFileSync(log, 'utf8'), /settings reloaded \(SIGHUP\)/, `${name} reloaded`);
    }
  }

  pair.child.kill('SIGINT');
  t.equal(await pair.exited, 0, 'Ctrl-C stops the pair cleanly (exit 0)');
});

t.test('one T-Server by hand: the switch in the background, the T-Server, curl /healthz', async (t) => {
  const [sw, a, b, aSync, bSync] = (await freePorts(5)) as [number, number, number, number, number];
  const ports: Ports = { sw, a, b, aSync, bSync };
  const cwd = workdir(t);
  const byHand = of('node-tandem');
  t.same(byHand.map((c) => c.words[2]), ['switch', 'tserver'], 'the README starts a switch, then a T-Server');
  for (const c of byHand) {
    const r = await run(t, ['node', join(ROOT, 'dist/cli/tandem.js'), c.words[2]!, '--help'], cwd);
    t.equal(r.code, 0, `tandem ${c.words[2]} --help exits 0`);
  }
  const swProc = start(t, mapWords(byHand[0]!.words, ports), cwd);
  t.ok(byHand[0]!.background, 'the switch runs in the background (&)');
  await swProc.waitOut(/"msg":"ready"/);
  const ts = start(t, mapWords(byHand[1]!.words, ports), cwd);
  await ts.waitOut(/"msg":"switch link up"/);
  for (const c of of('curl')) {
    const r = await run(t, mapWords(c.words, ports), cwd);
    t.equal(r.code, 0, `README.md:${c.line}: \`${c.text}\` exits 0`);
    const h = JSON.parse(r.out) as Record<string, unknown>;
    t.match(h, { serverName: 'A', role: 'primary', syncState: 'alone', desktopAuth: 'none' }, 'alone it is primary, and says syncState alone');
    t.notOk('desktopAuthWarning' in h, 'on loopback: no warning');
  }
  ts.child.kill('SIGTERM');
  swProc.child.kill('SIGTERM');
  t.equal(await ts.exited, 0);
  t.equal(await swProc.exited, 0);
  t.equal(resolve(cwd).startsWith(join(ROOT, 'test-artifacts')), true);
});

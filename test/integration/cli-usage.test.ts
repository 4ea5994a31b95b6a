// Every script and every `tandem` command answers an unknown flag with what was wrong and its usage,
// and exits 2; --help prints the usage and exits 0 (issue 12 item 7). Never a stack trace. The list
// is read from the tree (scripts/*.mjs) and from `tandem --help`, so a new script or command is
// covered without editing this file. Each runs as a real process; none gets far enough to do work.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TANDEM_BIN } from '../helpers/process.js';

function run(args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, TANDEM_LOG_LEVEL: 'silent' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const scripts = readdirSync(join(ROOT, 'scripts')).filter((f) => f.endsWith('.mjs')).sort();
const top = run([TANDEM_BIN, '--help']);
const subcommands = [...top.out.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]!);

/** The usage line names a positional argument (`<results.json...>`, `<promote|demote…>`), not an option's value. */
function takesPositionals(usage: string): boolean {
  const tokens = (usage.split('\n')[0] ?? '').split(/\s+/);
  return tokens.some((tok, i) => tok.startsWith('<') && !/^\[?--/.test(tokens[i - 1] ?? ''));
}

const cases: { what: string; args: string[] }[] = [
  ...scripts.map((f) => ({ what: `scripts/${f}`, args: [join(ROOT, 'scripts', f)] })),
  ...subcommands.map((c) => ({ what: `tandem ${c}`, args: [TANDEM_BIN, c] })),
];

t.test('the lists are not empty', async (t) => {
  t.ok(scripts.length >= 9, scripts.join(' '));
  t.same(subcommands.sort(), ['call', 'ctl', 'pair', 'status', 'switch', 'token', 'tserver'].sort(), 'tandem --help lists the commands');
  t.equal(top.code, 0);
});

for (const c of cases) {
  t.test(c.what, async (t) => {
    const bad = run([...c.args, '--no-such-flag']);
    t.equal(bad.code, 2, 'unknown flag: exit 2');
    t.match(bad.err, /no-such-flag/, 'says which flag');
    t.match(bad.err, /usage/i, 'prints the usage');
    t.notMatch(bad.err, /\n\s+at /, 'no stack trace');
    const help = run([...c.args, '--help']);
    const missing = run([...c.args, '--help', 'extra-positional']);
    if (!takesPositionals(help.out)) t.equal(missing.code, 2, 'a stray argument: exit 2');
    t.equal(help.code, 0, '--help: exit 0');
    t.match(help.out, /usage/i, '--help prints the usage');
  });
}

t.test('tandem itself: an unknown command or flag, and no command', async (t) => {
  for (const args of [['no-such-command'], ['--no-such-flag'], []]) {
    const r = run([TANDEM_BIN, ...args]);
    t.equal(r.code, 2, `tandem ${args.join(' ')}: exit 2`);
    t.match(r.out + r.err, /usage: tandem <command>/);
  }
});

// `tandem ctl <promote|demote|reload|stop> <A|B|switch>`: operator commands for a running
// `tandem pair`, delivered as the signals of DESIGN.md "Management layer".
import { parseCommand } from './args.js';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PIDS_FILE } from './pair-cmd.js';

const SIGNALS: Record<string, NodeJS.Signals> = { promote: 'SIGUSR1', demote: 'SIGUSR2', reload: 'SIGHUP', stop: 'SIGTERM' };

const HELP = `usage: tandem ctl <promote|demote|reload|stop> <A|B|switch> [--log-dir logs]

  promote B   switchover to B (SIGUSR1): the old primary hands over cleanly first
  demote A    A hands its primary role to the peer (SIGUSR2)
  reload A    reopen log files, re-read reloadable settings (SIGHUP)
  stop A      graceful stop (SIGTERM); the supervisor does not restart a clean stop
Under systemd, send the same signals with systemctl kill -s SIGUSR1 tandem@B.`;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommand('ctl', argv, { 'log-dir': { type: 'string', default: 'logs' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [action, name] = positionals;
  const sig = action ? SIGNALS[action] : undefined;
  if (!sig || !name) { console.error(`tandem ctl: expected an action (${Object.keys(SIGNALS).join(', ')}) and a process name\n\n${HELP}`); return 2; }
  const path = join(resolve(values['log-dir']!), PIDS_FILE);
  let pids: { children: Record<string, number | undefined> };
  try {
    pids = JSON.parse(readFileSync(path, 'utf8')) as typeof pids;
  } catch {
    console.error(`tandem ctl: cannot read ${path}: is \`tandem pair\` running with --log-dir ${values['log-dir']}?`);
    return 1;
  }
  const pid = pids.children[name];
  if (!pid) { console.error(`tandem ctl: no running process named "${name}" (known: ${Object.keys(pids.children).join(', ')})`); return 1; }
  process.kill(pid, sig);
  console.log(`${sig} sent to ${name} (pid ${pid})`);
  return 0;
}

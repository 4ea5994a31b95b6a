#!/usr/bin/env node
// `tandem <command>`: one binary for every process and tool. Each command lives in its own module,
// loaded only when used.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadCompiled } from '../lib/eager-compile.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ main(argv: string[]): Promise<number | void> }>;
  /** A long-running server: its code is compiled when loaded, not first during a failover (src/lib/eager-compile.ts). */
  eager?: true;
}

const COMMANDS: Record<string, CommandEntry> = {
  switch: { summary: 'run the simulated switch (PBX and primary-role witness)', load: () => import('./switch-cmd.js'), eager: true },
  tserver: { summary: 'run one T-Server: WebSocket /tlib, /healthz, /metrics, switch link', load: () => import('./tserver-cmd.js'), eager: true },
  pair: { summary: 'start the whole system on this machine: switch + T-Servers A and B, supervised', load: () => import('./pair-cmd.js') },
  ctl: { summary: 'operator commands for a running pair: promote, demote, reload, stop', load: () => import('./ctl-cmd.js') },
  status: { summary: "both servers' role, epoch, seq, sync state and lag, clients and calls", load: () => import('./status-cmd.js') },
  token: { summary: 'mint a signed desktop token: tandem token --key-id k --secret-file f --client agent-5001 --ttl 8h', load: () => import('./token-cmd.js') },
  call: { summary: 'place a simulated inbound call: tandem call --to 8000 --from 4155550100 [--hangup-after 30s]', load: () => import('./call-cmd.js') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: tandem <command> [options]', '', 'commands:', ...lines, '', 'tandem <command> --help for its options.'].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`tandem: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = entry.eager ? (await loadCompiled(entry.load)).module : await entry.load();
  const code = await mod.main(rest);
  return typeof code === 'number' ? code : 0;
}

/** Run as the program, also through a symlink (a global install's bin): import.meta.url is the real path. */
function isMain(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  run(process.argv.slice(2)).then(
    (code) => { if (code !== 0) process.exitCode = code; },
    (err: unknown) => { console.error(`tandem: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
  );
}

// The chaos drill's section of docs/benchmarks.md ("## Chaos drill"): written by `npm run chaos --
// --write`, and kept by `npm run bench`, which rewrites the rest of the file (bench-report.mjs).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { machineInfo } from './bench-report.mjs';

export const CHAOS_HEADING = '## Chaos drill';

/** The section that starts at `heading` (up to the next `## ` heading), or undefined. */
export function extractSection(md, heading = CHAOS_HEADING) {
  const start = md.indexOf(`\n${heading}\n`);
  if (start < 0) return md.startsWith(`${heading}\n`) ? md.slice(0, nextHeading(md, 1)) : undefined;
  return md.slice(start + 1, nextHeading(md, start + 2));
}

function nextHeading(md, from) {
  const i = md.indexOf('\n## ', from);
  return i < 0 ? md.length : i + 1;
}

/** Replaces the section in `file` (or appends it), leaving the rest of the file as it was. */
export function upsertSection(file, section, heading = CHAOS_HEADING) {
  const md = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const old = extractSection(md, heading);
  const body = `${section.trimEnd()}\n\n`;
  const next = old !== undefined ? md.replace(old, body) : `${md.replace(/\n*$/, '\n\n')}${body}`;
  writeFileSync(file, next.replace(/\n*$/, '\n'));
}

/**
 * The markdown of one drill: command, machine and load, the per-cycle table, per-fault promotion and
 * resume figures, totals.
 */
export function chaosSection({ command, started, finished, loadStart, loadEnd, settings, table, perFault, totals, exitLine }) {
  const m = machineInfo();
  return [
    CHAOS_HEADING, '',
    `Produced by \`${command}\` (scripts/chaos.mjs; \`--write\` replaces this section, \`npm run bench\` keeps it).`, '',
    `- **Date:** ${started.toISOString()} (run took ${((finished - started) / 60000).toFixed(1)} min)`,
    `- **Machine:** ${m.nproc} × ${m.model}, Node ${m.node}; load average at the start ${loadStart.map((v) => v.toFixed(2)).join(' / ')}, at the end ${loadEnd.map((v) => v.toFixed(2)).join(' / ')} (shared box: above 2 = other work competed for the two cores)`,
    ...(settings ? [`- **Settings:** ${settings}`] : []),
    '- **What it does:** switch + T-Servers A/B (ack mode, default lease 400 ms and ADDP 100/400 ms) with the sync link through TCP proxies; SDK agent desktops answer, talk, release, attach user data, single-step-transfer back to the queue and go NotReady/Ready; a router desktop routes route point 8000 → queue 7000; callers offer inbound calls. Each cycle: load, one fault (with its recovery: a killed server is restarted and rejoins as backup), drain, then the checker (scripts/lib/chaos-checker.mjs, unit-tested in test/unit/chaos-checker.test.ts) compares the desktops, the surviving primary\'s state and journal, and the switch (calls, accepted-command log by epoch).',
    '- **Columns:** promote = fault → the other server serving as primary with its switch link up (/healthz polled every 5 ms); resumed = the last SDK desktop\'s failover-complete after that; calls lost = lost + ghost + stuck calls; events lost/dup/unexpected per desktop against the journal; executed twice = a command id accepted twice by the switch or a request answered twice in the journal; split-brain = commands of an epoch accepted after the first command of a higher one.', '',
    `**${totals}**`, '',
    ...perFault.map((l) => `- ${l}`), '',
    `<details><summary>per-cycle table</summary>`, '',
    table, '',
    '</details>', '',
    exitLine, '',
  ].join('\n');
}

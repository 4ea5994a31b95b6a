// The chaos drill's results: the markdown file of a run (`--out`), the same text as the section of
// docs/benchmarks.md ("## Chaos drill", written by `--write`, kept by `npm run bench`, which rewrites
// the rest of the file: bench-report.mjs), and the per-fault summary (pure, unit-tested).
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

const LOSS_KEYS = ['callsLost', 'agentsLost', 'evLost', 'evUnexpected', 'reqFailed'];

/** Losses of a row the guarantees forbid (`expected`: those its fault allows by design, reported only). */
export function lossesOf(row) {
  const sum = LOSS_KEYS.reduce((a, k) => a + (row[k] || 0), 0);
  return row.lossByDesign ? { forbidden: 0, byDesign: sum } : { forbidden: sum, byDesign: 0 };
}

/**
 * One line per fault kind (pure): cycles, recovered within the bound, recovery ms p50/p99, planned
 * and unplanned failovers, lost / duplicated / executed twice / split-brain, answers refused by code,
 * failed cycles. `pct(values, p)` is passed in (stats.mjs) to keep this module free of imports.
 */
export function perFaultRows(rows, faults, pct) {
  return faults.map((fault) => {
    const rs = rows.filter((r) => r.fault === fault);
    const rec = rs.filter((r) => Number.isFinite(r.recoverMs)).map((r) => r.recoverMs);
    const sum = (k) => rs.reduce((a, r) => a + (r[k] || 0), 0);
    const codes = {};
    for (const r of rs) for (const [c, n] of Object.entries(r.refused ?? {})) codes[c] = (codes[c] ?? 0) + n;
    const loss = rs.map(lossesOf);
    return {
      fault, cycles: rs.length, recovered: rs.filter((r) => r.recovered).length,
      recoverP50: rec.length ? pct(rec, 50) : NaN, recoverP99: rec.length ? pct(rec, 99) : NaN,
      planned: sum('planned'), unplanned: sum('unplanned'),
      lost: loss.reduce((a, l) => a + l.forbidden, 0), lostByDesign: loss.reduce((a, l) => a + l.byDesign, 0),
      dup: sum('evDup'), twice: sum('twice'), split: sum('split'),
      refused: Object.entries(codes).map(([c, n]) => `${c} ${n}`).join(', ') || '-',
      failed: rs.filter((r) => r.failed).length,
    };
  });
}

export const PER_FAULT_HEADER = ['fault', 'cycles', 'recovered', 'recovery ms p50', 'recovery ms p99', 'planned failovers', 'unplanned failovers',
  'lost', 'lost by design', 'dup', 'executed twice', 'split-brain', 'refused answers by code', 'failed cycles'];

export const perFaultCells = (p) => [p.fault, p.cycles, p.recovered, p.recoverP50, p.recoverP99, p.planned, p.unplanned, p.lost, p.lostByDesign, p.dup, p.twice, p.split, p.refused, p.failed];

/** The results file of one drill (`--out`): command, seed, settings, per-fault table, failures, per-cycle table. */
export function resultsMarkdown({ command, seed, started, finished, loadStart, loadEnd, settings, faultsDoc, perFault, failures, cycleTable, summary }) {
  const m = machineInfo();
  return [
    '# Chaos drill results', '',
    `Produced by \`${command}\` (seed ${seed}: the same command replays the same fault order).`, '',
    `- **Date:** ${started.toISOString()} (run took ${((finished - started) / 60000).toFixed(1)} min)`,
    `- **Machine:** ${m.nproc} × ${m.model}, Node ${m.node}; load average at the start ${loadStart.map((v) => v.toFixed(2)).join(' / ')}, at the end ${loadEnd.map((v) => v.toFixed(2)).join(' / ')}`,
    `- **Settings:** ${settings}`, '',
    `**${summary}**`, '',
    perFault, '',
    '<details><summary>faults and their expected outcome</summary>', '', faultsDoc, '', '</details>', '',
    ...(failures.length ? ['### Failures', '', ...failures.map((f) => `- ${f}`), ''] : []),
    '<details><summary>per-cycle table</summary>', '', cycleTable, '', '</details>', '',
  ].join('\n');
}

// Small numeric helpers for the bench and chaos reports.

/** Percentile (nearest rank) of an unsorted array; NaN for an empty one. */
export function pct(values, p) {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const median = (v) => pct(v, 50);

export function fmt(v, digits = 1) {
  if (v === undefined || v === null || Number.isNaN(v)) return 'n/a';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits);
}

/** A GitHub-flavoured markdown table. */
export function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((c) => fmt(c)).join(' | ')} |`)].join('\n');
}

/** Parses one Prometheus sample value: metricValue(text, 'tandem_event_loop_lag_seconds{quantile="0.99"}'). */
export function metricValue(text, name) {
  for (const line of text.split('\n')) if (line.startsWith(name + ' ')) return Number(line.slice(name.length + 1));
  return NaN;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `tandem status`: both servers' role, epoch, seq, sync state and lag, clients and calls, read from
// their /healthz.
import { parseFlags } from './args.js';

const HELP = `usage: tandem status [--servers http://127.0.0.1:7001,http://127.0.0.1:7002] [--json]

Prints each T-Server's role, epoch, seq, switch link, sync state and lag, clients and calls.
Exit status 0 when exactly one server is a serving primary, 1 otherwise.`;

interface Health {
  serverName?: string; role?: string; epoch?: number; seq?: number; serving?: boolean; switchLink?: string; switchLinkState?: string;
  syncState?: string; syncLag?: number; syncLagMs?: number; clients?: number; calls?: number;
}

export async function fetchHealth(base: string, timeoutMs = 2_000): Promise<Health | { error: string }> {
  try {
    const res = await fetch(new URL('/healthz', base), { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.json()) as Health;
  } catch (err) {
    return { error: err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err) };
  }
}

export async function main(argv: string[]): Promise<number> {
  const values = parseFlags('status', argv, { servers: { type: 'string', default: 'http://127.0.0.1:7001,http://127.0.0.1:7002' }, json: { type: 'boolean' } }, HELP);
  if (typeof values === 'number') return values;
  const bases = values.servers!.split(',').map((s) => s.trim()).filter(Boolean);
  const results = await Promise.all(bases.map(async (b) => ({ base: b, health: await fetchHealth(b) })));
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else {
    const cols = ['server', 'role', 'epoch', 'seq', 'serving', 'switch', 'sync', 'lag', 'clients', 'calls'];
    const rows = results.map(({ base, health: h }) => ('error' in h
      ? [base, `unreachable: ${h.error}`, '', '', '', '', '', '', '', '']
      : [h.serverName ?? base, h.role ?? '?', String(h.epoch ?? ''), String(h.seq ?? ''), String(h.serving ?? ''), h.switchLinkState ?? h.switchLink ?? '', h.syncState ?? '',
        h.syncLag === undefined ? '' : `${h.syncLag}${h.syncLagMs === undefined ? '' : ` (${h.syncLagMs} ms)`}`, String(h.clients ?? ''), String(h.calls ?? '')]));
    const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => r.map((v, i) => v.padEnd(widths[i]!)).join('  ');
    console.log(fmt(cols));
    for (const r of rows) console.log(fmt(r));
  }
  const primaries = results.filter(({ health: h }) => !('error' in h) && h.role === 'primary' && h.serving !== false).length;
  return primaries === 1 ? 0 : 1;
}

// Every counter of /metrics, declared once with its label names: a caller that increments a counter
// names it from this table, and TypeScript checks the labels it passes against the declared ones.
// Gauges are declared where their value lives (Metrics.gauge, one call per gauge).

/** Counter families: help text and label names, in the order the exposition prints the labels. */
export const COUNTERS = {
  tandem_requests_total: { help: 'Requests answered, by type and outcome (ok or the error code).', labelNames: ['request', 'outcome'] },
  tandem_requests_received_total: { help: 'Requests received, by type.', labelNames: ['request'] },
  tandem_overload_refusals_total: { help: 'Requests answered Overloaded by admission control, by reason.', labelNames: ['reason'] },
  tandem_connections_refused_total: { help: 'WebSocket upgrades refused (403 origin, 503 connection limit or unopened sockets per address).', labelNames: ['status'] },
  tandem_auth_failures_total: { help: 'RequestOpen refused: bad token, or the address was blocked after repeated failures.', labelNames: ['blocked'] },
  tandem_connection_errors_total: { help: 'Desktop connections ended by a protocol error (oversized frame…).', labelNames: ['code'] },
  tandem_open_timeouts_total: { help: 'Connections closed for sending no valid RequestOpen within tserver.openTimeoutMs.', labelNames: [] },
  tandem_events_sent_total: { help: 'Frames sent to desktops.', labelNames: [] },
} as const satisfies Record<string, { help: string; labelNames: readonly string[] }>;

export type CounterName = keyof typeof COUNTERS;

/** The label values a counter takes: exactly its declared label names. */
export type CounterLabels<N extends CounterName> = { [K in (typeof COUNTERS)[N]['labelNames'][number]]: string };

/** inc()'s arguments after the name: labels are required iff the counter declares some. */
export type IncArgs<N extends CounterName> = (typeof COUNTERS)[N]['labelNames'] extends readonly []
  ? [by?: number]
  : [labels: CounterLabels<N>, by?: number];

// Progress lines for the long benchmark runs (a full `npm run bench` or `bench:stability` takes 10–40
// minutes): what runs now, the offered rate, how far into the step, and the time since the run began —
// printed when a part starts and every `everyMs` while it lasts, so a watcher can tell a slow step from
// a stuck one.

/** m:ss, or h:mm:ss from an hour on. */
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * "mode 2/3 (ack), step 4/10: 1000 calls/s offered, 30/60 s, elapsed 12:05". `what` names the part
 * (mode, step, run); rate and stepMs are left out when the part has none.
 */
export function progressLine({ what, rate, stepMs, doneMs = 0, elapsedMs }) {
  const parts = [];
  if (rate !== undefined) parts.push(`${rate} calls/s offered`);
  if (stepMs) parts.push(`${Math.min(Math.round(doneMs / 1000), Math.round(stepMs / 1000))}/${Math.round(stepMs / 1000)} s`);
  parts.push(`elapsed ${clock(elapsedMs)}`);
  return `${what}: ${parts.join(', ')}`;
}

const intervalTimer = (fn, ms) => {
  const t = setInterval(fn, ms);
  return () => clearInterval(t);
};

/**
 * Runs `fn`, logging `progress: <line>` at its start and every `everyMs` until it settles; returns its
 * result. `runStartedAt` is the start of the whole run (for "elapsed"). `every` and `now` are for tests.
 */
export async function withProgress(log, { what, rate, stepMs, runStartedAt, everyMs = 10_000, now = Date.now, every = intervalTimer }, fn) {
  const t0 = now();
  const line = () => `progress: ${progressLine({ what, rate, stepMs, doneMs: now() - t0, elapsedMs: now() - runStartedAt })}`;
  log(line());
  const stop = every(() => log(line()), everyMs);
  try {
    return await fn();
  } finally {
    stop();
  }
}

// The chaos drill's faults, each with its recovery (what the supervisor or the network would do),
// timing the promotion (fault → the other server serving as primary with the switch link up) and
// the desktops' resumption (SDK status 'failover-complete').
import { sleep } from './stats.mjs';

const now = () => performance.timeOrigin + performance.now();

/** Polls /healthz every 5 ms until the server is a serving primary; the time it became so (ms). */
async function whenServing(server, timeoutMs = 15_000) {
  const end = now() + timeoutMs;
  while (now() < end) {
    const h = await server.health().catch(() => undefined);
    if (h && (h.haState ?? h.role) === 'primary' && h.serving && h.switchLink === 'up') return now();
    await sleep(5);
  }
  throw new Error(`${server.name} did not become a serving primary within ${timeoutMs} ms`);
}

/**
 * Once every desktop that started a failover after `since` completed it: the last completion time.
 * With `all` (the primary changed), every desktop must have moved first: /healthz can say "serving"
 * a few ms before the desktops read the new primary's EventServerInfo, and waiting only for those
 * already moving returned at once with nobody counted.
 */
async function desktopsResumed(desks, since, all, timeoutMs = 15_000) {
  const end = now() + timeoutMs;
  for (;;) {
    const moving = desks.filter((d) => d.failoverStartedAt > since);
    if (all && moving.length < desks.length) {
      if (now() > end) return NaN;
      await sleep(5);
      continue;
    }
    if (moving.every((d) => d.resumedAt >= d.failoverStartedAt)) return moving.length ? Math.max(...moving.map((d) => d.resumedAt)) : undefined;
    if (now() > end) return NaN;
    await sleep(5);
  }
}

export async function injectFault(sys, fault, primary, desks, log) {
  const backup = sys.servers[primary.name === 'A' ? 'B' : 'A'];
  const t0 = now();
  let promotedAt;
  switch (fault) {
    case 'kill-primary':
      primary.proc.signal('SIGKILL');
      promotedAt = await whenServing(backup);
      await primary.proc.exited;
      await sys.start(primary.name);
      break;
    case 'stop-primary':
      primary.proc.signal('SIGSTOP');
      promotedAt = await whenServing(backup);
      primary.proc.signal('SIGCONT');
      break;
    case 'cut-sync':
      for (const p of Object.values(sys.proxies)) p.cut();
      await sleep(1000);
      for (const p of Object.values(sys.proxies)) p.heal();
      break;
    case 'kill-backup':
      backup.proc.signal('SIGKILL');
      await backup.proc.exited;
      await sys.start(backup.name);
      break;
    case 'switchover':
      backup.proc.signal('SIGUSR1');
      promotedAt = await whenServing(backup);
      break;
    default:
      throw new Error(`unknown fault ${fault}: use kill-primary, stop-primary, cut-sync, kill-backup, switchover`);
  }
  const after = (await sys.primary(15_000)).name;
  const resumedAt = await desktopsResumed(desks, t0, after !== primary.name);
  if (Number.isNaN(resumedAt)) log(`${fault}: not every desktop completed its failover within 15 s`);
  if (!promotedAt && after !== primary.name) log(`${fault}: the primary changed ${primary.name} -> ${after} (not expected for this fault)`);
  return {
    after,
    promoteMs: promotedAt ? promotedAt - t0 : undefined,
    resumeMs: resumedAt ? resumedAt - t0 : undefined,
    resumedAfterPromoteMs: promotedAt && resumedAt ? Math.max(0, resumedAt - promotedAt) : undefined,
  };
}

// The chaos drill's faults, each with its recovery (what the supervisor or the network would do),
// timing the promotion (fault → the other server serving as primary with the switch link up) and
// the desktops' resumption (SDK status 'failover-complete'). The expected outcome of each fault is in
// chaos-plan.mjs (FAULTS); the role changes and the recovery are judged in chaos-classify.mjs.
import { spawn } from 'node:child_process';
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

/**
 * SIGSTOP `pid` for `ms`, then SIGCONT, timed by a shell (the drill's own loop may lag under load);
 * resolves with the stop's length as the shell measured it (STOP to CONT, ms).
 */
function stopFor(pid, ms) {
  return new Promise((resolve) => {
    const script = 'kill -STOP "$1"; a=$(date +%s%N); sleep "$2"; kill -CONT "$1"; b=$(date +%s%N); echo $(( (b - a) / 1000 ))';
    const sh = spawn('/bin/sh', ['-c', script, 'sh', String(pid), (ms / 1000).toFixed(3)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    sh.stdout.on('data', (d) => { out += d; });
    sh.on('exit', () => resolve(Number(out.trim()) / 1000));
  });
}

const isResyncStart = (l) => typeof l.msg === 'string' && /^resync (full|partial) from primary$/.test(l.msg);

/**
 * Injects one fault and its recovery (what the supervisor, the network or the operator would do).
 * `ctx`: {sys, desks, log, restart(name) (spawns and follows a server; resolves once it listens),
 * callers, o (the drill's options)}. Returns the new primary, the promotion and resume times, when
 * the drill's last action ended (`endedAt`: recovery is measured from there) and `notes`.
 */
export async function injectFault(ctx, fault, primary) {
  const { sys, desks, log, restart, o } = ctx;
  const backup = sys.servers[primary.name === 'A' ? 'B' : 'A'];
  const t0 = now();
  let promotedAt;
  const notes = [];
  const cut = () => Promise.all(Object.values(sys.proxies).map((p) => p.cut()));
  const heal = () => Promise.all(Object.values(sys.proxies).map((p) => p.heal()));
  switch (fault) {
    case 'kill-primary':
      primary.proc.signal('SIGKILL');
      promotedAt = await whenServing(backup).catch((err) => void notes.push(err.message));
      await primary.proc.exited;
      await restart(primary.name);
      break;
    case 'stop-primary':
      primary.proc.signal('SIGSTOP');
      promotedAt = await whenServing(backup).catch((err) => void notes.push(err.message));
      primary.proc.signal('SIGCONT');
      break;
    case 'cut-sync':
      await cut();
      await sleep(1000);
      await heal();
      break;
    case 'kill-backup':
      backup.proc.signal('SIGKILL');
      await backup.proc.exited;
      await restart(backup.name);
      break;
    case 'switchover':
      backup.proc.signal('SIGUSR1');
      promotedAt = await whenServing(backup).catch((err) => void notes.push(err.message));
      break;
    case 'stall-primary': {
      const took = [];
      for (let k = 0; k < o.stalls; k++) {
        took.push(await stopFor(primary.proc.pid, o.stallMs));
        await sleep(Math.max(300, o.detectMs));
      }
      const max = Math.max(...took);
      notes.push(`${o.stalls} stalls of ${o.stallMs} ms (longest measured ${Math.round(max)} ms)`);
      if (max >= o.detectMs) notes.push(`a stall overran the detection time (${Math.round(max)} >= ${o.detectMs} ms): a failover would be the drill's doing`);
      break;
    }
    case 'overload':
      ctx.callers.run(o.overloadRate);
      await sleep(o.overloadSecs * 1000);
      ctx.callers.run(o.rate);
      notes.push(`${o.overloadRate} calls/s for ${o.overloadSecs} s`);
      break;
    case 'kill-backup-resync': {
      backup.proc.signal('SIGKILL');
      await backup.proc.exited;
      const s = await restart(backup.name);
      const line = await s.proc.waitFor(isResyncStart, 15_000, 'resync start');
      s.proc.signal('SIGKILL');
      const done = s.proc.lines.some((l) => l.msg === 'resync done: in sync');
      await s.proc.exited;
      notes.push(done ? `the ${line.mode} resync finished before the second kill landed (not a double fault this time)` : `killed during its ${line.mode} resync (${line.snapshotDeltas ?? '?'} snapshot deltas)`);
      await restart(backup.name);
      break;
    }
    case 'stop-primary-backup-restart': {
      backup.proc.signal('SIGKILL');
      await backup.proc.exited;
      const starting = restart(backup.name);
      primary.proc.signal('SIGSTOP');
      const stoppedAt = now();
      await starting.catch((err) => notes.push(`restart: ${err.message.split('\n')[0]}`));
      await sleep(Math.max(0, o.holdMs - (now() - stoppedAt)));
      primary.proc.signal('SIGCONT');
      notes.push(`primary stopped ${Math.round(now() - stoppedAt)} ms while the backup restarted`);
      break;
    }
    case 'cut-sync-kill-primary': {
      await cut();
      // Past the backup's claim window: it knows the primary is alive and running alone, its own
      // state is stale from here on.
      await sleep(o.claimWindowMs + 800);
      primary.proc.signal('SIGKILL');
      await primary.proc.exited;
      await sleep(Math.min(o.holdMs, 1500)); // the stale backup must not take over meanwhile
      await heal();
      await restart(primary.name);
      notes.push(`sync cut ${o.claimWindowMs + 800} ms before the kill`);
      break;
    }
    default:
      throw new Error(`unknown fault ${fault}`);
  }
  const endedAt = now();
  const after = (await sys.primary(15_000).catch(() => undefined))?.name ?? 'none';
  const resumedAt = await desktopsResumed(desks, t0, after !== primary.name);
  if (Number.isNaN(resumedAt)) log(`${fault}: not every desktop completed its failover within 15 s`);
  return {
    after, endedAt, notes,
    promoteMs: promotedAt ? promotedAt - t0 : undefined,
    resumeMs: resumedAt ? resumedAt - t0 : undefined,
    resumedAfterPromoteMs: promotedAt && resumedAt ? Math.max(0, resumedAt - promotedAt) : undefined,
  };
}

// 50 SDK desktops on a real pair (switch + A + B), in 25 pairs, each pair looping over agent state
// changes (Ready / NotReady with reasons, a logout and login now and then), a call from one desktop
// to the other (make call, answer, attach and update user data, release) — through a kill -9 of the
// primary (restarted at once: it rejoins as backup) and then a graceful switchover (SIGUSR1 to that
// backup). Asserted afterwards: zero failed requests; every command id accepted at most once by the
// switch and answered at most once in the surviving primary's journal; every desktop's event list
// equal to that journal for its DN (nothing missed, nothing twice, in seq order).
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { inSync, mark, roleChanged, startPair, type Member } from '../helpers/pair-fixture.js';
import { writeConfig } from '../helpers/tserver-fixture.js';
import { checkDeskEvents, SdkDesk } from '../helpers/sdk-desk.js';
import { freePort } from '../helpers/free-port.js';

// Debug logs of two servers under 50 desktops cost this 2-core machine more than the test itself.
process.env.TANDEM_LOG_LEVEL ??= 'info';

const PAIRS = 25;
const ITERATIONS_PER_PHASE = 2;
// Load shape, not a wait: an iteration of a pair starts at most every PACE_MS (about 35 requests/s
// per pair, 900/s in all). Unpaced, a primary running alone (no acks to wait for) serves these
// closed loops ~10x faster than a synced pair, and the journal grows so fast that the restarted
// backup's full resync cannot catch up on this shared 2-core machine (RESYNC_OVERFLOW, again and again).
const PACE_MS = 300;

interface JournalEntry { seq: number; dn: string; event: { event: string }; answer?: { clientName: string; referenceId: number } }

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN; };

t.test('50 SDK desktops through kill -9 of the primary and a graceful switchover', async (t) => {
  // Fixed ports: the restarted A must be where the desktops' SDKs look for it (a supervisor restarts
  // a server with its configured port; the fixture's default is a new ephemeral one).
  const pair = await startPair(t, {
    argsA: ['--port', String(await freePort())],
    argsB: ['--port', String(await freePort())],
    config: { core: { journal: { maxEvents: 1_000_000 } } },
    switchArgs: ['--config', writeConfig({ switch: { commandLogSize: 1_000_000 } })],
  });
  const urls = [pair.a.url, pair.b.url];
  const desks = Array.from({ length: 2 * PAIRS }, (_, i) => new SdkDesk(t, String(5100 + i), urls));
  await Promise.all(desks.map((d) => d.register()));
  await Promise.all(desks.map((d) => d.req('login', (c) => c.login(d.dn, `agent-${d.dn}`, { queue: '7002' }))));

  // Progress: iterations done per pair; waiters are woken at each completed iteration.
  const done = new Array<number>(PAIRS).fill(0);
  const progressWaiters = new Set<() => void>();
  const failed = () => desks.some((d) => d.failures.length > 0);
  /** Every pair did `n` more iterations from now (or a request failed: the assertions report it). */
  const progress = (n: number) => {
    const want = done.map((x) => x + n);
    return new Promise<void>((resolve) => {
      const check = () => { if (failed() || done.every((x, i) => x >= want[i]!)) { progressWaiters.delete(check); resolve(); } };
      progressWaiters.add(check);
      check();
    });
  };

  let running = true;
  const pairLoop = async (p: number) => {
    const a = desks[2 * p]!;
    const b = desks[2 * p + 1]!;
    for (let i = 1; running; i++) {
      const started = Date.now();
      await Promise.all([a, b].map((d) => d.req('ready', (c) => c.ready(d.dn))));
      await Promise.all([a, b].map((d) => d.req('notReady', (c) => c.notReady(d.dn, 'AuxWork', { why: `break ${i}` }))));
      if (i % 3 === 0) {
        await b.req('logout', (c) => c.logout(b.dn));
        await b.req('login', (c) => c.login(b.dn, `agent-${b.dn}`, { queue: '7002' }));
      }
      // Both NotReady: a call leaves agent states alone, so the next Ready is always allowed.
      const [from, to] = i % 2 ? [a, b] : [b, a];
      const markFrom = from.events.length;
      const markTo = to.events.length;
      const dialing = await from.req('makeCall', (c) => c.makeCall(from.dn, to.dn, { iteration: String(i) }));
      const connId = dialing.connId!;
      await to.waitEvent((e) => e.event === 'EventRinging' && e.connId === connId, markTo, `EventRinging ${connId}`);
      await to.req('answer', (c) => c.answer(to.dn, connId));
      await from.waitEvent((e) => e.event === 'EventEstablished' && e.connId === connId, markFrom, `EventEstablished ${connId}`);
      await from.req('attachUserData', (c) => c.attachUserData(from.dn, connId, { note: `n${i}` }));
      await to.req('updateUserData', (c) => c.updateUserData(to.dn, connId, { note: `u${i}`, agent: to.dn }));
      const releaser = i % 4 < 2 ? from : to;
      const other = releaser === from ? to : from;
      await releaser.req('release', (c) => c.release(releaser.dn, connId));
      await other.waitEvent((e) => e.event === 'EventReleased' && e.connId === connId, releaser === from ? markTo : markFrom, `EventReleased ${connId}`);
      done[p] = i;
      for (const w of progressWaiters) w();
      const rest = PACE_MS - (Date.now() - started);
      if (rest > 0 && running) await delay(rest);
    }
  };
  const loops = Array.from({ length: PAIRS }, (_, p) => pairLoop(p).catch(() => { for (const w of progressWaiters) w(); }));
  await progress(ITERATIONS_PER_PHASE);

  // (a) kill -9 of the primary A; B takes over; A restarts and rejoins as backup.
  const resumeAfter: Record<string, number[]> = {};
  const sdkMs: Record<string, number[]> = {};
  const measure = (phase: string, promotedAt: number, since: number[]) => {
    resumeAfter[phase] = desks.map((d, i) => d.resumed[since[i]!]).filter((r) => r !== undefined).map((r) => r!.at - promotedAt);
    sdkMs[phase] = desks.map((d, i) => d.resumed[since[i]!]?.ms).filter((x): x is number => x !== undefined);
  };
  let resumedBefore = desks.map((d) => d.resumed.length);
  const fromB = mark(pair.b);
  pair.a.proc.kill('SIGKILL');
  const promotedB = await roleChanged(pair.b, 'primary', fromB);
  const a2 = await pair.start('A');
  await roleChanged(a2, 'backup-in-sync', 0, 30_000);
  await inSync(pair.b, a2, 30_000);
  await progress(ITERATIONS_PER_PHASE);
  measure('kill -9', Date.parse(String(promotedB.time)), resumedBefore);
  t.equal(resumeAfter['kill -9']!.length, desks.length, 'every desktop completed the failover to B');

  // (b) graceful switchover: SIGUSR1 to the backup (A) promotes it by handover; B rejoins as backup.
  resumedBefore = desks.map((d) => d.resumed.length);
  const fromA = mark(a2);
  const fromB2 = mark(pair.b);
  a2.proc.kill('SIGUSR1');
  const promotedA = await roleChanged(a2, 'primary', fromA);
  t.match(String(promotedA.reason), /handover/, `A promoted by a handover (${String(promotedA.reason)})`);
  await roleChanged(pair.b, 'backup-in-sync', fromB2, 30_000);
  await inSync(a2, pair.b, 30_000);
  await progress(ITERATIONS_PER_PHASE);
  measure('switchover', Date.parse(String(promotedA.time)), resumedBefore);
  t.equal(resumeAfter.switchover!.length, desks.length, 'every desktop completed the switchover to A');

  running = false;
  await Promise.all(loops);
  // The surviving primary: A after the switchover, unless a starved A lost its lease since (the
  // switch then deposed it and B took over again — one more failover the desktops rode through).
  const healths = await Promise.all([a2, pair.b].map((m) => m.health()));
  const survivor: Member = healths[0]!.haState === 'primary' ? a2 : pair.b;
  const other: Member = survivor === a2 ? pair.b : a2;
  await inSync(survivor, other, 30_000);
  const promotions = [a2, pair.b].flatMap((m) => m.proc.lines.filter((l) => l.msg === 'role changed' && l.to === 'primary').map((l) => `${m.name} ${String(l.reason)}`));
  t.comment(`surviving primary ${survivor.name}; promotions: ${promotions.join('; ')}`);

  const failures = desks.flatMap((d) => d.failures);
  const requests = desks.reduce((n, d) => n + d.requests, 0);
  t.same(failures, [], `zero failed requests (${requests} requests, ${done.reduce((x, y) => x + y, 0)} call iterations)`);

  // Executed twice, at the switch: each command id accepted at most once (the log holds them all).
  const checker = await connectLink({ address: pair.sw.address, serverName: 'sdk-failover-checker' });
  t.teardown(() => checker.close());
  const log = await checker.commandLog();
  t.equal(log.commands.length, Number(log.totalAccepted), `the switch's command log holds every accepted command (${log.commands.length})`);
  const accepted = new Map<string, number>();
  for (const c of log.commands) accepted.set(c.commandId, (accepted.get(c.commandId) ?? 0) + 1);
  const twiceAtSwitch = [...accepted].filter(([, n]) => n > 1).map(([id]) => id);
  t.same(twiceAtSwitch, [], 'no command id accepted twice by the switch');
  t.ok([...accepted.keys()].filter((id) => id.startsWith('sdk-desk-')).length >= PAIRS * 3 * 3 * ITERATIONS_PER_PHASE, 'the desktops\' call commands are in the log');

  // Executed twice, in the journal: no clientName#referenceId answered by two journal entries.
  const state = JSON.parse(await survivor.state()) as { journal: JournalEntry[] };
  const answered = new Map<string, Set<number>>();
  for (const e of state.journal) {
    if (!e.answer) continue;
    const k = `${e.answer.clientName}#${e.answer.referenceId}`;
    answered.set(k, (answered.get(k) ?? new Set()).add(e.seq));
  }
  t.same([...answered].filter(([, seqs]) => seqs.size > 1).map(([k, seqs]) => `${k} at seq ${[...seqs].join(', ')}`), [], `no request answered by two events in the journal (${answered.size} answers)`);
  // A journal entry copied twice (same seq) is not a request run twice, but a replication fault.
  const copied = state.journal.filter((e, i) => i > 0 && e.seq <= state.journal[i - 1]!.seq).map((e) => `${e.seq} ${e.event.event} ${e.dn}`);
  t.same(copied.slice(0, 5), [], `journal seqs strictly increasing, no entry twice (${copied.length} repeated)`);
  const backupState = JSON.parse(await other.state()) as Record<string, unknown>;
  const differ = Object.keys(state).filter((k) => JSON.stringify((state as Record<string, unknown>)[k]) !== JSON.stringify(backupState[k]));
  for (const k of differ.slice(0, 3)) t.comment(`${k} differs: primary ${JSON.stringify((state as Record<string, unknown>)[k]).length} chars, backup ${JSON.stringify(backupState[k]).length} chars`);
  t.same(differ, [], 'the backup has the same state');

  // Events: each desktop's list against the journal for its DN.
  t.ok(state.journal[0]!.seq <= Math.min(...desks.map((d) => d.events[0]!.seq!)), 'the journal was not trimmed: it reaches back to the desktops\' first events');
  let total = 0;
  const bad: string[] = [];
  for (const d of desks) {
    const c = checkDeskEvents(d, state.journal);
    total += d.events.length;
    if (c.missed.length || c.duplicated.length || c.unexpected.length || c.outOfOrder) bad.push(`${d.dn}: missed ${JSON.stringify(c.missed.slice(0, 5))} duplicated ${JSON.stringify(c.duplicated.slice(0, 5))} unexpected ${JSON.stringify(c.unexpected.slice(0, 5))} out of order ${c.outOfOrder}`);
  }
  t.same(bad, [], `every desktop got exactly its DN's journal, once, in order (${total} events)`);
  const dropped = desks.reduce((n, d) => n + d.client.duplicatesDropped, 0);

  for (const phase of Object.keys(resumeAfter)) {
    t.comment(`${phase}: desktops resumed after the promotion: median ${median(resumeAfter[phase]!)} ms, max ${Math.max(...resumeAfter[phase]!)} ms; failover-complete ms (SDK): median ${median(sdkMs[phase]!)}, max ${Math.max(...sdkMs[phase]!)}`);
  }
  t.comment(`${requests} requests, ${total} events delivered, ${dropped} duplicates dropped by the SDKs`);
});

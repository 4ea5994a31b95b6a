// The default `tandem pair` keeps its peer ports closed to other local processes (issue 11): it
// generates a secret per run for the switch link and the sync stream. A foreign sync Hello (no or
// wrong secret) gets no snapshot and does not push the real backup off; a HandoverRequest without
// the secret does not demote the primary; a forced lease claim with an empty or wrong switch secret
// is refused; /healthz shows peerAuth; a junk burst at either port writes a bounded number of lines.
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { sw } from '../../src/wire/switch-proto.js';
import { sy } from '../../src/wire/sync-proto.js';
import { connectLink, openLink, type LinkClient } from '../../src/adapters/switch-client/link-client.js';
import { TANDEM_BIN, type LogLine } from '../helpers/process.js';
import { rawBackup, type RawBackup } from '../helpers/sync-fixtures.js';
import { startPairProcess, type PairProcess } from '../helpers/pair-process.js';

/** Resolves once the log file holds a line matching pred (the interval only paces the reads). */
async function logged(p: PairProcess, name: 'A' | 'B' | 'switch', pred: (l: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const i = p.logLines(name).findIndex(pred);
    if (i >= 0) return i;
    await delay(25);
  }
  throw new Error(`${name}.log: no ${what} within ${timeoutMs} ms`);
}

/** The call's final status, or what it got instead within timeoutMs (old code answered and kept it open). */
async function outcome(raw: RawBackup, timeoutMs = 5_000): Promise<grpc.StatusObject | { code: 'open'; details: string }> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<{ code: 'open'; details: string }>((resolve) => {
    timer = setTimeout(() => resolve({ code: 'open', details: `still open after ${timeoutMs} ms with ${raw.received.length} messages received` }), timeoutMs);
  });
  try { return await Promise.race([raw.status, open]); } finally { clearTimeout(timer); }
}

function modeOf(path: string): number | string {
  try { return statSync(path).mode & 0o777; } catch (err) { return (err as Error).message; }
}

/** The run's switch secret as tools read it ('' when the file is missing). */
function switchSecret(p: PairProcess): string {
  try { return readFileSync(join(p.logDir, 'switch.secret'), 'utf8').trim(); } catch { return ''; }
}

const call = (p: PairProcess, ...extra: string[]) => execFileSync(process.execPath, [TANDEM_BIN, 'call', '--switch', `127.0.0.1:${p.ports.switch}`, '--to', '8000', ...extra], { encoding: 'utf8', stdio: 'pipe' });

t.test('default tandem pair: the peer ports need this run\'s secrets', async (t) => {
  const p = await startPairProcess(t);
  const { primary, backup } = await p.roles();
  const syncPort = primary === 'A' ? p.ports.aSync : p.ports.bSync;
  const h0 = { p: (await p.health(primary))!, b: (await p.health(backup))! };

  t.equal(h0.p.peerAuth, 'secret', 'primary /healthz: peerAuth secret');
  t.equal(h0.b.peerAuth, 'secret', 'backup /healthz: peerAuth secret');
  t.ok(p.logLines('switch').some((l) => l.msg === 'ready' && l.peerAuth === 'secret'), 'switch ready line: peerAuth secret');
  t.equal(modeOf(join(p.logDir, 'switch.secret')), 0o600, 'the switch secret file for tools is there, mode 0600');
  t.notOk(['A', 'B', 'switch'].some((n) => p.logLines(n as 'A').some((l) => /peer auth is off/.test(String(l.msg)))), 'no "peer auth is off" warning');

  const refusedBeforeData = async (raw: RawBackup, what: string) => {
    const st = await outcome(raw);
    t.equal(st.code, grpc.status.UNAUTHENTICATED, `${what}: UNAUTHENTICATED`);
    t.match(st.details, /sync secret/, `${what}: the status names the setting to check`);
    t.same(raw.received, [], `${what}: nothing was sent back (no Welcome, no snapshot)`);
    raw.close();
  };
  // A foreign process: no secret, then the backup's own name with a guessed one.
  const mallory = rawBackup(t, syncPort);
  mallory.send({ hello: { serverName: 'mallory' } });
  await refusedBeforeData(mallory, 'Hello{mallory} without a secret');
  const fakeB = rawBackup(t, syncPort, { secret: 'guess' });
  fakeB.send({ hello: { serverName: backup, secret: 'guess' } });
  await refusedBeforeData(fakeB, `Hello{${backup}} with a wrong secret`);
  // A HandoverRequest (after a Hello, as an old or foreign backup would send it).
  const handover = rawBackup(t, syncPort);
  handover.send({ hello: { serverName: 'mallory' } });
  handover.send({ handoverRequest: { reason: 'mallory wants it' } });
  await refusedBeforeData(handover, 'HandoverRequest without a secret');

  // The switch: an empty and a wrong secret, each followed at once by a forced claim.
  for (const secret of ['', 'not-the-secret']) {
    const link = openLink({ address: `127.0.0.1:${p.ports.switch}`, serverName: 'mallory', hello: false, timeoutMs: 5_000 });
    t.teardown(() => link.close());
    const seen: string[] = [];
    link.on('message', (m) => seen.push(m.msg === 'error' ? `error:${m.error!.code}` : String(m.msg)));
    const closed = new Promise<void>((resolve) => link.on('close', () => resolve()));
    link.send({ hello: { serverName: 'mallory', secret } });
    link.send({ claim: { epoch: 1_000, force: true } });
    link.send({ command: { commandId: 'mallory-1', epoch: 1_000, makeCall: { from: '5001', to: '5002' } } as sw.ICommand });
    await t.rejects(link.welcome, { code: 'Unauthorized' }, `Hello with ${secret ? 'a wrong' : 'an empty'} secret refused`);
    // Bounded only so old code (which welcomed the link and kept it) fails instead of hanging.
    await Promise.race([closed, delay(3_000)]);
    t.ok(link.closed, 'the switch closed the link');
    t.same(seen.filter((k) => k !== 'error:Unauthorized' && !k.startsWith('error:NotHello')), [], 'no Welcome, Granted or CommandResult');
  }

  const h1 = { p: (await p.health(primary))!, b: (await p.health(backup))! };
  t.same({ role: h1.p.role, serving: h1.p.serving, epoch: h1.p.epoch, syncState: h1.p.syncState }, { role: 'primary', serving: true, epoch: h0.p.epoch, syncState: 'in-sync' }, `${primary} is still the serving primary under the same epoch`);
  t.same({ haState: h1.b.haState, resyncs: h1.b.resyncs }, { haState: 'backup-in-sync', resyncs: h0.b.resyncs }, `${backup} still follows in sync, never pushed off (no new resync)`);

  // The secret this run wrote for tools works.
  t.match(call(p, '--secret-file', join(p.logDir, 'switch.secret')), /\S/, 'tandem call with <log-dir>/switch.secret places a call');
  try {
    call(p);
    t.fail('tandem call without the secret should be refused');
  } catch (err) {
    t.match((err as { stderr: string }).stderr, /refused the link.*Unauthorized/, 'tandem call without the secret: refused, says why');
  }
});

t.test('default tandem pair: a junk burst at the peer ports writes a bounded number of log lines', async (t) => {
  const p = await startPairProcess(t);
  const { primary } = await p.roles();
  const syncPort = primary === 'A' ? p.ports.aSync : p.ports.bSync;
  const markP = p.logLines(primary).length;
  const markS = p.logLines('switch').length;
  const FRAMES = 1_000;
  const CALLS = 100;

  // Sync port: one stream of garbage frames, then many calls each with a Hello.
  const garbage = rawBackup(t, syncPort);
  for (let i = 0; i < FRAMES; i++) garbage.sendBytes(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, i & 0xff]));
  await outcome(garbage, 3_000);
  const calls: RawBackup[] = [];
  for (let i = 0; i < CALLS; i++) {
    const r = rawBackup(t, syncPort, i % 2 ? { secret: `guess-${i}` } : {});
    r.send({ hello: { serverName: `junk-${i}` } } as sy.BackupToPrimary.$Properties);
    calls.push(r);
  }
  await Promise.all(calls.map((r) => outcome(r, 3_000)));
  for (const r of [garbage, ...calls]) r.close();

  // Switch port: garbage frames on a link that never said Hello, then many wrong-secret Hellos.
  const junkLink = openLink({ address: `127.0.0.1:${p.ports.switch}`, serverName: 'junk', hello: false });
  t.teardown(() => junkLink.close());
  let answers = 0;
  const answered = new Promise<void>((resolve) => junkLink.on('message', () => { if (++answers === FRAMES) resolve(); }));
  for (let i = 0; i < FRAMES; i++) junkLink.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, i & 0xff]));
  await answered;
  junkLink.close();
  const links: LinkClient[] = [];
  for (let i = 0; i < CALLS; i++) links.push(openLink({ address: `127.0.0.1:${p.ports.switch}`, serverName: `junk-${i}`, secret: `guess-${i}` }));
  const welcomed = (await Promise.all(links.map((l) => l.welcome.then(() => true, () => false)))).filter(Boolean).length;
  t.equal(welcomed, 0, 'no wrong secret was welcomed');
  for (const l of links) l.close();

  // Markers: a line each process writes after everything above (the file keeps the order).
  process.kill(p.pids()[primary]!, 'SIGHUP');
  const endP = await logged(p, primary, (l) => /settings reloaded \(SIGHUP\)/.test(String(l.msg)), 'SIGHUP marker');
  const marker = await connectLink({ address: `127.0.0.1:${p.ports.switch}`, serverName: 'marker', secret: switchSecret(p) });
  marker.close();
  const endS = await logged(p, 'switch', (l) => l.msg === 'hello' && l.serverName === 'marker', 'hello from the marker link');
  const warnings = (lines: LogLine[]) => lines.filter((l) => (l.level as number) >= 40).map((l) => String(l.msg));
  const wP = warnings(p.logLines(primary).slice(markP, endP));
  const wS = warnings(p.logLines('switch').slice(markS, endS));
  const byMsg = (ws: string[]) => JSON.stringify(Object.fromEntries(ws.reduce((m, w) => m.set(w, (m.get(w) ?? 0) + 1), new Map<string, number>())));
  t.comment(`warning lines: primary ${wP.length} ${byMsg(wP)}; switch ${wS.length} ${byMsg(wS)}`);
  t.ok(wP.length >= 1 && wP.length <= 4, `${FRAMES} junk frames and ${CALLS} foreign calls at the sync port: 1-4 warning lines, got ${wP.length}`);
  t.ok(wS.length >= 1 && wS.length <= 4, `${FRAMES} junk frames and ${CALLS} wrong secrets at the switch port: 1-4 warning lines, got ${wS.length}`);
});

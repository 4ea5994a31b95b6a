// Fuzzing the peer ports, both with peer auth on (docs/peer-auth.md): 30,000 random and mutated
// protobuf frames at a real switch's link port (on a link that never said Hello, via link-client
// sendRaw) while a T-Server holds the lease, and 30,000 at a sync port on a stream that carries the
// secret (raw gRPC stream) while a backup follows the primary. Every frame gets exactly one Error; no
// crash, no state change, memory bounded, and the junk is logged a bounded number of times. Then the
// credentials themselves: fuzzed Hello secrets at the switch and fuzzed metadata secrets at the sync
// port are all refused, none gets a message through, and the real peers carry on.
import t from 'tap';
import { sw } from '../../src/wire/switch-proto.js';
import { sy } from '../../src/wire/sync-proto.js';
import { decodeLinkUp } from '../../src/wire/switch-service.js';
import { decodeBackupToPrimary } from '../../src/wire/sync-service.js';
import { connectLink, openLink } from '../../src/adapters/switch-client/link-client.js';
import { SyncServer } from '../../src/adapters/sync/server.js';
import { SyncPrimary } from '../../src/adapters/sync/primary.js';
import { SyncBackup } from '../../src/adapters/sync/backup.js';
import { startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { backupState, captureLog, DeltaSource, FakeReplica, rawBackup } from '../helpers/sync-fixtures.js';
import { mutateBytes, Rng, rssMb, unicodeString } from '../helpers/fuzz.js';
import * as grpc from '@grpc/grpc-js';
import type { LinkClient } from '../../src/adapters/switch-client/link-client.js';

const FRAMES = 30_000;
const BURST = 1_000;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_121);
/** Foreign credentials tried at each port. */
const GUESSES = 300;

/** Junk lines allowed for `kinds` kinds over `ms`: one each, plus one summary each per 10 s window. */
const junkBound = (kinds: number, ms: number) => kinds * (1 + Math.ceil(ms / 10_000));

/** A wrong secret near the real one: mutated bytes, a prefix, an extension, random text, empty. */
function guess(rng: Rng, secret: string): string {
  for (;;) {
    const g = rng.pick([
      () => mutateBytes(rng, Buffer.from(secret)).toString('utf8'), () => secret.slice(0, rng.int(secret.length)),
      () => secret + rng.pick(['\n', ' ', '\u0000', 'x']), () => unicodeString(rng), () => '', () => secret.toUpperCase(),
    ])();
    if (g !== secret) return g;
  }
}

/** Sends FRAMES frames in bursts, waiting after each burst until `answered()` caught up. */
async function pump(next: () => Buffer, send: (b: Buffer) => void, answered: () => number, onAnswer: (wake: () => void) => () => void, what: string): Promise<number> {
  let sent = 0;
  while (sent < FRAMES) {
    for (let k = 0; k < BURST; k++) { send(next()); sent += 1; }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error(`${what}: ${answered()} answers for ${sent} frames after 20 s (seed ${SEED})`)); }, 20_000);
      const check = () => { if (answered() >= sent) { clearTimeout(timer); off(); resolve(); } };
      const off = onAnswer(check);
      check();
    });
  }
  return sent;
}

t.test(`fuzz the switch link port: ${FRAMES} frames (seed ${SEED})`, async (t) => {
  const SECRET = 'fuzz-secret';
  const s = await startSwitch(t, ['--secret', SECRET, '--lease-ms', '5000', '--heartbeat-ms', '250']);
  const ts = await startTServer(t, { switchAddress: s.address, config: { tserver: { switchSecret: SECRET } } });
  const tool = await connectLink({ address: s.address, serverName: 'tool', secret: SECRET });
  t.teardown(() => tool.close());
  await tool.inboundCall('4155550100', '5001');
  const snap0 = await tool.snapshot();
  const health0 = await ts.health();
  const rss0 = rssMb(s.proc.child.pid!);

  const valid: Uint8Array[] = ([
    { claim: { epoch: 99, force: true, appliedSeq: 1, redeliver: true } },
    { heartbeat: { epoch: 1 } },
    { releaseLease: { epoch: 1 } },
    { command: { commandId: 'c1', epoch: 1, makeCall: { from: '5001', to: '5002' } } as sw.ICommand },
    { simulate: { requestId: 1, inboundCall: { ani: '4155550100', dnis: '8000' } } },
    { snapshotQuery: { requestId: 2 } },
    { commandLogQuery: { requestId: 3 } },
    { hello: { serverName: 'fuzz', secret: 'guess' } },
  ] as sw.ILinkUp[]).map((m) => sw.LinkUp.encode(m).finish());
  const rng = new Rng(SEED);
  const next = (): Buffer => {
    for (;;) {
      const b = rng.int(10) === 0 ? rng.bytes(rng.int(80)) : mutateBytes(rng, rng.pick(valid));
      const d = decodeLinkUp(b);
      if (d.ok && d.msg.msg === 'hello') continue; // a Hello would start a session: everything else must be refused
      return b;
    }
  };
  const fuzz = openLink({ address: s.address, serverName: 'fuzz', hello: false });
  t.teardown(() => fuzz.close());
  let answers = 0;
  const kinds = new Map<string, number>();
  fuzz.on('message', (m) => { answers += 1; const k = m.msg === 'error' ? `error:${m.error!.code}` : String(m.msg); kinds.set(k, (kinds.get(k) ?? 0) + 1); });
  const t0 = Date.now();
  const sent = await pump(next, (b) => fuzz.sendRaw(b), () => answers, (wake) => { fuzz.on('message', wake); return () => fuzz.off('message', wake); }, 'switch');
  t.comment(`${sent} frames in ${Date.now() - t0} ms; answers ${JSON.stringify(Object.fromEntries(kinds))}; switch RSS ${rss0.toFixed(0)} -> ${rssMb(s.proc.child.pid!).toFixed(0)} MB`);

  t.equal(answers, sent, 'every frame answered exactly once');
  t.same([...kinds.keys()].filter((k) => !k.startsWith('error:')), [], 'every answer is an Error');
  t.notOk(fuzz.closed, 'the fuzz link stays open (bad frames are answered, not fatal)');
  t.equal(s.proc.child.exitCode, null, 'switch alive');
  const snap1 = await tool.snapshot();
  t.same({ lastSeq: snap1.lastSeq, calls: snap1.calls }, { lastSeq: snap0.lastSeq, calls: snap0.calls }, 'switch state unchanged');
  const health1 = await ts.health();
  t.same({ epoch: health1.epoch, switchLink: health1.switchLink, serving: health1.serving }, { epoch: health0.epoch, switchLink: health0.switchLink, serving: health0.serving }, 'the lease holder is unaffected');
  t.ok(rssMb(s.proc.child.pid!) - rss0 < 150, 'switch memory bounded');
  t.notOk(s.proc.lines.some((l) => l.msg === 'hello' && l.serverName === 'fuzz'), 'the fuzz link was never welcomed');
  const junkLines = s.proc.lines.filter((l) => l.msg === 'undecodable frame' || /^junk from/.test(String(l.msg))).length;
  t.ok(junkLines <= junkBound(1, Date.now() - t0), `${sent} undecodable frames: ${junkLines} log lines (one, then a summary per 10 s)`);

  // The credential: fuzzed Hello secrets, each on its own link, each followed by a forced claim.
  const rngG = new Rng(SEED + 2);
  const mark = s.proc.lines.length;
  const answers2 = new Map<string, number>();
  for (let i = 0; i < GUESSES; i += 50) {
    const links: Array<{ l: LinkClient; first: Promise<string> }> = [];
    for (let k = i; k < Math.min(GUESSES, i + 50); k++) {
      const l = openLink({ address: s.address, serverName: `guess-${k}`, hello: false });
      // The first answer: Unauthorized, or BadMessage when the guess does not even encode as UTF-8.
      const first = l.next((m) => m.msg === 'welcome' || m.msg === 'error').then((m) => (m.msg === 'error' ? `error:${m.error!.code}` : 'welcome'), (e: Error) => e.message);
      l.send({ hello: { serverName: `guess-${k}`, secret: guess(rngG, SECRET) } });
      l.send({ claim: { epoch: 1_000 + k, force: true } });
      links.push({ l, first });
    }
    for (const { l, first } of links) { const k = await first; answers2.set(k, (answers2.get(k) ?? 0) + 1); l.close(); }
  }
  t.same([...answers2.keys()].filter((k) => k !== 'error:Unauthorized' && k !== 'error:BadMessage'), [], `${GUESSES} fuzzed secrets: every one refused ${JSON.stringify(Object.fromEntries(answers2))}`);
  const health2 = await ts.health();
  t.same({ epoch: health2.epoch, serving: health2.serving }, { epoch: health0.epoch, serving: health0.serving }, 'no forced claim got through: same holder, same epoch');
  const refusals = s.proc.lines.slice(mark).filter((l) => l.msg === 'Hello with a wrong secret: link closed' || l.msg === 'undecodable frame' || /^junk from/.test(String(l.msg))).length;
  t.ok(refusals >= 1 && refusals <= junkBound(2, Date.now() - t0), `${GUESSES} wrong secrets: ${refusals} log lines`);
  t.equal(s.proc.child.exitCode, null, 'switch alive');
});

t.test(`fuzz the sync port: ${FRAMES} frames (seed ${SEED + 1})`, async (t) => {
  const log = captureLog();
  const server = await SyncServer.listen({ host: '127.0.0.1', port: 0, secret: 'sync-secret', log: log.logger.child({ server: 'A' }) });
  const replica = new FakeReplica();
  const primary = new SyncPrimary({ serverName: 'A', epoch: () => 1, snapshotDeltas: () => replica.snapshotDeltas(), secret: 'sync-secret', log: log.logger.child({ server: 'A' }) });
  server.serve(primary);
  const target = new FakeReplica();
  const backup = new SyncBackup({ serverName: 'B', primaryAddress: `127.0.0.1:${server.port}`, secret: 'sync-secret', log: log.logger.child({ server: 'B' }), reset: () => target.reset(), apply: (d) => target.apply(d) });
  t.teardown(async () => { backup.stop('test over'); primary.close('test over'); await server.close(); });
  const src = new DeltaSource();
  const d = src.next(20);
  replica.apply(d);
  primary.publish(d);
  backup.start();
  await backupState(backup, 'in-sync');
  const heap0 = process.memoryUsage().rss / 1024 / 1024;

  const valid: Uint8Array[] = ([
    { hello: { serverName: 'X', replicationId: 'r', offset: 5, secret: 'guess' } },
    { ack: { offset: 1_000_000 } },
    { heartbeat: { sentMs: Date.now() } },
    { handoverRequest: { reason: 'fuzz' } },
  ] as sy.BackupToPrimary.$Properties[]).map((m) => sy.BackupToPrimary.encode(m).finish());
  const rng = new Rng(SEED + 1);
  const next = (): Buffer => {
    for (;;) {
      const b = rng.int(10) === 0 ? rng.bytes(rng.int(80)) : mutateBytes(rng, rng.pick(valid));
      const m = decodeBackupToPrimary(b);
      // A Hello is checked (and, wrong secret, ends the stream); a heartbeat is life, not answered.
      if (m.ok && (m.msg.msg === 'hello' || m.msg.msg === 'heartbeat')) continue;
      return b;
    }
  };
  const raw = rawBackup(t, server.port, { secret: 'sync-secret' });
  const t0 = Date.now();
  // The primary's ADDP heartbeats arrive on the stream too: they are life, not answers.
  let scanned = 0;
  let errors = 0;
  const answers = () => {
    for (; scanned < raw.received.length; scanned++) { const r = raw.received[scanned]!; if (!(r.ok && r.msg.msg === 'heartbeat')) errors += 1; }
    return errors;
  };
  const sent = await pump(next, (b) => raw.sendBytes(b), answers, (wake) => {
    const iv = setInterval(wake, 5); // rawBackup has no listener API: poll its received list
    return () => clearInterval(iv);
  }, 'sync');
  const codes = new Map<string, number>();
  for (const r of raw.received) { const k = r.ok ? (r.msg.msg === 'error' ? sy.ErrorCode[r.msg.error!.code] : String(r.msg.msg)) : 'undecodable'; codes.set(k, (codes.get(k) ?? 0) + 1); }
  t.comment(`${sent} frames; answers ${JSON.stringify(Object.fromEntries(codes))}`);
  t.equal(answers(), sent, 'every frame answered exactly once');
  t.same([...codes.keys()].filter((k) => k !== 'BAD_MESSAGE' && k !== 'NOT_HELLO' && k !== 'heartbeat'), [], 'every answer is BAD_MESSAGE or NOT_HELLO');
  await log.waitFor((l) => /undecodable|BAD_MESSAGE|sync error sent/.test(JSON.stringify(l)), 'a logged reason for refused frames');
  t.equal(backup.state, 'in-sync', 'the real backup was not disturbed');
  const d2 = src.next(3);
  replica.apply(d2);
  const off = primary.publish(d2);
  await primary.whenAcked(off);
  t.equal(backup.position.offset, 23, 'replication continues after the fuzz');
  t.same(target.snapshotDeltas(), replica.snapshotDeltas(), 'backup state equals the primary state');
  t.ok(process.memoryUsage().rss / 1024 / 1024 - heap0 < 200, 'memory bounded');
  const junkLines = log.lines.filter((l) => l.msg === 'sync error sent to backup' || /^junk from/.test(l.msg)).length;
  t.ok(junkLines <= junkBound(2, Date.now() - t0), `${sent} bad frames on an authenticated stream: ${junkLines} log lines (per kind: one, then a summary per 10 s)`);

  // The credential: fuzzed secrets in the call metadata (and none), each call followed by frames.
  const rngG = new Rng(SEED + 3);
  const mark = log.lines.length;
  const t1 = Date.now();
  const outcomes = new Map<string, number>();
  let leaked = 0;
  for (let i = 0; i < GUESSES; i += 50) {
    const calls = [];
    for (let k = i; k < Math.min(GUESSES, i + 50); k++) {
      const r = rawBackup(t, server.port, k % 10 === 0 ? {} : { secret: guess(rngG, 'sync-secret') });
      r.send({ hello: { serverName: 'B', secret: 'sync-secret' } });
      r.send({ handoverRequest: { reason: 'fuzz' } });
      r.sendBytes(rngG.bytes(rngG.int(64)));
      calls.push(r);
    }
    for (const r of calls) {
      const st = await r.status;
      const k = grpc.status[st.code] ?? String(st.code);
      outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
      leaked += r.received.length;
      r.close();
    }
  }
  t.same(Object.fromEntries(outcomes), { UNAUTHENTICATED: GUESSES }, `${GUESSES} fuzzed or missing secrets: every call UNAUTHENTICATED`);
  t.equal(leaked, 0, 'not one message sent back to a foreign call');
  t.equal(backup.state, 'in-sync', 'the real backup was not pushed off');
  const d3 = src.next(2);
  replica.apply(d3);
  await primary.whenAcked(primary.publish(d3));
  t.same(target.snapshotDeltas(), replica.snapshotDeltas(), 'replication continues; no handover happened');
  const refusals = log.lines.slice(mark).filter((l) => /^sync call with(out)? a (wrong )?secret refused$/.test(l.msg) || /^junk from/.test(l.msg)).length;
  t.ok(refusals >= 1 && refusals <= junkBound(2, Date.now() - t1), `${GUESSES} refused calls: ${refusals} log lines`);
});

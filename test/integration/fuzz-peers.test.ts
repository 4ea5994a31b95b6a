// Fuzzing the peer ports: 30,000 random and mutated protobuf frames at a real switch's link port (on
// a link that never said Hello, via link-client sendRaw) while a T-Server holds the lease, and 30,000
// at a sync port (raw gRPC stream, as sync-failure.test.ts sends garbage) while a backup follows the
// primary. Every frame gets exactly one Error; no crash, no state change, memory bounded.
import t from 'tap';
import { sw } from '../../src/common/switch-proto.js';
import { sy } from '../../src/common/sync-proto.js';
import { decodeLinkUp } from '../../src/common/switch-service.js';
import { decodeBackupToPrimary } from '../../src/common/sync-service.js';
import { connectLink, openLink } from '../../src/switch-link/link-client.js';
import { SyncServer } from '../../src/sync/server.js';
import { SyncPrimary } from '../../src/sync/primary.js';
import { SyncBackup } from '../../src/sync/backup.js';
import { startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { backupState, captureLog, DeltaSource, FakeReplica, rawBackup } from '../helpers/sync-fixtures.js';
import { mutateBytes, Rng, rssMb } from '../helpers/fuzz.js';

const FRAMES = 30_000;
const BURST = 1_000;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_121);

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
  const raw = rawBackup(t, server.port);
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
});

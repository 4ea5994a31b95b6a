// Failure detection and hostile input on the sync stream: the backup reports the primary lost at once
// when the stream breaks and after the ADDP timeout when it goes silent; a wrong secret and garbage
// bytes get a clear Error and never take the server down; a taken port fails with PortInUseError.
import t from 'tap';
import { sy } from '../../src/wire/sync-proto.js';
import { SyncServer } from '../../src/adapters/sync/server.js';
import { backupState, DeltaSource, loopbackPair, once, rawBackup } from '../helpers/sync-fixtures.js';

const addp = { intervalMs: 50, timeoutMs: 300 };
type Lost = { reason: string; inSync: boolean; detail: string };

t.test('primary stream closed (crash) -> backup reports the primary lost at once', async (t) => {
  const p = await loopbackPair(t, { addp });
  const b = p.makeBackup({ addp });
  b.start();
  await backupState(b, 'in-sync');
  p.change(new DeltaSource().next(10));
  const lost = once<Lost>(b as never, 'lost');
  const t0 = performance.now();
  await p.server.close(); // every stream cut, like kill -9
  const l = await lost;
  const ms = performance.now() - t0;
  t.equal(l.reason, 'closed');
  t.ok(l.inSync, 'it was in sync: safe to promote');
  t.ok(ms < addp.timeoutMs / 2, `reported in ${Math.round(ms)} ms, long before any ADDP timeout`);
  t.equal(b.state === 'lost' || b.state === 'connecting', true);
  await p.log.waitFor((x) => x.msg === 'primary lost' && x.reason === 'closed', 'primary lost log');
});

t.test('primary silent (heartbeats paused, stream open) -> lost after the ADDP timeout', async (t) => {
  const p = await loopbackPair(t, { addp });
  const b = p.makeBackup({ addp });
  b.start();
  await backupState(b, 'in-sync');
  const lost = once<Lost>(b as never, 'lost');
  const t0 = performance.now();
  p.primary.pauseHeartbeats(true); // the primary hangs as far as the backup can tell
  const l = await lost;
  const ms = performance.now() - t0;
  t.equal(l.reason, 'addp-timeout');
  t.ok(ms >= addp.timeoutMs - 60 && ms < addp.timeoutMs + 250, `lost after ${Math.round(ms)} ms (timeout ${addp.timeoutMs})`);
  await p.log.waitFor((x) => x.msg === 'addp timeout: peer silent, declared dead' && x.peer === 'primary', 'addp log');
});

t.test('a silent primary that keeps publishing is alive: any message counts', async (t) => {
  const p = await loopbackPair(t, { addp });
  const b = p.makeBackup({ addp });
  b.start();
  await backupState(b, 'in-sync');
  p.primary.pauseHeartbeats(true);
  const src = new DeltaSource();
  let last = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < addp.timeoutMs * 3) {
    last = p.change(src.next(2));
    await p.primary.whenAcked(last);
    await new Promise((r) => setTimeout(r, 20)); // pacing the load generator, not waiting for a result
  }
  t.equal(b.state, 'in-sync', 'no false failover');
  t.equal(b.position.offset, last);
});

t.test('wrong secret -> call refused UNAUTHENTICATED before any message, logged without the secret', async (t) => {
  const p = await loopbackPair(t, {}, 'right-secret');
  const b = p.makeBackup({ secret: 'wrong-secret' });
  const refused = once<{ code: string }>(b as never, 'refused');
  b.start();
  t.equal((await refused).code, 'UNAUTHENTICATED');
  await p.log.waitFor((l) => l.msg === 'sync call with a wrong secret refused' && l.code === 'UNAUTHENTICATED', 'unauthenticated log');
  t.equal(b.state, 'connecting', 'never followed');
  t.notOk(p.log.lines.some((l) => JSON.stringify(l).includes('wrong-secret') || JSON.stringify(l).includes('right-secret')), 'no secret in logs');
  const good = p.makeBackup({ secret: 'right-secret' });
  good.start();
  await backupState(good, 'in-sync');
});

t.test('garbage bytes -> Error BAD_MESSAGE, stream and server stay up', async (t) => {
  const p = await loopbackPair(t);
  const raw = rawBackup(t, p.server.port);
  raw.sendBytes(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  const err = await raw.waitFor((m) => m.msg === 'error', 'Error');
  t.equal(err.error!.code, sy.ErrorCode.BAD_MESSAGE);
  t.match(err.error!.message, /undecodable sync message \(6 bytes\)/);
  raw.send({ ack: { offset: 1 } });
  const notHello = await raw.waitFor((m) => m.msg === 'error' && m.error!.code === sy.ErrorCode.NOT_HELLO, 'NOT_HELLO');
  t.match(notHello.error!.message, /expected Hello first/);
  raw.send({ hello: { serverName: 'R' } }); // the same stream still works
  await raw.waitFor((m) => m.msg === 'inSync', 'InSync after garbage');
  raw.sendBytes(Buffer.from([0x0a, 0x05, 0x01])); // truncated after Hello too
  await raw.waitFor((m) => m.msg === 'error' && m.error!.code === sy.ErrorCode.BAD_MESSAGE && m !== err, 'second BAD_MESSAGE');
  const b = p.makeBackup();
  b.start();
  await backupState(b, 'in-sync'); // and the server serves others
});

t.test('a server that is not primary refuses with NOT_PRIMARY (garbage first: BAD_MESSAGE)', async (t) => {
  const p = await loopbackPair(t);
  p.server.serve(null);
  const raw = rawBackup(t, p.server.port);
  raw.sendBytes(Buffer.from([0xff, 0xff]));
  await raw.waitFor((m) => m.msg === 'error' && m.error!.code === sy.ErrorCode.BAD_MESSAGE, 'BAD_MESSAGE');
  raw.send({ hello: { serverName: 'R' } });
  await raw.waitFor((m) => m.msg === 'error' && m.error!.code === sy.ErrorCode.NOT_PRIMARY, 'NOT_PRIMARY');
  await raw.ended;
  const b = p.makeBackup();
  const refused = once<{ code: string }>(b as never, 'refused');
  b.start();
  t.equal((await refused).code, 'NOT_PRIMARY');
  p.server.serve(p.primary); // promoted: the retrying backup follows it now
  await backupState(b, 'in-sync');
});

t.test('sync port in use -> PortInUseError naming the setting', async (t) => {
  const p = await loopbackPair(t);
  await t.rejects(SyncServer.listen({ host: '127.0.0.1', port: p.server.port, setting: 'sync.port', log: p.log.logger }), {
    code: 'PortInUse',
    message: new RegExp(`port ${p.server.port} .*already in use \\(setting: sync.port\\)`),
  });
});

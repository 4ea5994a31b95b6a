// A bad peer never takes the switch down: malformed frames, messages before Hello, unknown DNs and
// call ids get clear errors and the switch keeps serving; wrong secret; port in use; clean stop.
import t from 'tap';
import { spawnTandem, ready } from '../helpers/process.js';
import { connectLink, openLink } from '../../src/adapters/switch-client/link-client.js';

const portOf = async (p: ReturnType<typeof spawnTandem>) => ((await ready(p)).ports as { switch: number }).switch;

t.test('bad input gets clear errors; the switch stays up', async (t) => {
  const proc = spawnTandem(t, ['switch', '--port', '0']);
  const address = `127.0.0.1:${await portOf(proc)}`;

  // Before Hello: a valid message is refused NotHello, a malformed one BadMessage; the link stays.
  const raw = openLink({ address, serverName: 'raw', hello: false });
  t.teardown(() => raw.close());
  let err = raw.next((m) => !!m.error);
  raw.send({ snapshotQuery: { requestId: 1 } });
  t.match((await err).error, { code: 'NotHello', message: /send Hello/ });
  err = raw.next((m) => !!m.error);
  raw.sendRaw(Uint8Array.from([0x0a, 0xff, 0xff]));
  t.match((await err).error, { code: 'BadMessage', message: /could not decode/ });
  raw.sendHello();
  t.match(await raw.welcome, { switchName: 'switch' }, 'the same link can still say Hello');

  // After Hello: malformed bytes and an empty LinkUp.
  err = raw.next((m) => !!m.error);
  raw.sendRaw(Uint8Array.from([0x32, 0x05, 0x08]));
  t.match((await err).error, { code: 'BadMessage' });
  err = raw.next((m) => !!m.error);
  raw.send({});
  t.match((await err).error, { code: 'BadMessage', message: /empty LinkUp/ });
  t.equal((await raw.snapshot()).lastSeq, 0, 'a later request on the same link succeeds');

  // Unknown DNs and call ids.
  t.match(await raw.inboundCall('4155550100', '1234'), { ok: false, errorCode: 'UnknownDN', errorMessage: /not in the dial plan/ });
  t.match(await raw.simulate({ callerHangup: { callId: 's42' } }), { ok: false, errorCode: 'UnknownCall' });
  t.match(await raw.simulate({ setAutoAnswer: { dn: 'nope' } }), { ok: false, errorCode: 'UnknownDN' });
  t.match(await raw.simulate({}), { ok: false, errorCode: 'BadCommand' });
  t.match((await raw.claim({ epoch: 1 })).granted, { epoch: 1 });
  t.teardown(raw.keepHeartbeating(1, 100));
  t.match(await raw.command({ commandId: 'x1', epoch: 1, answer: { callId: 's42', dn: '5001' } }), { ok: false, errorCode: 'UnknownCall', errorMessage: /refresh from a snapshot/ });
  t.match(await raw.command({ commandId: 'x2', epoch: 1, makeCall: { dn: '5001', to: '6000' } }), { ok: false, errorCode: 'UnknownDN' });
  t.match(await raw.command({ commandId: 'x3', epoch: 1 }), { ok: false, errorCode: 'BadCommand' });
  t.match(await raw.command({ commandId: '', epoch: 1, makeCall: { dn: '5001', to: '5002' } }), { ok: false, errorCode: 'BadCommand', errorMessage: /commandId/ });
  t.equal((await raw.snapshot()).lastSeq, 0, 'refused commands changed nothing');

  // A peer that vanishes mid-stream, then a fresh link: the switch is still serving.
  raw.close();
  const fresh = await connectLink({ address, serverName: 'fresh' });
  t.teardown(() => fresh.close());
  t.match(await fresh.inboundCall('4155550100', '8000'), { ok: true, callId: 's1' });
  t.equal(proc.child.exitCode, null, 'still running');
});

t.test('shared secret: a wrong one is Unauthorized and closed', async (t) => {
  const proc = spawnTandem(t, ['switch', '--port', '0', '--secret', 's3cret']);
  const address = `127.0.0.1:${await portOf(proc)}`;
  await t.rejects(connectLink({ address, serverName: 'intruder', secret: 'nope' }), { code: 'Unauthorized' });
  await t.rejects(connectLink({ address, serverName: 'nosecret' }), { code: 'Unauthorized' });
  const ok = await connectLink({ address, serverName: 'A', secret: 's3cret' });
  t.teardown(() => ok.close());
  t.equal((await ok.snapshot()).lastSeq, 0);
  t.notOk(proc.lines.some((l) => JSON.stringify(l).includes('s3cret')), 'the secret is never logged');
});

t.test('port in use: one clear line on stderr, exit 1', async (t) => {
  const first = spawnTandem(t, ['switch', '--port', '0']);
  const port = await portOf(first);
  const second = spawnTandem(t, ['switch', '--port', String(port)]);
  t.equal(await second.exited, 1);
  t.equal(second.text.length, 1, `one non-JSON line: ${second.text.join(' | ')}`);
  t.match(second.text[0], new RegExp(`port ${port} .*already in use.*--port / switch\\.port.*Another instance`));
});

t.test('bad settings stop it with the setting named; SIGTERM stops it cleanly', async (t) => {
  const bad = spawnTandem(t, ['switch', '--port', '0', '--lease-ms', '100', '--heartbeat-ms', '200']);
  t.equal(await bad.exited, 1);
  t.match(bad.text.join('\n'), /--heartbeat-ms/);
  const missing = spawnTandem(t, ['switch', '--config', '/nonexistent/tandem.json']);
  t.equal(await missing.exited, 1);
  t.match(missing.text.join('\n'), /cannot read config file/);
  const help = spawnTandem(t, ['switch', '--help']);
  t.equal(await help.exited, 0);
  t.match(help.text.join('\n'), /--lease-ms/);
  const sw = spawnTandem(t, ['switch', '--port', '0']);
  const address = `127.0.0.1:${await portOf(sw)}`;
  const l = await connectLink({ address, serverName: 'A' });
  t.teardown(() => l.close());
  sw.kill('SIGTERM');
  t.equal(await sw.exited, 0);
  t.ok(sw.lines.some((x) => x.msg === 'stopped'));
});

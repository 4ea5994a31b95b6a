// Peer authentication with mutual TLS and throwaway certificates (openssl at test time): the switch
// link and the sync stream accept only peers whose certificate the configured CA signed; a peer with
// a certificate from another CA, without one, or in plaintext is refused with a log line; desktops
// connect over wss. Valid peers keep working throughout.
import t from 'tap';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { WebSocket } from 'ws';
import { loadTls } from '../../src/lib/tls.js';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { SyncServer } from '../../src/adapters/sync/server.js';
import { SyncPrimary } from '../../src/adapters/sync/primary.js';
import { SyncBackup } from '../../src/adapters/sync/backup.js';
import { openSyncStream } from '../../src/wire/sync-service.js';
import { makePki } from '../helpers/certs.js';
import { startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { TestClient } from '../helpers/ws-client.js';
import { backupState, captureLog, DeltaSource, FakeReplica, once } from '../helpers/sync-fixtures.js';

t.test('switch link: mutual TLS; wrong CA, plaintext refused; desktops over wss', async (t) => {
  const pki = makePki(t);
  const rogue = makePki(t, 'Rogue CA');
  const swc = pki.issue('switch');
  const a = pki.issue('tserver-a');
  const x = rogue.issue('tserver-x');
  const sw = await startSwitch(t, ['--tls-cert', swc.cert, '--tls-key', swc.key, '--tls-ca', pki.caCert]);
  t.match(sw.proc.lines.find((l) => l.msg === 'ready'), { tls: 'mutual' });

  const ts = await startTServer(t, { switchAddress: sw.address, config: { tserver: { peerTls: a, tls: { cert: a.cert, key: a.key } } } });
  await sw.proc.waitFor((l) => l.msg === 'hello' && l.serverName === 'A', 5_000, 'A welcomed over mTLS');

  // Desktop over wss, verified against the test CA.
  const wss = `wss://127.0.0.1:${ts.port}/tlib`;
  const ws = new WebSocket(wss, { ca: readFileSync(pki.caCert) });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const desk = new TestClient(ws, 'agent');
  t.teardown(() => desk.close());
  t.match(await desk.open(), { event: 'EventServerInfo', switchLink: 'up' });
  t.match(await desk.request('RequestRegisterAddress', { thisDN: '5001' }), { event: 'EventRegistered' });
  const health = await (await fetch(`https://127.0.0.1:${ts.port}/healthz`).catch(() => undefined))?.status;
  t.equal(health, undefined, 'an https client that does not trust the CA is refused (no plaintext fallback)');

  // A T-Server whose certificate another CA signed: the switch refuses the handshake and logs it.
  const bad = await startTServer(t, { name: 'X', switchAddress: sw.address, waitLinkUp: false, config: { tserver: { peerTls: { ...x, ca: pki.caCert } } } });
  const refused = await sw.proc.waitFor((l) => l.msg === 'TLS handshake refused', 10_000, 'switch TLS refusal log');
  t.match(refused, { port: 'switch', peer: /^127\.0\.0\.1:\d+$/ });
  await bad.proc.waitFor((l) => /switch link|link/.test(String(l.msg)) && l.level !== undefined && JSON.stringify(l).includes('X') && l.msg !== 'ready', 10_000, 'X logs its link failing');
  t.notOk(sw.proc.lines.some((l) => l.msg === 'hello' && l.serverName === 'X'), 'X never reached Hello');

  // Plaintext link client: refused before any message.
  await t.rejects(connectLink({ address: sw.address, serverName: 'plain', timeoutMs: 3_000 }), 'a plaintext link is refused');
  // A link client with a certificate from the right CA works (tools like tandem call use the same client).
  const good = await connectLink({ address: sw.address, serverName: 'tool', tls: loadTls(pki.issue('tool'), 'test') });
  t.teardown(() => good.close());
  t.ok((await good.snapshot()).devices.length > 0, 'a certified tool reads the snapshot');

  // Unharmed: A's link is still up and its desktop works.
  const h = await new Promise<string>((resolve, reject) => {
    https.get(`https://127.0.0.1:${ts.port}/healthz`, { ca: readFileSync(pki.caCert) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  t.match(JSON.parse(h), { switchLink: 'up' }, '/healthz over https');
  t.match(await desk.request('RequestQueryAddress', { thisDN: '5001' }), { event: 'EventAddressInfo' });
});

t.test('sync port: mutual TLS plus shared secret; wrong CA, no client cert, plaintext, wrong secret refused', async (t) => {
  const pki = makePki(t);
  const rogue = makePki(t, 'Rogue CA');
  const log = captureLog();
  const server = await SyncServer.listen({ host: '127.0.0.1', port: 0, secret: 'sync-s3cret', tls: loadTls(pki.issue('server-a'), 'test'), log: log.logger.child({ server: 'A' }) });
  const replica = new FakeReplica();
  const primary = new SyncPrimary({ serverName: 'A', epoch: () => 1, snapshotDeltas: () => replica.snapshotDeltas(), secret: 'sync-s3cret', log: log.logger.child({ server: 'A' }) });
  server.serve(primary);
  t.equal(server.peerAuth, 'mtls+secret', 'the sync port reports both checks (ready line, /healthz)');
  const backups: SyncBackup[] = [];
  const clients: grpc.Client[] = [];
  t.teardown(async () => { for (const b of backups) b.stop('test over'); for (const c of clients) c.close(); primary.close('test over'); await server.close(); });
  const backup = (name: string, extra: Partial<ConstructorParameters<typeof SyncBackup>[0]>) => {
    const target = new FakeReplica();
    const b = new SyncBackup({ serverName: name, primaryAddress: `127.0.0.1:${server.port}`, log: log.logger.child({ server: name }), reset: () => target.reset(), apply: (d) => target.apply(d), secret: 'sync-s3cret', reconnect: { initialMs: 200, maxMs: 1000 }, ...extra });
    backups.push(b);
    return b;
  };
  const d = new DeltaSource().next(5);
  replica.apply(d);
  primary.publish(d);
  const refusals = () => log.lines.filter((l) => l.msg === 'TLS handshake refused').length;

  // Another CA's certificate.
  const x = backup('X', { tls: loadTls({ ...rogue.issue('x'), ca: pki.caCert }, 'test') });
  x.start();
  await log.waitFor((l) => l.msg === 'TLS handshake refused' && l.port === 'sync', 'refusal of the rogue certificate');
  t.equal(x.state, 'connecting', 'X never got a Welcome');

  // No client certificate (TLS, trusts the CA, presents nothing).
  const n0 = refusals();
  const noCert = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(readFileSync(pki.caCert)));
  clients.push(noCert);
  const s = openSyncStream(noCert);
  const ended = new Promise<string>((resolve) => { s.on('error', (e: Error) => resolve(e.message)); s.on('data', () => resolve('data')); });
  s.on('end', () => {});
  s.write({ hello: { serverName: 'N', secret: 'sync-s3cret' } });
  t.not(await ended, 'data', 'no client certificate: nothing read');
  await log.waitFor(() => refusals() > n0, 'refusal of a client without certificate');

  // Plaintext.
  const n1 = refusals();
  const plain = backup('P', {});
  plain.start();
  await log.waitFor(() => refusals() > n1, 'refusal of plaintext');
  t.equal(plain.state, 'connecting');

  // Right certificate, wrong secret: UNAUTHENTICATED (both checks apply).
  const ws = backup('W', { tls: loadTls(pki.issue('w'), 'test'), secret: 'nope' });
  const r = once<{ code: string }>(ws as never, 'refused');
  ws.start();
  t.equal((await r).code, 'UNAUTHENTICATED');

  // The real backup: right certificate and secret, in sync with the deltas.
  const b = backup('B', { tls: loadTls(pki.issue('server-b'), 'test') });
  b.start();
  await backupState(b, 'in-sync');
  t.equal(b.position.offset, 5);
  t.notOk(log.lines.some((l) => JSON.stringify(l).includes('sync-s3cret')), 'the secret is never logged');
});

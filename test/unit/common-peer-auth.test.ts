// peer-auth.ts: the constant-time compare, where a secret comes from (flag > flag file > environment >
// config value > config file), the mode each port reports, and the one warning of an open port.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateSecret, offeredSyncSecret, openPortWarning, peerAuthMode, PeerSecretError, readSecretFile, resolveSecret, secretMatches, syncCallMetadata,
} from '../../src/lib/peer-auth.js';

const names = { flag: '--sync-secret', flagFile: '--sync-secret-file', env: 'TANDEM_SYNC_SECRET', config: 'tserver.syncSecret', configFile: 'tserver.syncSecretFile' };

t.test('secretMatches: equal only for the same secret; empty or missing never matches a configured one', async (t) => {
  t.ok(secretMatches('s3cret', 's3cret'));
  t.ok(secretMatches('s3cret', Buffer.from('s3cret')), 'a metadata Buffer compares by its UTF-8 bytes');
  t.notOk(secretMatches('s3cret', ''), 'empty');
  t.notOk(secretMatches('s3cret', undefined), 'missing');
  t.notOk(secretMatches('s3cret', 's3cre'), 'a prefix');
  t.notOk(secretMatches('s3cret', 's3cret\n'), 'with a newline');
  t.notOk(secretMatches('s3cret', 'x'.repeat(10_000)), 'any length: no throw');
  t.ok(secretMatches(undefined, 'anything'), 'no secret configured: no check');
  t.ok(secretMatches('', ''), 'an empty configured secret means none');
});

t.test('generateSecret: 64 hex characters, fresh every time', async (t) => {
  const a = generateSecret();
  t.match(a, /^[0-9a-f]{64}$/);
  t.not(a, generateSecret());
});

t.test('sync metadata carries the secret as bytes', async (t) => {
  t.equal(offeredSyncSecret(syncCallMetadata(undefined)), undefined);
  t.equal(offeredSyncSecret(syncCallMetadata('pässwörd'))!.toString('utf8'), 'pässwörd');
});

t.test('peerAuthMode', async (t) => {
  t.equal(peerAuthMode(undefined, undefined), 'none');
  t.equal(peerAuthMode('', { ca: undefined }), 'none', 'server-only TLS authenticates no peer');
  t.equal(peerAuthMode('s', undefined), 'secret');
  t.equal(peerAuthMode(undefined, { ca: 'ca.pem' }), 'mtls');
  t.equal(peerAuthMode('s', { ca: 'ca.pem' }), 'mtls+secret');
});

t.test('resolveSecret: precedence and clear errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-secret-'));
  const f = join(dir, 'sync.secret');
  writeFileSync(f, 'from-file\n', { mode: 0o600 });
  const empty = join(dir, 'empty.secret');
  writeFileSync(empty, '\n');
  t.equal(resolveSecret({ names }), undefined, 'nothing set: none');
  t.equal(resolveSecret({ flag: 'f', flagFile: f, env: 'e', configValue: 'c', configFile: f, names }), 'f', 'flag first');
  t.equal(resolveSecret({ flagFile: f, env: 'e', configValue: 'c', names }), 'from-file', 'then the flag file (newline dropped)');
  t.equal(resolveSecret({ env: 'e', configValue: 'c', names }), 'e', 'then the environment');
  t.equal(resolveSecret({ env: '', configValue: 'c', names }), 'c', 'an empty variable counts as unset');
  t.equal(resolveSecret({ configValue: '', configFile: f, names }), 'from-file', 'then the config file');
  t.throws(() => resolveSecret({ flag: '', names }), { code: 'BadPeerSecret', message: /--sync-secret is empty/ });
  t.throws(() => resolveSecret({ configValue: 42, names }), { code: 'BadPeerSecret', message: /tserver.syncSecret must be a string/ });
  t.throws(() => readSecretFile(join(dir, 'missing'), '--sync-secret-file'), { message: /cannot read the secret file .*missing \(--sync-secret-file\)/ });
  t.throws(() => readSecretFile(empty, 'tserver.syncSecretFile'), { message: /is empty: put the shared secret in it, e.g. openssl rand -hex 32/ });
  t.type(new PeerSecretError('x'), Error);
});

t.test('openPortWarning: only for an open port, naming what to set', async (t) => {
  t.equal(openPortWarning('sync', 'secret', '127.0.0.1', 7101), undefined);
  t.equal(openPortWarning('switch', 'mtls', '0.0.0.0', 7200), undefined);
  const s = openPortWarning('sync', 'none', '0.0.0.0', 7101)!;
  t.match(s.msg, /0\.0\.0\.0:7101.*TANDEM_SYNC_SECRET.*tserver\.peerTls/);
  t.match(s.fields, { peerAuth: 'none', port: 'sync', docs: 'docs/peer-auth.md' });
  t.match(openPortWarning('switch', 'none', '127.0.0.1', 7200)!.msg, /claim the primary lease.*TANDEM_SWITCH_SECRET/);
});

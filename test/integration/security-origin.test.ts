// Browser Origin at the WebSocket upgrade, with a real server: the Host header is never trusted alone
// (DNS rebinding: a page at http://evil.example:P whose name now points at this server sends
// Origin and Host both evil.example:P). Listed origins, loopback pages on a loopback connection and
// this server's own origin by IP address are admitted.
import t from 'tap';
import { startStack } from '../helpers/tserver-fixture.js';
import { upgradeStatus } from '../helpers/ws-client.js';


t.test('Origin: DNS rebinding refused; configured, loopback and own-IP origins admitted', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { allowedOrigins: ['https://crm.example.com'] } } });
  const P = ts.port;

  const rebound = await upgradeStatus(ts.url, { headers: { Origin: `http://evil.example:${P}`, Host: `evil.example:${P}` } });
  t.equal(rebound.status, 403, 'Origin = Host = evil.example:P (rebinding) refused');
  t.match(rebound.body, /Origin http:\/\/evil\.example:\d+ is not allowed: add it to tserver\.allowedOrigins \(the Host header alone is not trusted\)/);
  await ts.proc.waitFor((l) => l.msg === 'connection refused' && l.status === 403, 5_000, 'refusal logged');
  t.equal((await upgradeStatus(ts.url, { headers: { Origin: `http://ts-a.cc.local:${P}`, Host: `ts-a.cc.local:${P}` } })).status, 403, 'any DNS name, not only evil ones');

  t.equal((await upgradeStatus(ts.url, { headers: { Origin: 'https://crm.example.com' } })).status, 101, 'configured origin');
  t.equal((await upgradeStatus(ts.url, { headers: { Origin: `http://127.0.0.1:${P}` } })).status, 101, 'own origin (the desktop served here)');
  t.equal((await upgradeStatus(ts.url, { headers: { Origin: 'http://localhost:7002' } })).status, 101, 'a loopback page on this machine (the embedded pair\'s other server)');
  t.equal((await upgradeStatus(ts.url, { headers: {} })).status, 101, 'no Origin: not a browser');
});

// Desktop authentication with real processes: wrong token, expired token, a DN outside the token's
// scope, repeated failures blocking an address; each refused with Unauthorized and a log line, the
// server unharmed. Tokens, secrets, passwords and user data never appear in any log line.
import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { mintHs256 } from '../../src/auth/jwt.js';
import { spawnTandem, type Proc } from '../helpers/process.js';
import { startSwitch, startTServer } from '../helpers/tserver-fixture.js';
import { TestClient } from '../helpers/ws-client.js';

const HMAC_SECRET = 'hmac-SECRET-marker-7f3a';
const SHARED = 'shared-TOKEN-marker-19cd';
const WRONG = 'wrong-TOKEN-marker-aa01';
const SWITCH_SECRET = 'switch-SECRET-marker-5be2';
const PASSWORD = 'PASSWORD-marker-0c1d';
const USERDATA = 'USERDATA-marker-e44f';

/** Connects from a given loopback address (Linux routes all of 127/8 to lo): a separate "remote". */
async function connectFrom(url: string, name: string, localAddress: string, t: { teardown(fn: () => unknown): void }): Promise<TestClient> {
  const ws = new WebSocket(url, { localAddress });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const c = new TestClient(ws, name);
  t.teardown(() => c.close());
  return c;
}

async function mintWithCli(t: Parameters<typeof spawnTandem>[0], args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-key-'));
  const secretFile = join(dir, 'k1.secret');
  writeFileSync(secretFile, `${HMAC_SECRET}\n`);
  const p = spawnTandem(t, ['token', '--key-id', 'k1', '--secret-file', secretFile, ...args], { name: 'token' });
  const code = await p.exited;
  if (code !== 0) throw new Error(`tandem token exited ${code}: ${p.text.join('\n')}`);
  return p.text[0]!.trim();
}

function assertNoSecrets(t: Tap.Test, procs: Proc[], markers: string[]): void {
  for (const p of procs) {
    const all = [...p.lines.map((l) => JSON.stringify(l)), ...p.text].join('\n');
    for (const m of markers) t.notOk(all.includes(m), `no "${m}" in the ${p.child.spawnargs.slice(2, 3).join(' ')} log (${p.lines.length} lines)`);
  }
}

t.test('desktop authentication: wrong, expired, out-of-scope, blocked; valid clients unharmed', async (t) => {
  const sw = await startSwitch(t, ['--secret', SWITCH_SECRET]);
  const ts = await startTServer(t, {
    switchAddress: sw.address,
    config: { tserver: { switchSecret: SWITCH_SECRET, auth: { mode: 'token', tokens: { 'agent-1': SHARED }, hmacKeys: { k1: HMAC_SECRET }, maxFailures: 3, failureWindowMs: 60_000 } } },
  });
  const scoped = await mintWithCli(t, ['--client', 'agent-5001', '--ttl', '10m', '--dns', '5001']);
  t.match(scoped, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'tandem token printed a JWT');
  t.match(JSON.parse(Buffer.from(scoped.split('.')[0]!, 'base64url').toString()), { alg: 'HS256', kid: 'k1' });

  // 1. Wrong token: Unauthorized, then the server closes the connection.
  const wrong = await connectFrom(ts.url, 'agent-1', '127.0.0.1', t);
  const e1 = await wrong.open({ token: WRONG });
  t.match(e1, { event: 'EventError', errorCode: 'Unauthorized', errorMessage: /wrong token/ });
  t.equal((await wrong.closedWith()).code, 4003, 'closed after the answer');
  const l1 = await ts.proc.waitFor((l) => l.msg === 'authentication failed' && l.reason === 'wrong token', 5_000, 'auth failure log');
  t.match(l1, { clientName: 'agent-1', remote: /^127\.0\.0\.1:\d+$/, blocked: false });

  // 2. Expired signed token.
  const expired = await mintHs256(HMAC_SECRET, { sub: 'agent-5001', exp: Math.floor(Date.now() / 1000) - 5 }, 'k1');
  const exp = await connectFrom(ts.url, 'agent-5001', '127.0.0.1', t);
  t.match(await exp.open({ token: expired }), { event: 'EventError', errorCode: 'Unauthorized', errorMessage: /TokenExpired: token expired at/ });
  await ts.proc.waitFor((l) => l.msg === 'authentication failed' && l.authError === 'TokenExpired', 5_000, 'expired log');

  // 3. A valid scoped token: its DN works, any other DN is Unauthorized.
  const agent = await connectFrom(ts.url, 'agent-5001', '127.0.0.1', t);
  t.match(await agent.open({ token: scoped }), { event: 'EventServerInfo' });
  t.match(await agent.request('RequestRegisterAddress', { thisDN: '5001' }), { event: 'EventRegistered', thisDN: '5001' });
  t.match(await agent.request('RequestRegisterAddress', { thisDN: '5002' }), { event: 'EventError', errorCode: 'Unauthorized', errorMessage: /5002 is outside/ });
  t.match(await agent.request('RequestAgentLogin', { thisDN: '5002', agentId: 'a2', password: PASSWORD }), { event: 'EventError', errorCode: 'Unauthorized' });
  t.match(await agent.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1', password: PASSWORD }), { event: 'EventAgentLogin' });
  await ts.proc.waitFor((l) => l.msg === 'request rejected' && l.errorCode === 'Unauthorized' && l.request === 'RequestRegisterAddress', 5_000, 'scope log');
  const made = await agent.request('RequestMakeCall', { thisDN: '5001', otherDN: '5003', userData: { note: USERDATA } });
  t.equal(made.event, 'EventDialing', 'call with user data placed');
  t.notOk(agent.closed, 'refusals inside the scope check keep the connection');

  // 3b. A JWT is checked asynchronously: requests sent right behind RequestOpen, in the same burst,
  // wait for it and run in order (not NotOpened).
  const eagerToken = await mintHs256(HMAC_SECRET, { sub: 'agent-eager', exp: Math.floor(Date.now() / 1000) + 600, dns: ['5001'] }, 'k1');
  const eager = await connectFrom(ts.url, 'agent-eager', '127.0.0.4', t);
  eager.sendRaw(JSON.stringify({ request: 'RequestOpen', referenceId: 1, clientName: 'agent-eager', token: eagerToken }));
  eager.sendRaw(JSON.stringify({ request: 'RequestRegisterAddress', referenceId: 2, thisDN: '5001' }));
  eager.sendRaw(JSON.stringify({ request: 'RequestQueryAddress', referenceId: 3, thisDN: '5001' }));
  await eager.waitFor((e) => e.referenceId === 3, 5_000, 'the third answer');
  t.same(eager.events.filter((e) => e.referenceId !== undefined).map((e) => [e.referenceId, e.event]),
    [[1, 'EventServerInfo'], [2, 'EventRegistered'], [3, 'EventAddressInfo']], 'answered in order, none NotOpened');
  await eager.close();

  // 4. Third failure from 127.0.0.1, then the address is blocked: even a valid token is refused unchecked.
  const third = await connectFrom(ts.url, 'agent-1', '127.0.0.1', t);
  t.match(await third.open({}), { errorCode: 'Unauthorized', errorMessage: /no token/ });
  const blocked = await connectFrom(ts.url, 'agent-1', '127.0.0.1', t);
  t.match(await blocked.open({ token: SHARED }), { event: 'EventError', errorCode: 'Unauthorized', errorMessage: /too many failed attempts/ });
  t.equal((await blocked.closedWith()).code, 4003);
  await ts.proc.waitFor((l) => l.msg === 'authentication failed' && l.blocked === true, 5_000, 'blocked log');

  // 5. Unharmed: another address opens with the shared token; the open agent keeps working.
  const ok = await connectFrom(ts.url, 'agent-1', '127.0.0.2', t);
  t.match(await ok.open({ token: SHARED }), { event: 'EventServerInfo' });
  t.match(await ok.request('RequestQueryAddress', { thisDN: '5003' }), { event: 'EventAddressInfo' });
  t.match(await agent.request('RequestQueryAddress', { thisDN: '5001' }), { event: 'EventAddressInfo' });
  const health = await ts.health();
  t.match(health, { clients: 2, switchLink: 'up', calls: 1 });
  t.match(await ts.metrics(), /tandem_auth_failures_total\{blocked="true"\} 1/);

  // 6. A T-Server with the wrong switch secret is refused by the switch; the switch logs it, without secrets.
  const rogue = await startTServer(t, { name: 'R', switchAddress: sw.address, waitLinkUp: false, config: { tserver: { switchSecret: `${SWITCH_SECRET}-nope` } } });
  await sw.proc.waitFor((l) => l.msg === 'Hello with a wrong secret: link closed' && l.serverName === 'R', 10_000, 'switch refusal log');

  assertNoSecrets(t, [ts.proc, sw.proc, rogue.proc], [HMAC_SECRET, SHARED, WRONG, SWITCH_SECRET, PASSWORD, USERDATA, scoped.split('.')[2]!, expired.split('.')[2]!]);
});

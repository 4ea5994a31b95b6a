// Fuzzing /tlib with token auth on, so the auth and scope checks are fuzzed too (fuzz-tlib.test.ts
// fuzzes the validator with auth off). Two phases against one real T-Server:
// 1. Before RequestOpen: fresh connections each send one hostile frame (mutated RequestOpen with
//    forged, tampered, expired, foreign, wrong-algorithm, over-long JWTs; garbage): exactly one EventError each,
//    never an open.
// 2. Opened with a token scoped to DN 5001: mutated requests, requests about other DNs, queries of
//    another client's call by ConnID (and of ConnIDs near it): every frame refused with exactly one
//    EventError; the foreign call's data never appears; the state does not change.
import t from 'tap';
import { WebSocket } from 'ws';
import { SignJWT } from 'jose';
import { mintHs256 } from '../../src/auth/jwt.js';
import { checkRequest } from '../../src/adapters/gateway/guard.js';
import { parseRequest } from '../../src/protocol/validate.js';
import type { Request, TEvent } from '../../src/protocol/messages.js';
import { DEFAULT_LIMITS } from '../../src/processes/tserver/config.js';
import { mutateRequest, Rng, unicodeString } from '../helpers/fuzz.js';
import { startStack } from '../helpers/tserver-fixture.js';
import { TestClient } from '../helpers/ws-client.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_207);
const UNOPENED = 600;
const FRAMES = 20_000;
const CONNECTIONS = 4;
const BURST = 500;
const KEY = 'fuzz-KEY-6b0e';
const MARK = 'SSN-219-09-9999';
const SCOPE = new Set(['5001']);
const exp = () => Math.floor(Date.now() / 1000) + 600;
const token = (sub: string, dns?: string[]) => mintHs256(KEY, { sub, exp: exp(), ...(dns ? { dns } : {}) }, 'k1');

async function opened(t: Tap.Test, url: string, name: string, tok: string): Promise<TestClient> {
  const c = await TestClient.connect(url, name);
  t.teardown(() => c.close());
  const info = await c.open({ token: tok });
  if (info.event !== 'EventServerInfo') throw new Error(`${name}: ${JSON.stringify(info)}`);
  return c;
}

/** JWTs that must not open `fuzz` (minted once: jose signs asynchronously, the fuzz loop is synchronous). */
async function badJwts(): Promise<{ good: string; bad: string[] }> {
  const now = Math.floor(Date.now() / 1000);
  const good = await token('fuzz');
  const bad = await Promise.all([
    mintHs256('not-the-key', { sub: 'fuzz', exp: exp() }, 'k1'), // forged
    mintHs256(KEY, { sub: 'fuzz', exp: now - 1 }, 'k1'), // expired
    mintHs256(KEY, { sub: 'fuzz', exp: now - 1_000_000 }, 'k1'),
    token('someone-else'),
    mintHs256(KEY, { sub: 'fuzz', exp: exp() }, 'k9'), // unknown key id
    mintHs256(KEY, { sub: 'fuzz', exp: exp(), dns: [5001 as unknown as string] }), // bad claim type
    new SignJWT({ sub: 'fuzz', exp: exp() }).setProtectedHeader({ alg: 'HS512', kid: 'k1' }).sign(new TextEncoder().encode(KEY)), // algorithm
    new SignJWT({ exp: exp() }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(KEY)), // no sub
  ]);
  return { good, bad };
}

/** A token that must not open `fuzz`: forged, tampered, expired, for someone else, or malformed. */
function badToken(r: Rng, jwts: { good: string; bad: string[] }): unknown {
  const { good } = jwts;
  const [header, payload, sig] = good.split('.') as [string, string, string];
  const i = r.int(payload.length);
  switch (r.int(7)) {
    case 0: case 1: return r.pick(jwts.bad);
    case 2: return `${header}.${payload.slice(0, i)}${payload[i] === 'A' ? 'B' : 'A'}${payload.slice(i + 1)}.${sig}`; // payload changed: signature fails
    case 3: return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    case 4: return `${header}.${'A'.repeat(9_000 + r.int(100))}.${sig}`;
    case 5: return r.pick([good.slice(0, r.int(good.length)), unicodeString(r), '', 'a.b.c', '...', 42, null, { token: good }]);
    default: return `${sig}.${payload}.${header}`;
  }
}

t.test(`fuzz /tlib with token auth: ${UNOPENED} unopened connections, ${FRAMES} frames in scope (seed ${SEED})`, async (t) => {
  const { ts } = await startStack(t, {
    config: { tserver: { auth: { mode: 'token', hmacKeys: { k1: KEY }, maxFailures: 0 }, maxRequestsPerSecond: 0 } },
    switchArgs: ['--lease-ms', '5000', '--heartbeat-ms', '250'],
  });
  const rng = new Rng(SEED);
  const jwts = await badJwts();
  const owner = await opened(t, ts.url, 'owner', await token('owner'));
  const foreign = await owner.request('RequestMakeCall', { thisDN: '5002', otherDN: '5003', userData: { ssn: MARK } });
  t.equal(foreign.event, 'EventDialing');
  const foreignId = foreign.connId!;
  const witness = await opened(t, ts.url, 'witness', await token('witness'));
  await witness.request('RequestRegisterAddress', { thisDN: '5001' });
  const strip = (e: TEvent) => ({ ...e, time: undefined, referenceId: undefined });
  const before = { health: await ts.health(), address: strip(await witness.request('RequestQueryAddress', { thisDN: '5001' })) };

  // Phase 1: one hostile frame per fresh connection, before any RequestOpen.
  const p1 = new Map<string, number>();
  for (let i = 0; i < UNOPENED; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, UNOPENED - i) }, async () => {
      const c = await TestClient.connect(ts.url, 'fuzz');
      try {
        const open = { request: 'RequestOpen', referenceId: 1, clientName: 'fuzz', token: badToken(rng, jwts) };
        c.sendRaw(rng.int(4) === 0 ? mutateRequest(rng, open) : JSON.stringify(open));
        const e = await c.waitFor(() => true, 5_000, 'the answer');
        p1.set(`${e.event} ${e.errorCode}`, (p1.get(`${e.event} ${e.errorCode}`) ?? 0) + 1);
      } finally { await c.close(); }
    }));
  }
  t.comment(`unopened answers ${JSON.stringify(Object.fromEntries(p1))}`);
  t.same([...p1.keys()].filter((k) => !k.startsWith('EventError ')), [], 'no unopened connection was ever opened');
  t.equal([...p1.values()].reduce((a, b) => a + b, 0), UNOPENED, 'each answered once');

  // Phase 2: scoped clients; every frame sent is one the edge must refuse.
  const near = (d: number) => (BigInt(`0x${foreignId}`) + BigInt(d)).toString(16).padStart(16, '0');
  const VALID: Record<string, unknown>[] = [
    { request: 'RequestRegisterAddress', referenceId: 2, thisDN: '5001' },
    { request: 'RequestAgentLogin', referenceId: 3, thisDN: '5001', agentId: 'a1', thisQueue: '7000' },
    { request: 'RequestMakeCall', referenceId: 5, thisDN: '5001', otherDN: '5002', userData: { case: 1 } },
    { request: 'RequestAttachUserData', referenceId: 7, thisDN: '5002', connId: foreignId, userData: { k: 'v' } },
    { request: 'RequestReleaseCall', referenceId: 8, thisDN: '5003', connId: foreignId },
    { request: 'RequestQueryCall', referenceId: 9, connId: foreignId },
    { request: 'RequestQueryAddress', referenceId: 10, thisDN: '5002' },
  ];
  const callDNs = (id: string) => (id === foreignId ? ['5002', '5003'] : undefined);
  const frame = (): string => {
    for (;;) {
      const base = rng.pick(VALID);
      const text = rng.int(3) === 0 ? JSON.stringify({ ...base, connId: base.connId ? near(rng.int(5) - 2) : undefined, thisDN: base.thisDN ? String(5000 + rng.int(10)) : undefined })
        : rng.int(2) === 0 ? JSON.stringify(base) : mutateRequest(rng, base);
      const p = parseRequest(text, DEFAULT_LIMITS.maxFrameBytes);
      if (!p.ok) return text;
      const req = p.request as Request;
      if (req.request === 'RequestOpen') continue;
      // The scope rule for queries by ConnID, stated here (not taken from the server's code): only
      // calls with a party on a permitted DN.
      if (req.request === 'RequestQueryCall' && !(callDNs(req.connId) ?? []).some((dn) => SCOPE.has(dn))) return text;
      if (checkRequest(req, SCOPE, [], DEFAULT_LIMITS)) return text;
    }
  };
  const fuzzers = await Promise.all(Array.from({ length: CONNECTIONS }, async (_, i) => opened(t, ts.url, `fuzz-${i}`, await token(`fuzz-${i}`, ['5001']))));
  let sent = 0;
  const codes = new Map<string, number>();
  const leaks: string[] = [];
  const got = fuzzers.map(() => 0);
  fuzzers.forEach((c, i) => c.ws.on('message', (data) => {
    const text = data.toString();
    const e = JSON.parse(text) as TEvent;
    if (e.event === 'EventServerInfo' || e.event === 'EventLinkConnected' || e.event === 'EventLinkDisconnected') return;
    got[i]! += 1;
    codes.set(`${e.event} ${e.errorCode ?? ''}`, (codes.get(`${e.event} ${e.errorCode ?? ''}`) ?? 0) + 1);
    if (text.includes(MARK) || text.includes('"5003"')) leaks.push(text.slice(0, 300));
  }));
  while (sent < FRAMES) {
    await Promise.all(fuzzers.map(async (c, i) => {
      const target = got[i]! + BURST;
      for (let k = 0; k < BURST; k++) c.sendRaw(frame());
      sent += BURST;
      await new Promise<void>((resolve, reject) => {
        const check = () => { if (got[i]! >= target) { c.ws.off('message', check); c.ws.off('close', closed); resolve(); } };
        const closed = (code: number) => reject(new Error(`fuzz connection ${i} closed (${code}) after ${sent} frames, seed ${SEED}`));
        c.ws.on('message', check);
        c.ws.on('close', closed);
        check();
      });
    }));
  }
  t.comment(`in-scope answers ${JSON.stringify(Object.fromEntries(codes))}`);
  t.equal(got.reduce((a, b) => a + b, 0), sent, 'every frame answered exactly once');
  t.same([...codes.keys()].filter((k) => !k.startsWith('EventError ')), [], 'every answer is an EventError');
  t.ok((codes.get('EventError Unauthorized') ?? 0) > 0 && (codes.get('EventError InvalidConnID') ?? 0) > 0, 'scope refusals were exercised');
  t.same(leaks, [], 'the foreign call never reached a scoped client');
  for (const c of fuzzers) t.equal(c.ws.readyState, WebSocket.OPEN, 'fuzz connection kept');
  t.equal(ts.proc.child.exitCode, null, 'T-Server alive');
  const after = { health: await ts.health(), address: strip(await witness.request('RequestQueryAddress', { thisDN: '5001' })) };
  t.same(after.address, before.address, 'DN state unchanged');
  t.same({ seq: after.health.seq, calls: after.health.calls, epoch: after.health.epoch }, { seq: before.health.seq, calls: before.health.calls, epoch: before.health.epoch }, 'server state unchanged');
  t.match(await owner.request('RequestQueryCall', { connId: foreignId }), { event: 'EventPartyInfo', userData: { ssn: MARK } }, 'the foreign call is intact');
});

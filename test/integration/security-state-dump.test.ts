// The state dump (GET /debug/state: every call's user data, client names, the journal) is off by
// default and, when enabled, answers operators only: with token auth a Bearer token of a client in
// tserver.auth.operators. /healthz and /metrics never carry user data.
import t from 'tap';
import { openClient, startStack, startTServer } from '../helpers/tserver-fixture.js';
import { TestClient } from '../helpers/ws-client.js';

const SSN = '078-05-1120';
const CARD = '4111111111111111';
const OPS = 'ops-TOKEN-7d1e';
const AGENT = 'agent-TOKEN-22c9';

const auth = { mode: 'token', tokens: { ops: OPS, agent: AGENT, scopedOps: { token: 'scoped-ops-TOKEN', dns: ['5001'] } }, operators: ['ops', 'scopedOps'] };

async function get(url: string, token?: string): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.text(), headers: res.headers };
}

t.test('/debug/state: off by default', async (t) => {
  // No switch needed for the HTTP port: point at a closed port.
  const ts = await startTServer(t, { switchAddress: '127.0.0.1:1', waitLinkUp: false, config: { tserver: { auth } } });
  const r = await get(`${ts.http}/debug/state`, OPS);
  t.equal(r.status, 404, 'not served, even to an operator');
  t.match(r.body, /the state dump is off: start the server with --debug-state/);
});

t.test('/debug/state with token auth: operators only; /healthz and /metrics carry no user data', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { auth, debugState: true } } });
  const agent = await TestClient.connect(ts.url, 'agent');
  t.teardown(() => agent.close());
  t.match(await agent.open({ token: AGENT }), { event: 'EventServerInfo' });
  await agent.request('RequestRegisterAddress', { thisDN: '5001' });
  const made = await agent.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002', userData: { ssn: SSN, card: CARD } });
  t.equal(made.event, 'EventDialing');

  const none = await get(`${ts.http}/debug/state`);
  t.equal(none.status, 401, 'no credentials');
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="tandem-operator"');
  t.match(none.body, /Authorization: Bearer/);
  const wrong = await get(`${ts.http}/debug/state`, 'not-a-token');
  t.equal(wrong.status, 401, 'unknown token');
  const desk = await get(`${ts.http}/debug/state`, AGENT);
  t.equal(desk.status, 403, 'a desktop token is not an operator token');
  t.match(desk.body, /"agent" is not an operator: list it in tserver.auth.operators/);
  const scoped = await get(`${ts.http}/debug/state`, 'scoped-ops-TOKEN');
  t.equal(scoped.status, 403, 'an operator token with a DN scope cannot read every DN');
  for (const r of [none, wrong, desk, scoped]) t.notOk(r.body.includes(SSN), 'no user data in a refusal');
  await ts.proc.waitFor((l) => l.msg === 'state dump refused' && l.status === 403, 5_000, 'refusal logged');

  const ops = await get(`${ts.http}/debug/state`, OPS);
  t.equal(ops.status, 200, 'operator token');
  t.ok(ops.body.includes(SSN), 'the dump holds the call (user data included): hence the check');
  await ts.proc.waitFor((l) => l.msg === 'state dump served' && l.who === 'ops', 5_000, 'access logged');

  for (const path of ['/healthz', '/healthz?digest=1', '/metrics']) {
    const r = await get(`${ts.http}${path}`);
    t.equal(r.status, 200, path);
    t.notOk(r.body.includes(SSN) || r.body.includes(CARD), `${path}: no user data`);
    t.notOk(r.body.includes(OPS) || r.body.includes(AGENT), `${path}: no tokens`);
  }
});

t.test('/debug/state with auth off: loopback only (the embedded pair, the chaos checker)', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { debugState: true } } });
  const c = await openClient(t, ts.url, 'desk');
  await c.request('RequestRegisterAddress', { thisDN: '5001' });
  t.equal((await get(`${ts.http}/debug/state`)).status, 200, 'from 127.0.0.1');
  await ts.proc.waitFor((l) => l.msg === '/debug/state is on with token auth off: it answers loopback callers only', 5_000, 'start warning');
});

t.test('/debug/state?journalAfter=N: the journal tail after a seq, same check; a bad seq is a 400 that says what to send', async (t) => {
  const { ts } = await startStack(t, { config: { tserver: { auth, debugState: true } } });
  const c = await TestClient.connect(ts.url, 'agent');
  t.teardown(() => c.close());
  await c.open({ token: AGENT });
  await c.request('RequestRegisterAddress', { thisDN: '5001' });
  await c.request('RequestMakeCall', { thisDN: '5001', otherDN: '5002' });
  t.equal((await get(`${ts.http}/debug/state?journalAfter=0`, AGENT)).status, 403, 'a desktop token is refused here too');
  const all = JSON.parse((await get(`${ts.http}/debug/state?journalAfter=0`, OPS)).body);
  t.ok(all.journal.length >= 1, 'the journal so far');
  t.equal(all.oldestSeq, all.journal[0].seq);
  t.equal(all.seq, all.journal.at(-1).seq, 'seq: the last event numbered');
  const last = all.journal.at(-1).seq;
  const tail = JSON.parse((await get(`${ts.http}/debug/state?journalAfter=${last - 1}`, OPS)).body);
  t.same(tail.journal.map((e: { seq: number }) => e.seq), [last], 'only the entries after the seq asked');
  t.notOk('calls' in tail, 'the tail carries no other state');
  const bad = await get(`${ts.http}/debug/state?journalAfter=-3`, OPS);
  t.equal(bad.status, 400);
  t.match(bad.body, /journalAfter must be a non-negative integer seq, got "-3"/);
});

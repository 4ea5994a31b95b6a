// The agent state machine: the transition table itself, and agent requests through the core.
import t from 'tap';
import { agentTransition, canonicalState, type Agent } from '../../src/core/index.js';
import { Rig, answerOf, seqOf } from '../helpers/core-rig.js';

const base: Agent = { dn: '5001', agentId: 'a1', queue: '7000', state: 'NotReady', workMode: 'AuxWork', idleSince: 0 };

t.test('transition table: allowed and refused moves', async (t) => {
  const at = (state: Agent['state']) => ({ ...base, state });
  const to = (a: Agent, input: Parameters<typeof agentTransition>[1]) => {
    const s = agentTransition(a, input, 100);
    return s.ok ? s.to : `refused:${s.from}`;
  };
  t.equal(to(at('NotReady'), { kind: 'ready' }), 'Ready');
  t.equal(to(at('AfterCallWork'), { kind: 'ready' }), 'Ready');
  t.equal(to(at('Busy'), { kind: 'ready' }), 'refused:Busy');
  t.equal(to(at('Ready'), { kind: 'notReady', workMode: 'AfterCallWork' }), 'AfterCallWork');
  t.equal(to(at('Ready'), { kind: 'notReady' }), 'NotReady');
  t.equal(to(at('Busy'), { kind: 'notReady' }), 'NotReady');
  t.equal(to(at('Busy'), { kind: 'logout' }), 'refused:Busy');
  t.equal(to(at('NotReady'), { kind: 'logout' }), 'LoggedOut');
  t.equal(to(at('Ready'), { kind: 'callStarted' }), 'Busy');
  t.equal(to(at('NotReady'), { kind: 'callStarted' }), 'NotReady', 'a NotReady agent on a call stays NotReady');
  t.equal(to(at('Busy'), { kind: 'callsEnded', wrapUpMs: 0 }), 'Ready');
  t.equal(to(at('Busy'), { kind: 'callsEnded', wrapUpMs: 5 }), 'AfterCallWork');
  t.equal(to(at('AfterCallWork'), { kind: 'wrapUpEnded' }), 'Ready');
  const ready = agentTransition(at('NotReady'), { kind: 'ready' }, 100);
  t.equal(ready.ok && ready.agent?.idleSince, 100, 'becoming Ready starts the idle time');
  const wrap = agentTransition(at('Busy'), { kind: 'callsEnded', wrapUpMs: 5 }, 100);
  t.equal(wrap.ok && wrap.agent?.wrapUpUntil, 105);
});

t.test('agent requests: login, not ready with reasons, ready, logout; refused ones change nothing', async (t) => {
  const rig = new Rig();
  const login = rig.req('d', { request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a1', thisQueue: '7000' });
  t.same(seqOf(login), ['5001:EventAgentLogin']);
  t.equal(answerOf(login, login.referenceId)?.event, 'EventAgentLogin');
  t.match(login.events[0].event, { agentId: 'a1', thisQueue: '7000', agentState: 'NotReady' });

  const before = canonicalState(rig.state);
  for (const [req, code] of [
    [{ request: 'RequestAgentLogin', thisDN: '5001', agentId: 'a9' }, 'AgentAlreadyLoggedIn'],
    [{ request: 'RequestAgentLogin', thisDN: '5002', agentId: 'a1' }, 'AgentAlreadyLoggedIn'],
    [{ request: 'RequestAgentLogin', thisDN: '5002', agentId: 'a2', thisQueue: '5003' }, 'InvalidDN'],
    [{ request: 'RequestAgentReady', thisDN: '5002' }, 'InvalidState'],
    [{ request: 'RequestAgentReady', thisDN: '8000' }, 'InvalidDN'],
    [{ request: 'RequestAgentReady', thisDN: '5999' }, 'InvalidDN'],
  ] as const) {
    const s = rig.req('d', req);
    t.same(s.events, [], `${req.request} refused`);
    t.equal(answerOf(s, s.referenceId)?.errorCode, code);
  }
  t.equal(canonicalState(rig.state), before, 'refused requests change nothing');

  const nr = rig.req('d', { request: 'RequestAgentNotReady', thisDN: '5001', workMode: 'AuxWork', reasons: { why: 'lunch' } });
  t.same(seqOf(nr), ['5001:EventAgentNotReady']);
  t.match(nr.events[0].event, { workMode: 'AuxWork', reasons: { why: 'lunch' }, agentState: 'NotReady' });
  const r = rig.req('d', { request: 'RequestAgentReady', thisDN: '5001' });
  t.same(seqOf(r), ['5001:EventAgentReady']);

  // Busy on a call: Ready and Logout are refused, NotReady is allowed and sticks after the call.
  const call = rig.inbound('4155550100', '5001');
  const c = rig.connIdOf(call.callId);
  t.equal(rig.state.agents.get('5001')?.state, 'Busy');
  const busyBefore = canonicalState(rig.state);
  const lo = rig.req('d', { request: 'RequestAgentLogout', thisDN: '5001' });
  t.equal(answerOf(lo, lo.referenceId)?.errorCode, 'InvalidState');
  const rd = rig.req('d', { request: 'RequestAgentReady', thisDN: '5001' });
  t.equal(answerOf(rd, rd.referenceId)?.errorCode, 'InvalidState');
  t.equal(canonicalState(rig.state), busyBefore);
  t.same(seqOf(rig.req('d', { request: 'RequestAgentNotReady', thisDN: '5001' })), ['5001:EventAgentNotReady']);
  rig.req('d', { request: 'RequestAnswerCall', thisDN: '5001', connId: c });
  t.same(seqOf(rig.req('d', { request: 'RequestReleaseCall', thisDN: '5001', connId: c })), ['5001:EventReleased']);
  t.equal(rig.state.agents.get('5001')?.state, 'NotReady');

  const out = rig.req('d', { request: 'RequestAgentLogout', thisDN: '5001' });
  t.same(seqOf(out), ['5001:EventAgentLogout']);
  t.match(out.events[0].event, { agentState: 'LoggedOut' });
  t.notOk(rig.state.agents.has('5001'));
});

t.test('manual AfterCallWork has no timer; Ready ends it', async (t) => {
  const rig = new Rig();
  rig.agentReady('5001', 'a1');
  const acw = rig.req('d', { request: 'RequestAgentNotReady', thisDN: '5001', workMode: 'AfterCallWork' });
  t.match(acw.events[0].event, { event: 'EventAgentNotReady', agentState: 'AfterCallWork', workMode: 'AfterCallWork' });
  t.same(seqOf(rig.tick(3_600_000)), []);
  t.same(seqOf(rig.req('d', { request: 'RequestAgentReady', thisDN: '5001' })), ['5001:EventAgentReady']);
});

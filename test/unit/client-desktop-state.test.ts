// The web desktop's model of its DN (src/desktop/desk-state.ts): exact results of event sequences
// from docs/protocol.md (inbound call, consult transfer, user data, snapshot after reconnect).
import t from 'tap';
import { applyEvent, emptyDesk } from '../../src/desktop/desk-state.js';
import type { TEvent } from '../../src/protocol/messages.js';

const C = '00a1f3c4e5b60001';
const C2 = '00a1f3c4e5b60002';
const on = (e: Omit<TEvent, 'thisDN'>): TEvent => ({ thisDN: '5001', ...e });

t.test('agent states', async (t) => {
  const d = emptyDesk('5001');
  const states = [
    on({ event: 'EventAgentLogin', agentState: 'NotReady' }), on({ event: 'EventAgentReady' }),
    on({ event: 'EventAgentNotReady', workMode: 'AfterCallWork' }), on({ event: 'EventAgentNotReady', workMode: 'AuxWork' }),
    on({ event: 'EventAgentLogout' }),
  ].map((e) => applyEvent(d, e).agentState);
  t.same(states, ['NotReady', 'Ready', 'AfterCallWork', 'NotReady', 'LoggedOut']);
});

t.test('inbound call: ringing with ANI/DNIS/user data, answered, released', async (t) => {
  const d = emptyDesk('5001');
  applyEvent(d, on({ event: 'EventRinging', connId: C, callType: 'Inbound', ani: '4155550100', dnis: '8000', userData: { account: '42' } }));
  t.match(d.calls.get(C), { state: 'Ringing', callType: 'Inbound', ani: '4155550100', dnis: '8000', userData: { account: '42' } });
  applyEvent(d, on({ event: 'EventEstablished', connId: C }));
  t.equal(d.calls.get(C)?.state, 'Established');
  applyEvent(d, on({ event: 'EventAttachedDataChanged', connId: C, userData: { account: '42', note: 'vip' } }));
  t.same(d.calls.get(C)?.userData, { account: '42', note: 'vip' });
  applyEvent(d, { event: 'EventReleased', thisDN: '5002', connId: C }); // another DN: ignored
  t.equal(d.calls.size, 1);
  applyEvent(d, on({ event: 'EventReleased', connId: C }));
  t.equal(d.calls.size, 0);
});

t.test('consult transfer: the consult call is tracked, both gone after completion', async (t) => {
  const d = emptyDesk('5001');
  applyEvent(d, on({ event: 'EventEstablished', connId: C }));
  d.consult = { kind: 'transfer', main: C };
  applyEvent(d, on({ event: 'EventHeld', connId: C }));
  applyEvent(d, on({ event: 'EventDialing', connId: C2, callType: 'Consult', otherDN: '5002' }));
  t.same(d.consult, { kind: 'transfer', main: C, consult: C2 });
  t.same([...d.calls.values()].map((c) => [c.connId, c.state]), [[C, 'Held'], [C2, 'Dialing']]);
  applyEvent(d, on({ event: 'EventEstablished', connId: C2 }));
  applyEvent(d, on({ event: 'EventReleased', connId: C2 }));
  applyEvent(d, on({ event: 'EventReleased', connId: C, callState: 'Transferred' }));
  t.equal(d.calls.size, 0);
  t.equal(d.consult, undefined);
});

t.test('party changed renames the call to the kept ConnID', async (t) => {
  const d = emptyDesk('5001');
  applyEvent(d, on({ event: 'EventEstablished', connId: C2, otherDN: '5002' }));
  applyEvent(d, on({ event: 'EventPartyChanged', connId: C, previousConnId: C2, otherDN: '4155550100' }));
  t.same([...d.calls.keys()], [C]);
  t.equal(d.calls.get(C)?.otherDN, '4155550100');
});

t.test('EventRegistered snapshot replaces the calls (after a reconnect)', async (t) => {
  const d = emptyDesk('5001');
  applyEvent(d, on({ event: 'EventRinging', connId: C2 }));
  applyEvent(d, on({
    event: 'EventRegistered', agentState: 'Ready',
    calls: [{ connId: C, callType: 'Inbound', ani: '1', dnis: '2', userData: { a: 1 }, parties: [{ dn: '5001', dnType: 'Extension', state: 'Held' }, { dn: '4155550100', dnType: 'External', state: 'Established' }] }],
  }));
  t.equal(d.agentState, 'Ready');
  t.same([...d.calls.values()], [{ connId: C, state: 'Held', callType: 'Inbound', ani: '1', dnis: '2', otherDN: '4155550100', userData: { a: 1 } }]);
});

t.test('Busy by the core rule: a Ready agent on a call is Busy, Ready again when its last call ends', async (t) => {
  const d = emptyDesk('5001');
  applyEvent(d, on({ event: 'EventAgentLogin', agentState: 'NotReady' }));
  applyEvent(d, on({ event: 'EventRinging', connId: C }));
  t.equal(d.agentState, 'NotReady', 'not Ready when the call came: the state stays');
  applyEvent(d, on({ event: 'EventReleased', connId: C }));
  applyEvent(d, on({ event: 'EventAgentReady' }));
  const seq = [
    on({ event: 'EventRinging', connId: C }), on({ event: 'EventEstablished', connId: C }),
    on({ event: 'EventDialing', connId: C2, callType: 'Consult' }), on({ event: 'EventReleased', connId: C2 }),
    on({ event: 'EventReleased', connId: C }),
  ].map((e) => applyEvent(d, e).agentState);
  t.same(seq, ['Busy', 'Busy', 'Busy', 'Busy', 'Ready']);
  applyEvent(d, on({ event: 'EventRinging', connId: C }));
  applyEvent(d, on({ event: 'EventReleased', connId: C }));
  applyEvent(d, on({ event: 'EventAgentNotReady', workMode: 'AfterCallWork' }));
  t.equal(d.agentState, 'AfterCallWork', 'a queue wrap-up arrives as EventAgentNotReady and wins');
});

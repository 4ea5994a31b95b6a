// Bad requests (unknown DN, wrong ConnID, wrong state) are EventError replies and change nothing.
import t from 'tap';
import { canonicalState } from '../../src/core/index.js';
import { Rig, answerOf } from '../helpers/core-rig.js';

t.test('bad requests change nothing', async (t) => {
  const rig = new Rig();
  const mk = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002' });
  const c = mk.events[0].event.connId!;
  const nobody = 'ffffffffffffffff';
  const cases: [Record<string, unknown> & { request: string }, string][] = [
    [{ request: 'RequestMakeCall', thisDN: '5999', otherDN: '5002' }, 'InvalidDN'],
    [{ request: 'RequestMakeCall', thisDN: '7000', otherDN: '5002' }, 'InvalidDN'],
    [{ request: 'RequestRegisterAddress', thisDN: '5999' }, 'InvalidDN'],
    [{ request: 'RequestQueryAddress', thisDN: '5999' }, 'InvalidDN'],
    [{ request: 'RequestAnswerCall', thisDN: '5002', connId: nobody }, 'InvalidConnID'],
    [{ request: 'RequestAnswerCall', thisDN: '5003', connId: c }, 'InvalidConnID'],
    [{ request: 'RequestAnswerCall', thisDN: '5001', connId: c }, 'InvalidState'],
    [{ request: 'RequestHoldCall', thisDN: '5002', connId: c }, 'InvalidState'],
    [{ request: 'RequestRetrieveCall', thisDN: '5001', connId: c }, 'InvalidState'],
    [{ request: 'RequestInitiateTransfer', thisDN: '5001', connId: c, otherDN: '5003' }, 'InvalidState'],
    [{ request: 'RequestCompleteTransfer', thisDN: '5001', connId: c, transferConnId: c }, 'InvalidConnID'],
    [{ request: 'RequestDeleteFromConference', thisDN: '5001', connId: c, otherDN: '5004' }, 'InvalidDN'],
    [{ request: 'RequestAttachUserData', thisDN: '5003', connId: c, userData: { a: 1 } }, 'InvalidConnID'],
    [{ request: 'RequestQueryCall', connId: nobody }, 'InvalidConnID'],
    [{ request: 'RequestRouteCall', thisDN: '8000', connId: c, otherDN: '5003' }, 'InvalidConnID'],
    [{ request: 'RequestAgentLogout', thisDN: '5001' }, 'InvalidState'],
    [{ request: 'RequestOpen', clientName: 'x' }, 'BadRequest'],
  ];
  for (const [req, code] of cases) {
    const before = canonicalState(rig.state);
    const s = rig.req('d', req);
    t.match(answerOf(s, s.referenceId), { event: 'EventError', errorCode: code }, `${req.request} -> ${code}`);
    t.match(s.replies[0].event.errorMessage, /\w+ .*/, 'says what is wrong');
    t.same(s.deltas, []);
    t.same(s.commands, []);
    t.equal(canonicalState(rig.state), before, `${req.request}: state unchanged`);
  }
});

t.test('queries answer without a seq and change nothing', async (t) => {
  const rig = new Rig();
  const mk = rig.req('d', { request: 'RequestMakeCall', thisDN: '5001', otherDN: '5002', userData: { k: 1 } });
  const c = mk.events[0].event.connId!;
  const before = canonicalState(rig.state);
  const q = rig.req('d', { request: 'RequestQueryCall', connId: c });
  t.match(q.replies[0].event, { event: 'EventPartyInfo', connId: c, callType: 'Internal', userData: { k: 1 }, parties: [{ dn: '5001', state: 'Dialing' }, { dn: '5002', state: 'Ringing' }] });
  t.notOk(q.replies[0].event.seq);
  const a = rig.req('d', { request: 'RequestQueryAddress', thisDN: '5002' });
  t.match(a.replies[0].event, { event: 'EventAddressInfo', thisDN: '5002', calls: [{ connId: c, state: 'Ringing' }] });
  t.equal(canonicalState(rig.state), before);
});

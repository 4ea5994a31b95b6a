// The edge validator, from the request schemas: every bad frame gets a code and a message that says
// what to send instead; a good one comes through as it was sent.
import t from 'tap';
import { parseRequest } from '../../src/protocol/validate.js';

const parse = (frame: unknown) => parseRequest(typeof frame === 'string' ? frame : JSON.stringify(frame), 65_536);
const base = { referenceId: 7 };

t.test('frames that are not requests', async (t) => {
  t.match(parse('{"request": '), { ok: false, code: 'BadRequest', message: /not valid JSON/ });
  t.match(parse('[1,2]'), { ok: false, code: 'BadRequest', message: /must be a JSON object/ });
  t.match(parse({ referenceId: 1 }), { ok: false, code: 'BadRequest', message: /missing "request"/, referenceId: 1 });
  t.match(parse({ request: 'RequestQueryServer' }), { ok: false, code: 'BadRequest', message: /"referenceId" must be a positive integer/ });
  t.match(parse({ request: 'RequestQueryServer', referenceId: 0 }), { ok: false, code: 'BadRequest' });
  t.match(parse({ request: 'RequestFly', ...base }), { ok: false, code: 'UnknownRequest', message: /unknown request "RequestFly": see docs\/protocol.md/, referenceId: 7 });
  t.match(parseRequest(JSON.stringify({ request: 'RequestQueryServer', ...base, pad: 'x'.repeat(100) }), 50), { ok: false, code: 'BadRequest', message: /over the limit of 50/ });
});

t.test('attributes: missing, malformed, of the wrong type', async (t) => {
  const cases: [unknown, string, RegExp][] = [
    [{ request: 'RequestAgentLogin', ...base, thisDN: '5001' }, 'BadRequest', /^RequestAgentLogin needs "agentId"$/],
    [{ request: 'RequestAgentLogin', ...base, thisDN: '5001', agentId: null }, 'BadRequest', /needs "agentId"/],
    [{ request: 'RequestQueryAddress', ...base, thisDN: 'no spaces allowed' }, 'InvalidDN', /"thisDN" must be a DN \(digits, at most 32 characters\)/],
    [{ request: 'RequestAnswerCall', ...base, thisDN: '5001', connId: 'XYZ' }, 'InvalidConnID', /"connId" must be a ConnID: 16 lowercase hex digits/],
    [{ request: 'RequestOpen', ...base, clientName: 5 }, 'BadRequest', /"clientName" must be a string of at most 256 characters/],
    [{ request: 'RequestOpen', ...base, clientName: 'a', token: 'a'.repeat(9_000) }, 'BadRequest', /"token" must be a string of at most 8192 characters/],
    [{ request: 'RequestOpen', ...base, clientName: 'a', lastSeq: -1 }, 'BadRequest', /"lastSeq" must be a non-negative integer/],
    [{ request: 'RequestAgentReady', ...base, thisDN: '5001', workMode: 'Bogus' }, 'BadRequest', /"workMode" must be one of Unknown, AuxWork, AfterCallWork, AutoIn, ManualIn/],
    [{ request: 'RequestMakeCall', ...base, thisDN: '5001', otherDN: '5002', userData: [1] }, 'BadRequest', /"userData" must be a JSON object/],
    [{ request: 'RequestDeleteUserData', ...base, thisDN: '5001', connId: '00000000000000ff', keys: [1] }, 'BadRequest', /"keys" must be an array of key names/],
    [{ request: 'RequestReplay', ...base, afterSeq: 1.5 }, 'BadRequest', /"afterSeq" must be a non-negative integer/],
  ];
  for (const [frame, code, message] of cases) t.match(parse(frame), { ok: false, code, message, referenceId: 7 }, JSON.stringify(frame).slice(0, 80));
});

t.test('good requests come through as sent; null attributes count as absent; unknown ones are kept', async (t) => {
  const open = parse({ request: 'RequestOpen', ...base, clientName: 'ann', lastSeq: null, vendorHint: 'x' });
  t.same(open, { ok: true, request: { request: 'RequestOpen', referenceId: 7, clientName: 'ann', vendorHint: 'x' } });
  // `keys` as the core reads it: an array of names, or an object whose keys are the names.
  t.match(parse({ request: 'RequestDeleteUserData', ...base, thisDN: '5001', connId: '00000000000000ff', keys: ['a', 'b'] }), { ok: true });
  t.match(parse({ request: 'RequestDeleteUserData', ...base, thisDN: '5001', connId: '00000000000000ff', keys: { a: true } }), { ok: true });
  const frame = { request: 'RequestMakeCall', ...base, thisDN: '5001', otherDN: '94155550100', userData: { case: { id: 1 } } };
  t.same(parse(frame), { ok: true, request: frame });
});

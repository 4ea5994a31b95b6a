// The pure SIP pieces: message parser/serializer, TCP stream framer, SDP edits, dispatch order.
import t from 'tap';
import { header, headerList, parseMessage, parseNameAddr, parseUri, parseVia, responseTo, serialize, SipParseError, splitList, type SipRequest } from '../../src/processes/switch/sip/message.js';
import { StreamFramer } from '../../src/processes/switch/sip/stream-framer.js';
import { directionOf, inactiveAnswer, stamp, withDirection } from '../../src/processes/switch/sip/sdp.js';
import { dispatchInvite } from '../../src/processes/switch/sip/dispatch.js';
import { DEFAULT_SIP_CONFIG, sipConfigFromJson, type SipConfig } from '../../src/processes/switch/sip/config.js';
import { DialPlan } from '../../src/processes/switch/dial-plan.js';

const REQ = [
  'INVITE sip:8000@10.0.0.1:5060;user=phone SIP/2.0',
  'v: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bKabc;rport',
  'Via: SIP/2.0/TCP 10.0.0.3;branch=z9hG4bKdef',
  'f: "Caller, Inc" <sip:4155550100@10.0.0.2>;tag=abc',
  't: <sip:8000@10.0.0.1>',
  'i: call-1@10.0.0.2',
  'CSeq: 7 INVITE',
  'Subject: a folded',
  '  header',
  'Contact: <sip:4155550100@10.0.0.2:5070>, <sip:x@y>',
  'c: application/sdp',
  'l: 4',
  '',
  'v=0\r\nEXTRA',
].join('\r\n');

t.test('parse: compact forms, folding, lists, body cut at Content-Length', async (t) => {
  const m = parseMessage(REQ) as SipRequest;
  t.equal(m.kind, 'request');
  t.equal(m.method, 'INVITE');
  t.equal(header(m, 'call-id'), 'call-1@10.0.0.2');
  t.equal(header(m, 'subject'), 'a folded header');
  t.same(headerList(m, 'via').length, 2);
  t.same(headerList(m, 'contact'), ['<sip:4155550100@10.0.0.2:5070>', '<sip:x@y>']);
  t.equal(m.body, 'v=0\r');
  t.same(parseNameAddr(header(m, 'from')!), { display: 'Caller, Inc', uri: 'sip:4155550100@10.0.0.2', params: { tag: 'abc' } });
  t.match(parseUri(m.uri), { scheme: 'sip', user: '8000', host: '10.0.0.1', port: 5060, params: { user: 'phone' } });
  t.match(parseVia(header(m, 'via')!), { transport: 'UDP', host: '10.0.0.2', port: 5070, params: { branch: 'z9hG4bKabc', rport: '' } });
  t.same(splitList('"a,b" <sip:x>, <sip:y;p=1,2>'), ['"a,b" <sip:x>', '<sip:y;p=1,2>']);
});

t.test('serialize writes canonical names and the real Content-Length; responses copy the right headers', async (t) => {
  const m = parseMessage(REQ) as SipRequest;
  const text = serialize(m).toString();
  t.match(text, /^INVITE sip:8000@10\.0\.0\.1:5060;user=phone SIP\/2\.0\r\nVia: /);
  t.match(text, /\r\nCall-ID: call-1@10\.0\.0\.2\r\n/);
  t.match(text, /\r\nContent-Length: 4\r\n\r\nv=0\r$/);
  const r = responseTo(m, 180, 'Ringing', 'ourtag');
  t.same(r.headers.map((h) => h.name), ['via', 'via', 'from', 'to', 'call-id', 'cseq']);
  t.equal(header(r, 'to'), '<sip:8000@10.0.0.1>;tag=ourtag');
  t.equal(header(responseTo(m, 100, 'Trying', 'ourtag'), 'to'), '<sip:8000@10.0.0.1>', '100 Trying gets no tag');
  const back = parseMessage(serialize(r));
  t.same({ ...back, headers: back.headers.filter((h) => h.name !== 'content-length') }, r, 'a serialized response parses back equal (plus its Content-Length)');
});

t.test('parse errors say what is wrong; a request with its mandatory headers can still be answered', async (t) => {
  const bad = (text: string) => { try { parseMessage(text); return undefined; } catch (e) { return e as SipParseError; } };
  t.match(bad('hello')?.message, /no empty line/);
  t.match(bad('HELLO\r\n\r\n')?.message, /bad start line/);
  const noVia = bad(REQ.replace(/^v: .*\r\nVia: .*\r\n/m, ''));
  t.match(noVia?.message, /Via is missing/);
  t.ok(noVia?.partial, 'without Via the partial request exists but a response cannot be routed (the transport drops it)');
  const cseq = bad(REQ.replace('CSeq: 7 INVITE', 'CSeq: 7 BYE'));
  t.match(cseq?.message, /CSeq method BYE differs/);
  t.ok(cseq?.partial);
  t.match(bad(REQ.replace('l: 4', 'l: 99'))?.message, /Content-Length 99 but only/);
  t.match(bad(REQ.replace('Subject: a folded', 'no colon here'))?.message, /bad header line/);
  t.match(bad('SIP/2.0 200 OK\r\nVia: x\r\n\r\n')?.message, /From is missing/);
  t.match(bad(`OPTIONS sip:a@b SIP/2.0\r\n${'X: y\r\n'.repeat(20_000)}\r\n`)?.message, /over 65535 bytes/);
});

t.test('the stream framer cuts by Content-Length, skips keepalive CRLFs and fails on a missing length', async (t) => {
  const f = new StreamFramer();
  const one = 'OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 3\r\n\r\nabc';
  const bytes = Buffer.from(`\r\n\r\n${one}${one}`);
  const out = [...f.push(bytes.subarray(0, 20)), ...f.push(bytes.subarray(20, 61)), ...f.push(bytes.subarray(61))];
  t.same(out.map((x) => x.ok && x.bytes.toString()), [one, one]);
  const g = new StreamFramer();
  const broken = g.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n'));
  t.match(broken, [{ ok: false, reason: /Content-Length is missing/ }]);
  t.same(g.push(Buffer.from(one)), [], 'nothing after a framing error: the connection is closed');
  t.match(new StreamFramer().push(Buffer.alloc(70_000, 65)), [{ ok: false, reason: /no end of headers/ }]);
});

const SDP = 'v=0\r\no=alice 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';

t.test('SDP: hold direction, inactive answer, one o= line per leg', async (t) => {
  t.equal(directionOf(SDP), 'sendrecv');
  const held = withDirection(SDP, 'sendonly');
  t.equal(directionOf(held), 'sendonly');
  t.match(held, /m=audio 4000 RTP\/AVP 0/);
  const parked = inactiveAnswer(SDP);
  t.equal(directionOf(parked), 'inactive');
  t.match(parked, /c=IN IP4 0\.0\.0\.0/);
  const origin = { sessionId: '777', version: 0 };
  t.match(stamp(SDP, origin), /o=tandem 777 1 IN IP4 10\.0\.0\.2/);
  t.match(stamp(withDirection(SDP, 'sendrecv'), origin), /o=tandem 777 2 /, 'the version goes up with each SDP sent on the leg');
});

t.test('dispatch order: Request-URI, To, routing header, default DN, then 404 / 485 / 403', async (t) => {
  const plan = new DialPlan();
  const cfg: SipConfig = sipConfigFromJson({ routingHeader: 'X-Tandem-DN' });
  const trunk = { protocol: 'UDP' as const, address: '127.0.0.1', port: 5070 };
  const invite = (uri: string, to: string, extra = '') => parseMessage(`INVITE sip:${uri}@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:4155550100@h>;tag=1\r\nTo: <sip:${to}@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n${extra}\r\n`) as SipRequest;
  t.match(dispatchInvite(invite('8000', '8000'), trunk, plan, cfg), { ok: true, dn: '8000', by: 'request-uri', ani: '4155550100' });
  t.match(dispatchInvite(invite('+14155550199', '7001'), trunk, plan, cfg), { ok: true, dn: '7001', by: 'to' });
  t.match(dispatchInvite(invite('x', 'y', 'X-Tandem-DN: 8001\r\n'), trunk, plan, cfg), { ok: true, dn: '8001', by: 'routing-header' });
  t.match(dispatchInvite(invite('x', 'y'), trunk, plan, cfg), { ok: false, status: 404 });
  t.match(dispatchInvite(invite('x', 'y'), trunk, plan, { ...cfg, defaultRoutingDn: '8002' }), { ok: true, dn: '8002', by: 'default-routing-dn' });
  t.match(dispatchInvite(invite('8000', '8001'), trunk, plan, cfg), { ok: false, status: 485 });
  t.match(dispatchInvite(invite('8000', '8000'), { ...trunk, address: '192.0.2.1' }, plan, cfg), { ok: false, status: 403, reason: /not a trunk peer/ });
  t.match(dispatchInvite(invite('8000', '8000'), trunk, plan, { ...DEFAULT_SIP_CONFIG, trunkPeers: [{ name: 'p', host: '127.0.0.1', port: 5071 }] }), { ok: false, status: 403 }, 'a peer pinned to another port');
});

t.test('config: every bad value names its setting', async (t) => {
  t.throws(() => sipConfigFromJson({ port: 70_000 }), /switch\.sip\.port/);
  t.throws(() => sipConfigFromJson({ trunkPeers: [{ port: 1 }] }), /switch\.sip\.trunkPeers\.0\.host/);
  t.throws(() => sipConfigFromJson({ outboundTrunk: { protocol: 'SCTP' } }), /switch\.sip\.outboundTrunk\.protocol/);
  t.throws(() => sipConfigFromJson({ minExpires: 100, maxExpires: 10 }), /minExpires/);
  t.throws(() => sipConfigFromJson({ credentials: { 5001: 1 } }), /switch\.sip\.credentials\.5001/);
  t.same(sipConfigFromJson(undefined), DEFAULT_SIP_CONFIG);
});

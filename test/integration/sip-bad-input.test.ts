// Bad input at the SIP port of a real `tandem switch --sip` (issue 13 item 6): each request gets the
// SIP error that says why (400 malformed, 404 unknown DN, 405/501 methods, 403 not a trunk peer, 481
// no dialog, 485 ambiguous, 488 no offer, 480 phone not registered, 423 Interval Too Brief), never a
// crash and never a state change (the switch link's snapshot and event seq stay as they were). Then
// a seeded fuzz of mutated SIP over UDP and TCP (FUZZ_SEED replays a failure): the switch answers or
// drops every datagram, stays up, changes nothing, and logs the junk a bounded number of times.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { startSwitch, writeConfig } from '../helpers/tserver-fixture.js';
import { mutateBytes, Rng } from '../helpers/fuzz.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
const DATAGRAMS = 3_000;

interface Msg { method?: string; uri?: string; headers?: Record<string, string>; body?: string; start?: string }

function sipText(m: Msg, callId: string): string {
  const h: Record<string, string> = {
    Via: `SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${callId}`, From: '<sip:4155550100@127.0.0.1>;tag=f1', To: `<sip:${m.uri ?? '8000'}@127.0.0.1>`,
    'Call-ID': callId, CSeq: `1 ${m.method ?? 'INVITE'}`, 'Max-Forwards': '70', ...m.headers,
  };
  const body = m.body ?? '';
  const lines = [m.start ?? `${m.method ?? 'INVITE'} sip:${m.uri ?? '8000'}@127.0.0.1 SIP/2.0`, ...Object.entries(h).filter(([, v]) => v !== '').map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const SDP = 'v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

/** One UDP client: send text, resolve with the first final (or only) response's status line. */
async function udpClient(t: Tap.Test, target: number) {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => sock.close());
  const got: string[] = [];
  sock.on('message', (d) => got.push(d.toString()));
  return {
    sock, got,
    send: (text: string | Buffer) => sock.send(typeof text === 'string' ? Buffer.from(text) : text, target, '127.0.0.1'),
    /** The next response with a status >= 200 whose Call-ID is `callId`. */
    /**
     * The first final response with this Call-ID. With `resend`, the request is sent again every
     * 500 ms until it comes (what a UA does over UDP: a burst may overflow a socket buffer).
     */
    final(callId: string, timeoutMs = 3_000, resend?: () => void): Promise<string> {
      const find = () => got.find((m) => m.includes(`Call-ID: ${callId}\r\n`) && /^SIP\/2\.0 [2-6]\d\d/.test(m));
      return new Promise((resolve, reject) => {
        const done = (fn: () => void) => { clearTimeout(timer); clearInterval(again); sock.off('message', check); fn(); };
        const check = () => { const hit = find(); if (hit) done(() => resolve(hit.split('\r\n')[0]!)); };
        const timer = setTimeout(() => done(() => reject(new Error(`no final response for ${callId}; got:\n${got.slice(-3).join('\n---\n')}`))), timeoutMs);
        const again = setInterval(() => resend?.(), 500);
        sock.on('message', check);
        check();
      });
    },
  };
}

t.test('each kind of bad request gets the SIP error that says why; nothing changes', async (t) => {
  const config = writeConfig({ switch: { sip: { trunkPeers: [{ name: 'lab', host: '127.0.0.1', port: 0 }], minExpires: 30 } } });
  const sw = await startSwitch(t, ['--sip', '--sip-port', '0', '--config', config]);
  const line = await sw.proc.waitFor((l) => l.msg === 'ready');
  const sipPort = ((line.ports ?? {}) as { sip: number }).sip;
  const link = await connectLink({ address: sw.address, serverName: 'observer' });
  t.teardown(() => link.close());
  const before = await link.snapshot();
  const c = await udpClient(t, sipPort);

  const cases: Array<[string, Msg, RegExp]> = [
    ['unknown DN', { uri: '1234', body: SDP, headers: { 'Content-Type': 'application/sdp' } }, /^SIP\/2\.0 404 /],
    ['extension with no registered phone', { uri: '5001', body: SDP, headers: { 'Content-Type': 'application/sdp' } }, /^SIP\/2\.0 480 /],
    ['no SDP offer', { uri: '8000' }, /^SIP\/2\.0 488 /],
    ['Request-URI and To name two DNs', { uri: '8000', headers: { To: '<sip:8001@127.0.0.1>', 'Content-Type': 'application/sdp' }, body: SDP }, /^SIP\/2\.0 485 /],
    ['known method not taken', { method: 'SUBSCRIBE' }, /^SIP\/2\.0 405 /],
    ['unknown method', { method: 'FROBNICATE' }, /^SIP\/2\.0 501 /],
    ['BYE outside any dialog', { method: 'BYE' }, /^SIP\/2\.0 481 /],
    ['in-dialog request for no dialog', { method: 'INFO', headers: { To: '<sip:8000@127.0.0.1>;tag=nosuch' } }, /^SIP\/2\.0 481 /],
    ['CSeq method differs', { method: 'OPTIONS', headers: { CSeq: '1 INVITE' } }, /^SIP\/2\.0 400 /],
    ['bad Content-Length', { method: 'OPTIONS', headers: { 'Content-Length': 'x' } }, /^SIP\/2\.0 400 /],
    ['REGISTER for a DN not in the plan', { method: 'REGISTER', uri: '127.0.0.1', headers: { To: '<sip:1234@127.0.0.1>', Contact: '<sip:1234@127.0.0.1:9>' } }, /^SIP\/2\.0 404 /],
    ['REGISTER with too short an expiry', { method: 'REGISTER', uri: '127.0.0.1', headers: { To: '<sip:5001@127.0.0.1>', Contact: '<sip:5001@127.0.0.1:9>', Expires: '5' } }, /^SIP\/2\.0 423 /],
    ['unsupported URI scheme', { start: 'OPTIONS http://example.com/ SIP/2.0', method: 'OPTIONS' }, /^SIP\/2\.0 416 /],
    ['OPTIONS (keepalive) is fine', { method: 'OPTIONS' }, /^SIP\/2\.0 200 /],
  ];
  let n = 0;
  for (const [what, m, want] of cases) {
    const callId = `bad-${++n}`;
    let text = sipText(m, callId);
    if (m.headers?.['Content-Length']) text = text.replace(/Content-Length: \d+\r\n\r\n$/, '\r\n\r\n');
    c.send(text);
    t.match(await c.final(callId), want, what);
  }
  // Malformed beyond answering (no Via / no start line): dropped; the switch still answers the next one.
  c.send('garbage\r\n\r\n');
  c.send(sipText({ method: 'OPTIONS', headers: { Via: '' } }, 'no-via'));
  c.send(sipText({ method: 'OPTIONS' }, 'after-junk'));
  t.match(await c.final('after-junk'), /^SIP\/2\.0 200 /, 'still answering after undecodable input');

  // Not a trunk peer: a switch whose only trunk peer is another address answers 403.
  const strict = writeConfig({ switch: { sip: { trunkPeers: [{ name: 'carrier', host: '192.0.2.10', port: 0 }] } } });
  const sw2 = await startSwitch(t, ['--sip', '--sip-port', '0', '--config', strict]);
  const line2 = await sw2.proc.waitFor((l) => l.msg === 'ready');
  const c2 = await udpClient(t, ((line2.ports ?? {}) as { sip: number }).sip);
  c2.send(sipText({ uri: '8000', body: SDP, headers: { 'Content-Type': 'application/sdp' } }, 'stranger'));
  t.match(await c2.final('stranger'), /^SIP\/2\.0 403 /, 'INVITE from an address that is no trunk peer');

  const after = await link.snapshot();
  t.equal(Number(after.lastSeq), Number(before.lastSeq), 'no switch event was published');
  t.equal(after.calls.length, 0, 'no call was created');
  t.equal(sw.proc.child.exitCode, null, 'the switch is still running');
});

t.test(`fuzz the SIP port: ${DATAGRAMS} mutated messages over UDP and a TCP stream (seed ${SEED})`, async (t) => {
  const sw = await startSwitch(t, ['--sip', '--sip-port', '0']);
  const line = await sw.proc.waitFor((l) => l.msg === 'ready');
  const sipPort = ((line.ports ?? {}) as { sip: number }).sip;
  const link = await connectLink({ address: sw.address, serverName: 'observer' });
  t.teardown(() => link.close());
  const before = await link.snapshot();
  const rng = new Rng(SEED);
  const seeds = [
    sipText({ uri: '8000', body: SDP, headers: { 'Content-Type': 'application/sdp' } }, 'f'), sipText({ method: 'REGISTER', uri: '127.0.0.1', headers: { To: '<sip:5001@127.0.0.1>', Contact: '<sip:5001@127.0.0.1:9>', Expires: '0' } }, 'r'),
    sipText({ method: 'BYE', headers: { To: '<sip:8000@127.0.0.1>;tag=x' } }, 'b'), sipText({ method: 'CANCEL' }, 'c'), 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nCall-ID: r\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 INVITE\r\n\r\n',
  ];
  const c = await udpClient(t, sipPort);
  for (let i = 0; i < DATAGRAMS; i++) {
    const base = Buffer.from(rng.pick(seeds));
    // A mutant that is still a valid INVITE to a DN is a real call (from a loopback trunk peer): allowed.
    const m = mutateBytes(rng, base);
    c.send(m.length > 60_000 ? m.subarray(0, 60_000) : m);
    if (i % 200 === 199) await new Promise<void>((r) => setImmediate(r));
  }
  const tcp = connect(sipPort, '127.0.0.1');
  await new Promise<void>((r) => tcp.once('connect', () => r()));
  for (let i = 0; i < 300; i++) tcp.write(mutateBytes(rng, Buffer.from(rng.pick(seeds))));
  tcp.end();
  const ping = () => c.send(sipText({ method: 'OPTIONS' }, 'after-fuzz'));
  ping();
  t.match(await c.final('after-fuzz', 10_000, ping), /^SIP\/2\.0 200 /, 'the switch answers normally after the fuzz');
  t.equal(sw.proc.child.exitCode, null, 'no crash');
  const after = await link.snapshot();
  // A mutant may by chance still be a valid call (an INVITE to a DN): any call it made must be a real one, not a broken state.
  t.ok(after.calls.every((call) => call.parties.length >= 1 && call.callId), `the ${after.calls.length} calls valid mutants made are well-formed`);
  t.ok(Number(after.lastSeq) >= Number(before.lastSeq), 'the event log only grew through accepted calls');
  const junkLines = sw.proc.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('malformed SIP')).length;
  t.ok(junkLines <= 10, `junk logged a bounded number of times (${junkLines} lines for ${DATAGRAMS + 300} messages)`);
});

// Trunks, transports and registration details of the SIP switch with SIPp (issue 13 items 1-3):
// an outbound call to a number with the trunk prefix leaves as an INVITE to the trunk (prefix
// stripped) and is answered there; a caller who gives up while queued (CANCEL -> 487, EventAbandoned);
// phone and caller over TCP; a DN with digest credentials registers only with the right password.
import t from 'tap';
import { openClient, startSwitch, startTServer, writeConfig } from '../helpers/tserver-fixture.js';
import { runSipp, startPhone } from '../helpers/sipp.js';
import { freePorts } from '../helpers/free-port.js';

async function stack(t: Tap.Test, switchArgs: string[] = [], coreConfig: unknown = {}) {
  const sw = await startSwitch(t, ['--sip', '--sip-port', '0', ...switchArgs]);
  const line = await sw.proc.waitFor((l) => l.msg === 'ready');
  const sip = `127.0.0.1:${((line.ports ?? {}) as { sip: number }).sip}`;
  const ts = await startTServer(t, { switchAddress: sw.address, config: { core: coreConfig } });
  return { sw, ts, sip, line };
}

t.test('outbound: 5001 dials 94155550100, the INVITE leaves to the trunk without the prefix', async (t) => {
  const [farPort] = await freePorts(1) as [number];
  const { ts, sip, line } = await stack(t, ['--sip-trunk', `127.0.0.1:${farPort}`]);
  t.equal(line.outboundTrunk, `127.0.0.1:${farPort}`, 'the ready line names the outbound trunk');
  const far = await runSipp(t, { scenario: 'trunk-callee.xml', target: sip, port: farPort, keys: { number: '4155550100' } });
  const a = await openClient(t, ts.url, 'desk-5001');
  await a.request('RequestRegisterAddress', { thisDN: '5001' });
  const phone = await startPhone(t, sip, '5001');
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service');
  const dialing = await a.request('RequestMakeCall', { thisDN: '5001', otherDN: '94155550100' });
  t.match(dialing, { event: 'EventDialing', callType: 'Outbound', otherDN: '94155550100' });
  t.match(await a.waitFor((e) => e.event === 'EventNetworkReached', 5_000, 'EventNetworkReached'), { otherDN: '94155550100' });
  const est = await a.waitFor((e) => e.event === 'EventEstablished', 10_000, 'the far end answered');
  t.equal(est.connId, dialing.connId);
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: dialing.connId }), { event: 'EventReleased' });
  await Promise.all([far.done(), phone.done()]);
  t.pass('the trunk got INVITE sip:4155550100 (checked by its scenario), 200, ACK, BYE; the phone too');
});

t.test('a caller who gives up while queued: CANCEL -> 487, EventAbandoned at the queue', async (t) => {
  const { ts, sip } = await stack(t);
  const q = await openClient(t, ts.url, 'supervisor');
  await q.request('RequestRegisterAddress', { thisDN: '7000' });
  const caller = await runSipp(t, { scenario: 'trunk-caller-cancels.xml', target: sip, service: '7000', keys: { ani: '4155550102' } });
  t.match(await q.waitFor((e) => e.event === 'EventQueued', 10_000, 'EventQueued'), { thisDN: '7000', otherDN: '4155550102' });
  const gone = await q.waitFor((e) => e.event === 'EventAbandoned', 10_000, 'EventAbandoned');
  t.match(gone, { thisDN: '7000', callState: 'Abandoned' });
  await caller.done();
  t.pass('the caller got 200 to its CANCEL and 487 to its INVITE');
});

t.test('phone and caller over TCP', async (t) => {
  const { ts, sip } = await stack(t, [], { routePoints: { 8000: { defaultTarget: '5001', timeoutMs: 100 } } });
  const a = await openClient(t, ts.url, 'desk-5001');
  await a.request('RequestRegisterAddress', { thisDN: '5001' });
  const phone = await startPhone(t, sip, '5001', 'phone-answer.xml', { transport: 't1' });
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service (REGISTER over TCP)');
  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', transport: 't1', keys: { ani: '4155550103' } });
  const est = await a.waitFor((e) => e.event === 'EventEstablished', 10_000, 'answered');
  t.match(await a.request('RequestReleaseCall', { thisDN: '5001', connId: est.connId }), { event: 'EventReleased' });
  await Promise.all([caller.done(), phone.done()]);
  t.pass('INVITE, 200, ACK and BYE travelled over TCP both ways');
});

t.test('digest credentials: the right password registers, a wrong one does not', async (t) => {
  const config = writeConfig({ switch: { sip: { credentials: { 5001: 's3cret' } } } });
  const { ts, sip } = await stack(t, ['--config', config]);
  const a = await openClient(t, ts.url, 'desk-5001');
  await a.request('RequestRegisterAddress', { thisDN: '5001' });
  const [contact] = await freePorts(1) as [number];
  const wrong = await runSipp(t, { scenario: 'register-auth.xml', target: sip, keys: { dn: '5001', contact_port: contact }, auth: { user: '5001', password: 'guess' }, timeoutS: 5 });
  t.not(await wrong.exited, 0, 'a wrong password is challenged again (401), never 200');
  t.notOk(a.events.some((e) => e.event === 'EventDNBackInService'), 'and 5001 stays out of service');
  const right = await runSipp(t, { scenario: 'register-auth.xml', target: sip, keys: { dn: '5001', contact_port: contact }, auth: { user: '5001', password: 's3cret' } });
  await right.done();
  await a.waitFor((e) => e.event === 'EventDNBackInService', 5_000, '5001 in service after a digest REGISTER');
  t.pass('401 challenge, then 200 with the right credentials');
});

// `tandem pair --sip` as an operator runs it (issue 13's done-when): the supervisor starts the SIP
// switch and both T-Servers; a SIPp phone registers as 5001, the agent logs in on the primary, a SIPp
// trunk call to 8000 is routed to queue 7000, rings the phone, is answered and released, and the
// backup follows (in sync) all along. Every process is killed at teardown, even on failure.
import t from 'tap';
import { startPairProcess } from '../helpers/pair-process.js';
import { openClient, writeConfig } from '../helpers/tserver-fixture.js';
import { runSipp, startPhone } from '../helpers/sipp.js';

t.test('tandem pair --sip: register, login, trunk call 8000 -> 7000 -> 5001, answered, released', async (t) => {
  const config = writeConfig({ core: { routePoints: { 8000: { defaultTarget: '7000', timeoutMs: 200 } } } });
  const pair = await startPairProcess(t, ['--sip', '--sip-port', '0', '--config', config]);
  const { primary } = await pair.roles();
  const ready = await (async () => {
    for (const end = Date.now() + 10_000; Date.now() < end;) {
      const line = pair.logLines('switch').find((l) => l.msg === 'ready');
      if (line) return line;
      await new Promise((r) => setTimeout(r, 50)); // paces the log-file polls only
    }
    throw new Error(`no ready line in ${pair.logDir}/switch.log after 10 s`);
  })();
  t.equal(ready.callModel, 'sip', 'the pair runs the SIP switch');
  const sip = `127.0.0.1:${((ready.ports ?? {}) as { sip: number }).sip}`;
  const url = `ws://127.0.0.1:${primary === 'A' ? pair.ports.a : pair.ports.b}/tlib`;

  const agent = await openClient(t, url, 'agent-5001');
  await agent.request('RequestRegisterAddress', { thisDN: '5001' });
  const phone = await startPhone(t, sip, '5001');
  await agent.waitFor((e) => e.event === 'EventDNBackInService', 5_000, 'EventDNBackInService');
  await agent.request('RequestAgentLogin', { thisDN: '5001', agentId: 'ann', thisQueue: '7000', workMode: 'ManualIn' });
  await agent.request('RequestAgentReady', { thisDN: '5001' });

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const ringing = await agent.waitFor((e) => e.event === 'EventRinging', 15_000, 'EventRinging');
  t.match(ringing, { thisDN: '5001', ani: '4155550100', dnis: '8000', callType: 'Inbound' });
  await agent.waitFor((e) => e.event === 'EventEstablished', 10_000, 'EventEstablished');
  t.match(await agent.request('RequestReleaseCall', { thisDN: '5001', connId: ringing.connId }), { event: 'EventReleased' });
  await Promise.all([caller.done(), phone.done()]);
  t.pass('SIPp phone and trunk caller completed: INVITE, 200, ACK, BYE');
  await pair.roles();
  t.pass('primary and in-sync backup after the call');
});

// Issue 13's done-when as written: `tandem pair --sip`, a SIPp phone registered as 5001 (it takes
// remote answer: test/sip/phone-talk.xml), an agent logged in on 5001 from the web desktop in
// Chromium, a SIPp trunk call to route point 8000 → queue 7000 → rings the phone → answered from the
// desktop (NOTIFY Event: talk; Established only at the phone's 200) → released from the desktop (BYE
// to both ends), with the T-Library events of PROTOCOL.md. Every process is killed at teardown.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openClient } from '../helpers/tserver-fixture.js';
import { runSipp, startPhone } from '../helpers/sipp.js';
import { readyDesktop, ringingOnDesktop, startSipPair } from '../helpers/sip-desktop.js';
import { ROOT } from '../helpers/process.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'desktop-sipp');
const DN = '5001';

t.test('tandem pair --sip: SIPp phone 5001, web desktop logs in, trunk call 8000 -> 7000 -> 5001, answered and released from the desktop', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const { ready, sip, port, urls } = await startSipPair(t);
  t.equal(ready.callModel, 'sip', 'the pair runs the SIP switch');

  const watch = await openClient(t, `ws://127.0.0.1:${port}/tlib`, 'watch-5001');
  await watch.request('RequestRegisterAddress', { thisDN: DN });
  const phone = await startPhone(t, sip, DN, 'phone-talk.xml');
  await watch.waitFor((e) => e.event === 'EventDNBackInService' && e.thisDN === DN, 5_000, 'EventDNBackInService');

  const desk = await readyDesktop(t, { port, urls, client: 'e2e-sipp-desk', dn: DN, artifacts: ARTIFACTS });
  const { pageErrors, shot, agentState } = desk;

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const { ringing, row, rowState } = await ringingOnDesktop(t, watch, desk, DN, 15_000);

  // Answered from the desktop: the switch sends NOTIFY Event: talk, the phone answers the INVITE with 200.
  await row.locator('[data-testid="call-answer"]').click();
  await rowState('Established');
  await agentState('Busy');
  await shot('2-established');

  await row.locator('[data-testid="call-release"]').click();
  await row.waitFor({ state: 'detached' });
  await agentState('Ready');
  await Promise.all([caller.done(), phone.done()]);
  t.pass('the SIPp phone and trunk caller completed: INVITE, 180, NOTIFY talk, 200, ACK, BYE');
  const events = watch.events.filter((e) => e.connId === ringing.connId).map((e) => e.event);
  t.same(events, ['EventRinging', 'EventEstablished', 'EventReleased'], 'the T-Library events of the call on 5001');
  await shot('3-released');
  t.same(pageErrors, [], 'no page errors');
});

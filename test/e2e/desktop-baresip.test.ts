// A real softphone end to end (issue 13 item 8): `tandem pair --sip` with Debian's baresip registered
// as 5001 (headless: test/helpers/baresip.ts), the web desktop in Chromium logged in on 5001, and a
// SIPp trunk call to route point 8000 → queue 7000 → baresip rings (EventRinging on the desktop).
// baresip 1.0.0 does not take remote answer: its 180 has no `Allow-Events: talk` (its NOTIFY support is
// for its own REFER subscriptions), so the switch refuses the desktop's Answer with InvalidState and
// says to answer on the phone — the page shows that error. The call is answered on baresip (its
// ctrl_tcp `accept`): the desktop shows Established. Released from the desktop: BYE to both ends
// (baresip reports CALL_CLOSED, the SIPp caller's scenario, which waits for the BYE, completes).
// Every process (the pair's three children, baresip, SIPp, Chromium) is killed at teardown.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openClient } from '../helpers/tserver-fixture.js';
import { runSipp } from '../helpers/sipp.js';
import { startBaresip } from '../helpers/baresip.js';
import { readyDesktop, ringingOnDesktop, startSipPair } from '../helpers/sip-desktop.js';
import { ROOT } from '../helpers/process.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'desktop-baresip');
const DN = '5001';

t.test('baresip rings, the web desktop sees it, answered on baresip, released from the desktop', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const { sip, port, urls } = await startSipPair(t);

  // A T-Library observer on the DN: the events the desktop gets, asserted exactly below.
  const watch = await openClient(t, `ws://127.0.0.1:${port}/tlib`, 'watch-5001');
  await watch.request('RequestRegisterAddress', { thisDN: DN });

  // Its REGISTER goes out at start, before ctrl_tcp can be connected to: the switch's side says it came.
  const phone = await startBaresip(t, { registrar: sip, dn: DN });
  await watch.waitFor((e) => e.event === 'EventDNBackInService' && e.thisDN === DN, 5_000, 'EventDNBackInService');

  const desk = await readyDesktop(t, { port, urls, client: 'e2e-baresip-desk', dn: DN, artifacts: ARTIFACTS });
  const { page, pageErrors, shot, tid, agentState } = desk;

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const incoming = await phone.waitEvent((e) => e.type === 'CALL_INCOMING', 15_000, 'CALL_INCOMING (baresip rings)');
  t.match(incoming.peeruri, /^sip:4155550100@/, "baresip rings with the caller's number");
  const { ringing, row, rowState } = await ringingOnDesktop(t, watch, desk, DN, 10_000);

  // Answer from the desktop: baresip's 180 did not allow remote answer, so the switch refuses it and
  // the page says to answer on the phone; nothing changes (the phone still rings).
  await row.locator('[data-testid="call-answer"]').click();
  await page.waitForFunction(() => (document.querySelector('[data-testid="error"]')?.textContent ?? '') !== '');
  t.match(await tid('error').textContent(), /Allow-Events: talk.*answer on the phone/, 'the desktop shows why: answer on the phone');
  t.equal(await row.getAttribute('data-state'), 'Ringing', 'still ringing');
  t.notOk(phone.events.some((e) => e.type === 'CALL_CLOSED'), 'baresip still rings');
  await shot('2-answer-refused');

  // Answered on baresip: its 200 OK is the switch's ESTABLISHED, the desktop shows Established.
  t.match(await phone.command('accept'), { ok: true }, 'baresip accepted the call');
  await phone.waitEvent((e) => e.type === 'CALL_ESTABLISHED', 10_000, 'CALL_ESTABLISHED');
  await rowState('Established');
  await agentState('Busy');
  await shot('3-established');

  // Released from the desktop: BYE to baresip and to the trunk caller.
  await row.locator('[data-testid="call-release"]').click();
  await row.waitFor({ state: 'detached' });
  await agentState('Ready');
  const closed = await phone.waitEvent((e) => e.type === 'CALL_CLOSED', 10_000, 'CALL_CLOSED (BYE at baresip)');
  t.equal(closed.id, incoming.id, 'the call baresip answered was closed by the switch');
  await caller.done();
  t.pass('the SIPp trunk caller got its BYE and completed its scenario');
  const events = watch.events.filter((e) => e.connId === ringing.connId).map((e) => e.event);
  t.same(events, ['EventRinging', 'EventEstablished', 'EventReleased'], 'the T-Library events of the call on 5001');
  await shot('4-released');
  t.same(pageErrors, [], 'no page errors');
});

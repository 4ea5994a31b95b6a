// Issue 13's done-when as written: `tandem pair --sip`, a SIPp phone registered as 5001 (it takes
// remote answer: test/sip/phone-talk.xml), an agent logged in on 5001 from the web desktop in
// Chromium, a SIPp trunk call to route point 8000 → queue 7000 → rings the phone → answered from the
// desktop (NOTIFY Event: talk; Established only at the phone's 200) → released from the desktop (BYE
// to both ends), with the T-Library events of PROTOCOL.md. Every process is killed at teardown.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { launchChromium } from '../helpers/browser.js';
import { startPairProcess } from '../helpers/pair-process.js';
import { openClient, writeConfig } from '../helpers/tserver-fixture.js';
import { runSipp, startPhone } from '../helpers/sipp.js';
import { ROOT } from '../helpers/process.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'desktop-sipp');
const DN = '5001';

t.test('tandem pair --sip: SIPp phone 5001, web desktop logs in, trunk call 8000 -> 7000 -> 5001, answered and released from the desktop', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const config = writeConfig({ core: { routePoints: { 8000: { defaultTarget: '7000', timeoutMs: 200 } } } });
  const pair = await startPairProcess(t, ['--sip', '--sip-port', '0', '--config', config]);
  const { primary } = await pair.roles();
  let ready: Record<string, unknown> | undefined;
  for (const end = Date.now() + 10_000; !ready && Date.now() < end;) {
    ready = pair.logLines('switch').find((l) => l.msg === 'ready');
    if (!ready) await new Promise((r) => setTimeout(r, 50)); // paces the log-file polls only
  }
  t.equal(ready?.callModel, 'sip', 'the pair runs the SIP switch');
  const sip = `127.0.0.1:${((ready?.ports ?? {}) as { sip: number }).sip}`;
  const port = primary === 'A' ? pair.ports.a : pair.ports.b;
  const urls = [`ws://127.0.0.1:${pair.ports.a}/tlib`, `ws://127.0.0.1:${pair.ports.b}/tlib`];

  const watch = await openClient(t, `ws://127.0.0.1:${port}/tlib`, 'watch-5001');
  await watch.request('RequestRegisterAddress', { thisDN: DN });
  const phone = await startPhone(t, sip, DN, 'phone-talk.xml');
  await watch.waitFor((e) => e.event === 'EventDNBackInService' && e.thisDN === DN, 5_000, 'EventDNBackInService');

  const ctx = await launchChromium(t);
  const page = await ctx.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  await page.goto(`http://127.0.0.1:${port}/desktop/?servers=${urls.join(',')}&client=e2e-sipp-desk&dn=${DN}&agent=agent-ann&queue=7000`);
  await page.waitForSelector('body[data-ready="true"]');
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);
  const agentState = (prefix: string) => page.waitForFunction((p) => document.querySelector('[data-testid="agent-state"]')?.textContent?.startsWith(p), prefix);
  await tid('login-button').click();
  await agentState('NotReady');
  await tid('ready-button').click();
  await agentState('Ready');

  const caller = await runSipp(t, { scenario: 'trunk-caller.xml', target: sip, service: '8000', keys: { ani: '4155550100' } });
  const ringing = await watch.waitFor((e) => e.event === 'EventRinging' && e.thisDN === DN, 15_000, 'EventRinging');
  t.match(ringing, { ani: '4155550100', dnis: '8000', callType: 'Inbound' });
  const row = page.locator(`[data-testid="call-row"][data-connid="${ringing.connId}"]`);
  const rowState = (state: string) => page.waitForFunction(([c, s]) => document.querySelector(`[data-testid="call-row"][data-connid="${c}"]`)?.getAttribute('data-state') === s, [ringing.connId, state] as const);
  await rowState('Ringing');
  t.equal(await row.locator('[data-testid="call-ani"]').textContent(), '4155550100', 'the desktop shows the ringing call and its ANI');
  await shot('1-ringing');

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

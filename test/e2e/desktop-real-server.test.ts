// The web desktop in Chromium, served by a real T-Server at /desktop/ (servers found from the page's
// own origin), driving real calls: login, ready, an internal call from another desktop rings on the
// page, answer, hold, retrieve, attached data, release, not ready with a reason.
import t from 'tap';
import WebSocket from 'ws';
import { TandemClient } from '../../src/sdk/index.js';
import { launchChromium } from '../helpers/browser.js';
import { startStack } from '../helpers/tserver-fixture.js';

t.test('desktop page against a real T-Server', async (t) => {
  const { ts } = await startStack(t);
  const ctx = await launchChromium(t);
  const page = await ctx.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${ts.http}/desktop/?dn=5001&agent=agent-ann&queue=7000&client=e2e-ann`);
  await page.waitForSelector('body[data-ready="true"]');
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);
  const agentState = (prefix: string) => page.waitForFunction((p) => document.querySelector('[data-testid="agent-state"]')?.textContent?.startsWith(p), prefix);

  await page.waitForFunction((url) => document.querySelector('[data-testid="primary-server"]')?.getAttribute('data-url') === url, ts.url);
  t.equal(await tid('primary-server').textContent(), 'A');
  await tid('login-button').click();
  await agentState('NotReady');
  await tid('ready-button').click();
  await agentState('Ready');

  // Another desktop (the SDK in Node) calls the agent.
  const bob = new TandemClient({ servers: [ts.url], clientName: 'e2e-bob', WebSocket });
  t.teardown(() => bob.close());
  await bob.register('5002');
  const dialing = await bob.makeCall('5002', '5001', { account: '42' });
  const C = dialing.connId!;
  const row = page.locator(`[data-testid="call-row"][data-connid="${C}"]`);
  const rowState = (state: string) => page.waitForFunction(([c, s]) => document.querySelector(`[data-testid="call-row"][data-connid="${c}"]`)?.getAttribute('data-state') === s, [C, state] as const);
  await rowState('Ringing');
  t.equal(await row.locator('[data-testid="call-connid"]').textContent(), C);
  t.equal(await row.locator('[data-testid="call-other"]').textContent(), '5002');
  t.match(await row.locator('[data-testid="call-userdata"]').textContent(), 'account=42');

  await row.locator('[data-testid="call-answer"]').click();
  await rowState('Established');
  await row.locator('[data-testid="call-hold"]').click();
  await rowState('Held');
  await row.locator('[data-testid="call-retrieve"]').click();
  await rowState('Established');

  await tid('ud-key').fill('note');
  await tid('ud-value').fill('vip');
  await tid('ud-attach').click();
  await page.waitForFunction((c) => document.querySelector(`[data-testid="call-row"][data-connid="${c}"] [data-testid="call-userdata"]`)?.textContent?.includes('note=vip'), C);

  await row.locator('[data-testid="call-release"]').click();
  await row.waitFor({ state: 'detached' });

  await tid('notready-reason').fill('Lunch');
  await tid('notready-button').click();
  await agentState('NotReady');
  t.equal(await tid('error').textContent(), '');
  t.same(pageErrors, []);
});

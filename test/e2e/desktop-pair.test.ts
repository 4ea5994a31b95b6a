// The web desktop in Chromium against the real pair (switch + A + B), the page served by the primary
// at /desktop/?servers=A,B: log in, go Ready, an inbound call placed with `tandem call` rings, the
// agent answers; the primary is killed with -9; the page still shows the call established and the
// agent Busy, the failover banner came and went, the primary indicator moved to B, and releasing
// the call works on B. Screenshots go to test-artifacts/ (git-ignored).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { launchChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/free-port.js';
import { mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { ROOT, spawnTandem } from '../helpers/process.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'desktop-pair');
const DN = '5001';

t.test('desktop page through kill -9 of the primary (real pair)', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Real ports and peer URLs, as deployed: each server then allows the page served by its peer
  // (the peer's origin), so the page from A may open B.
  const [pa, pb] = [await freePort(), await freePort()];
  const pair = await startPair(t, {
    argsA: ['--port', String(pa), '--peer-url', `ws://127.0.0.1:${pb}/tlib`],
    argsB: ['--port', String(pb), '--peer-url', `ws://127.0.0.1:${pa}/tlib`],
  });
  const { a, b } = pair;
  const ctx = await launchChromium(t);
  const page = await ctx.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  await page.goto(`${a.http}/desktop/?servers=${a.url},${b.url}&client=e2e-pair-desk&dn=${DN}&agent=agent-ann&queue=7000`);
  await page.waitForSelector('body[data-ready="true"]');
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);
  const agentState = (prefix: string) => page.waitForFunction((p) => document.querySelector('[data-testid="agent-state"]')?.textContent?.startsWith(p), prefix);
  const primaryIs = (url: string) => page.waitForFunction((u) => document.querySelector('[data-testid="primary-server"]')?.getAttribute('data-url') === u, url);

  await primaryIs(a.url);
  t.equal(await tid('primary-server').textContent(), 'A', 'A is primary');
  await tid('login-button').click();
  await agentState('NotReady');
  await tid('ready-button').click();
  await agentState('Ready');

  // An external caller dials the agent's DN.
  const caller = spawnTandem(t, ['call', '--to', DN, '--from', '4155550100', '--switch', pair.sw.address], { name: 'tandem call' });
  t.equal(await caller.exited, 0, `tandem call exited 0 (${caller.text.join(' ')})`);
  const row = page.locator('[data-testid="call-row"]');
  await row.waitFor();
  const C = (await row.getAttribute('data-connid'))!;
  const rowState = (state: string) => page.waitForFunction(([c, s]) => document.querySelector(`[data-testid="call-row"][data-connid="${c}"]`)?.getAttribute('data-state') === s, [C, state] as const);
  await rowState('Ringing');
  t.equal(await row.locator('[data-testid="call-ani"]').textContent(), '4155550100', 'ANI shown');
  t.equal(await row.locator('[data-testid="call-dnis"]').textContent(), DN, 'DNIS shown');
  await row.locator('[data-testid="call-answer"]').click();
  await rowState('Established');
  await agentState('Busy');
  await shot('1-established-on-A');

  // Record every show/hide of the banner from now on (it may be up for less than a poll interval).
  await page.evaluate(() => {
    const banner = document.querySelector('[data-testid="failover-banner"]') as HTMLElement;
    const seen: string[] = [];
    (window as unknown as { bannerSeen: string[] }).bannerSeen = seen;
    new MutationObserver(() => seen.push(banner.hidden ? 'hidden' : 'shown')).observe(banner, { attributes: true, attributeFilter: ['hidden'] });
  });
  const fromB = mark(b);
  a.proc.kill('SIGKILL');
  await roleChanged(b, 'primary', fromB);
  await primaryIs(b.url).catch(async (err: Error) => {
    await shot('failed-primary-switch');
    const dump = await page.evaluate(() => ({
      servers: (window as unknown as { tandemDesktop: { client: { servers(): unknown } } }).tandemDesktop.client.servers(),
      log: Array.from(document.querySelectorAll('[data-testid="event-log"] li')).slice(0, 15).map((li) => li.textContent),
    }));
    throw new Error(`${err.message}; page: ${JSON.stringify(dump)}`);
  });
  await tid('failover-banner').waitFor({ state: 'hidden' });
  t.same(await page.evaluate(() => (window as unknown as { bannerSeen: string[] }).bannerSeen), ['shown', 'hidden'], 'the failover banner appeared, then cleared');
  t.equal(await tid('primary-server').textContent(), 'B', 'the primary indicator shows B');
  t.equal(await row.getAttribute('data-state'), 'Established', 'the call is still established');
  t.match(await tid('agent-state').textContent(), /^Busy/, 'the agent is still Busy');
  await shot('2-after-kill-on-B');

  await row.locator('[data-testid="call-release"]').click();
  await row.waitFor({ state: 'detached' });
  await agentState('Ready');
  await shot('3-released-on-B');
  t.equal(await tid('error').textContent(), '', 'no error shown');
  t.same(pageErrors, [], 'no page errors');
});

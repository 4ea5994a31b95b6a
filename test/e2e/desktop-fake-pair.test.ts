// The web desktop in Chromium against the fake T-Server pair: the page and the browser build of the
// SDK (app-level heartbeat) log in, go ready, show a ringing call with its data, show the failover
// banner while no primary is known, and keep working on the new primary with every event shown once.
import t from 'tap';
import { launchChromium, serveDesktop } from '../helpers/browser.js';
import { startFakePair } from '../helpers/fake-tserver.js';

const C = '00a1f3c4e5b60001';

t.test('desktop page through a failover (fake pair)', async (t) => {
  const pair = await startFakePair();
  t.teardown(pair.close);
  const base = await serveDesktop(t);
  const ctx = await launchChromium(t);
  const page = await ctx.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${base}?servers=${pair.urls.join(',')}&client=e2e-desk&dn=5001&agent=agent-1&queue=7000`);
  await page.waitForSelector('body[data-ready="true"]');
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);

  await page.waitForFunction((url) => document.querySelector('[data-testid="primary-server"]')?.getAttribute('data-url') === url, pair.a.url);
  t.equal(await tid('primary-server').textContent(), 'A');

  await tid('login-button').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="agent-state"]')?.textContent?.startsWith('NotReady'));
  await tid('ready-button').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="agent-state"]')?.textContent?.startsWith('Ready'));
  t.same(pair.a.received.filter((r) => r.request === 'RequestAgentLogin').map((r) => [r.thisDN, r.agentId, r.thisQueue]), [['5001', 'agent-1', '7000']]);

  pair.state.publish({ event: 'EventRinging', thisDN: '5001', connId: C, callType: 'Inbound', ani: '4155550100', dnis: '8000', userData: { account: '42' } });
  const row = page.locator(`[data-testid="call-row"][data-connid="${C}"]`);
  await row.waitFor();
  t.equal(await row.locator('[data-testid="call-state"]').textContent(), 'Ringing');
  t.equal(await row.locator('[data-testid="call-ani"]').textContent(), '4155550100');
  t.equal(await row.locator('[data-testid="call-dnis"]').textContent(), '8000');
  t.equal(await row.locator('[data-testid="call-userdata"]').textContent(), 'account=42');

  // Primary dies: banner up, an event journalled meanwhile, then B takes over.
  await pair.a.crash();
  await tid('failover-banner').waitFor({ state: 'visible' });
  pair.state.publish({ event: 'EventEstablished', thisDN: '5001', connId: C });
  pair.b.setRole('primary', 2);
  await tid('failover-banner').waitFor({ state: 'hidden' });
  await page.waitForFunction((url) => document.querySelector('[data-testid="primary-server"]')?.getAttribute('data-url') === url, pair.b.url);
  await page.waitForFunction((c) => document.querySelector(`[data-testid="call-row"][data-connid="${c}"]`)?.getAttribute('data-state') === 'Established', C);

  // Requests now go to B.
  await tid('notready-reason').fill('Break');
  await tid('notready-button').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="agent-state"]')?.textContent?.startsWith('NotReady'));
  t.match(pair.b.received.filter((r) => r.request === 'RequestAgentNotReady'), [{ thisDN: '5001', workMode: 'AuxWork', reasons: { ReasonCode: 'Break' } }]);

  // Every state event the page got: the journal for 5001, each once, in order.
  const seqs = await page.evaluate(() => {
    const log = Array.from(document.querySelectorAll('[data-testid="event-log"] li')).map((li) => li.textContent ?? '');
    return log.map((l) => /#(\d+) Event/.exec(l)?.[1]).filter(Boolean).map(Number).reverse();
  });
  t.same(seqs, pair.state.journal.filter((e) => e.thisDN === '5001').map((e) => e.seq));
  t.equal(await tid('error').textContent(), '');
  t.same(pageErrors, []);
});

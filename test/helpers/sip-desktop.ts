// Shared by the web-desktop SIP tests (desktop-sipp, desktop-baresip): `tandem pair --sip` with the
// switch's SIP port read from its ready line, and the web desktop in Chromium logged in and Ready on
// a DN. Every process is killed at teardown (startPairProcess, launchChromium).
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { startPairProcess } from './pair-process.js';
import { writeConfig, type TestClient } from './tserver-fixture.js';

type Teardown = Parameters<typeof startPairProcess>[0];

/** The pair with the SIP switch; route point 8000 falls back to queue 7000 after 200 ms. */
export async function startSipPair(t: Teardown) {
  const config = writeConfig({ core: { routePoints: { 8000: { defaultTarget: '7000', timeoutMs: 200 } } } });
  const pair = await startPairProcess(t, ['--sip', '--sip-port', '0', '--config', config]);
  const { primary } = await pair.roles();
  let ready: Record<string, unknown> | undefined;
  for (const end = Date.now() + 10_000; !ready && Date.now() < end;) {
    ready = pair.logLines('switch').find((l) => l.msg === 'ready');
    if (!ready) await new Promise((r) => setTimeout(r, 50)); // paces the log-file polls only
  }
  if (!ready) throw new Error(`no ready line in ${pair.logDir}/switch.log after 10 s`);
  const sip = `127.0.0.1:${((ready.ports ?? {}) as { sip: number }).sip}`;
  const port = primary === 'A' ? pair.ports.a : pair.ports.b;
  const urls = [`ws://127.0.0.1:${pair.ports.a}/tlib`, `ws://127.0.0.1:${pair.ports.b}/tlib`];
  return { pair, ready, sip, port, urls };
}

/** The web desktop of `dn` (agent agent-ann, queue 7000) on the primary's port, logged in and Ready. */
export async function readyDesktop(t: Teardown, o: { port: number; urls: string[]; client: string; dn: string; artifacts: string }) {
  const ctx = await launchChromium(t);
  const page: Page = await ctx.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const shot = (name: string) => page.screenshot({ path: join(o.artifacts, `${name}.png`), fullPage: true });
  await page.goto(`http://127.0.0.1:${o.port}/desktop/?servers=${o.urls.join(',')}&client=${o.client}&dn=${o.dn}&agent=agent-ann&queue=7000`);
  await page.waitForSelector('body[data-ready="true"]');
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`);
  const agentState = (prefix: string) => page.waitForFunction((p) => document.querySelector('[data-testid="agent-state"]')?.textContent?.startsWith(p), prefix);
  await tid('login-button').click();
  await agentState('NotReady');
  await tid('ready-button').click();
  await agentState('Ready');
  /** The call row of `connId` and a wait for its state. */
  const callRow = (connId: string) => ({
    row: page.locator(`[data-testid="call-row"][data-connid="${connId}"]`),
    state: (state: string) => page.waitForFunction(([c, s]) => document.querySelector(`[data-testid="call-row"][data-connid="${c}"]`)?.getAttribute('data-state') === s, [connId, state] as const),
  });
  return { page, pageErrors, shot, tid, agentState, callRow };
}

/** What ringingOnDesktop asserts with: the tap test's own methods. */
interface Asserts {
  match(found: unknown, wanted: unknown, message?: string): boolean;
  equal(found: unknown, wanted: unknown, message?: string): boolean;
}

/**
 * The trunk call from 4155550100 to route point 8000 ringing at `dn`: its EventRinging (seen by
 * `watch`), and its row on the desktop in state Ringing with the ANI; screenshot 1-ringing.
 */
export async function ringingOnDesktop(t: Asserts, watch: TestClient, desk: Awaited<ReturnType<typeof readyDesktop>>, dn: string, timeoutMs: number) {
  const ringing = await watch.waitFor((e) => e.event === 'EventRinging' && e.thisDN === dn, timeoutMs, 'EventRinging');
  t.match(ringing, { ani: '4155550100', dnis: '8000', callType: 'Inbound' });
  const { row, state: rowState } = desk.callRow(String(ringing.connId));
  await rowState('Ringing');
  t.equal(await row.locator('[data-testid="call-ani"]').textContent(), '4155550100', 'the desktop shows the ringing call and its ANI');
  await desk.shot('1-ringing');
  return { ringing, row, rowState };
}

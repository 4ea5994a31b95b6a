// Debian's Chromium driven by playwright-core (no browser download), with a fresh profile per test,
// and a tiny static server for dist/desktop/ when no T-Server serves it. Everything is closed at
// teardown, even when the test fails.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ROOT } from './process.js';

export const CHROMIUM = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';
export const DESKTOP_DIR = join(ROOT, 'dist', 'desktop');

interface Teardown { teardown(fn: () => unknown): void }

export async function launchChromium(t: Teardown): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (root), or set TANDEM_CHROMIUM`);
  const profile = mkdtempSync(join(tmpdir(), 'tandem-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await ctx.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  });
  return ctx;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.json': 'application/json' };

/** Serves dist/desktop/ at /desktop/ on 127.0.0.1 port 0; returns the base URL. */
export async function serveDesktop(t: Teardown): Promise<string> {
  if (!existsSync(join(DESKTOP_DIR, 'index.html'))) throw new Error('dist/desktop is missing: run npm run build first');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const rel = path.replace(/^\/desktop\/?/, '') || 'index.html';
    const file = normalize(join(DESKTOP_DIR, rel));
    if (!file.startsWith(DESKTOP_DIR + sep)) { res.writeHead(404).end(); return; }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/desktop/`;
}

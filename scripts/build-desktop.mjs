#!/usr/bin/env node
// Builds the web desktop for the browser into dist/desktop/ (served by each T-Server at /desktop/):
//   dist/desktop/index.html, desktop.css   copied from src/desktop/
//   dist/desktop/js/desktop/*.js           the page, compiled by tsc (src/desktop/tsconfig.json)
//   dist/desktop/js/client/*.js, js/protocol/messages.js   the browser-safe SDK core it imports
// Plain ES modules with relative .js imports: no bundler needed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScriptArgs } from './lib/cli-args.mjs';

parseScriptArgs('build-desktop', 'usage: node scripts/build-desktop.mjs   (takes no options; npm run build:desktop)\n  builds the web desktop into dist/desktop/');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'desktop');
const out = join(root, 'dist', 'desktop');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// The main (Node) build also emits src/desktop/*.ts as dist/desktop/*.js; those import paths do not
// resolve in the browser, so drop them and keep only the browser build under js/.
rmSync(join(out, 'js'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (/\.(js|js\.map|d\.ts)$/.test(f)) rmSync(join(out, f));

try {
  execFileSync(process.execPath, [tsc, '-p', join(src, 'tsconfig.json')], { stdio: 'inherit' });
} catch {
  console.error('build-desktop: tsc reported errors in the web desktop or the SDK core (above); fix them, then npm run build');
  process.exit(1);
}
for (const f of readdirSync(src)) if (/\.(html|css|svg|ico)$/.test(f)) copyFileSync(join(src, f), join(out, f));
console.log(`build-desktop: web desktop built in ${out}`);

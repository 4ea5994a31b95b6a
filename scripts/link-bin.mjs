#!/usr/bin/env node
// Makes `npx tandem …` work in this checkout, as the README writes it (run by `npm ci` through
// "prepare", and by `npm run build`). npm links the bins of a project's dependencies into
// node_modules/.bin, never the project's own, so `npx tandem` found nothing ("sh: 1: tandem: not
// found"). This writes node_modules/.bin/tandem: a small shell script that runs dist/cli/tandem.js,
// or says to build first. Idempotent; touches nothing outside node_modules/.bin.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScriptArgs } from './lib/cli-args.mjs';

parseScriptArgs('link-bin', 'usage: node scripts/link-bin.mjs   (takes no options; run by npm ci and npm run build)\n  writes node_modules/.bin/tandem so that `npx tandem …` works in this checkout');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nodeModules = join(root, 'node_modules');
if (!existsSync(nodeModules)) {
  // Not an installed checkout (e.g. packed from git for another project): nothing to link into.
  process.exit(0);
}
const binDir = join(nodeModules, '.bin');
const target = join(binDir, 'tandem');
const script = `#!/bin/sh
# Written by scripts/link-bin.mjs (npm ci, npm run build): \`npx tandem …\` in this checkout.
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ ! -f "$root/dist/cli/tandem.js" ]; then
  echo "tandem: not built yet: run npm run build (or npm start) in $root first" >&2
  exit 1
fi
exec node "$root/dist/cli/tandem.js" "$@"
`;
mkdirSync(binDir, { recursive: true });
if (!existsSync(target) || readFileSync(target, 'utf8') !== script) writeFileSync(target, script);
chmodSync(target, 0o755);

// Each file gets its own protobufjs root (-r): two generated modules sharing the default root would
// replace each other's top-level package object.
// Generates typed ESM protobuf code from proto/*.proto into src/gen (types + code, for tests run
// from src) and copies the code into dist/gen (for the built servers). Never edit src/gen by hand.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, existsSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScriptArgs } from './lib/cli-args.mjs';

parseScriptArgs('gen-proto', 'usage: node scripts/gen-proto.mjs   (takes no options; npm run gen)\n  generates src/gen and dist/gen from proto/*.proto');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pbjs = join(root, 'node_modules', 'protobufjs-cli', 'bin', 'pbjs');
const protoDir = join(root, 'proto');
const genDir = join(root, 'src', 'gen');
const distGen = join(root, 'dist', 'gen');
mkdirSync(genDir, { recursive: true });
mkdirSync(distGen, { recursive: true });
for (const file of readdirSync(protoDir).filter((f) => f.endsWith('.proto'))) {
  const name = file.replace(/\.proto$/, '');
  const out = join(genDir, `${name}.js`);
  const src = join(protoDir, file);
  const fresh = existsSync(out) && existsSync(join(genDir, `${name}.d.ts`)) && statSync(out).mtimeMs >= statSync(src).mtimeMs;
  if (!fresh) {
    execFileSync(process.execPath, [pbjs, '-t', 'static-module', '-w', 'esm', '--no-beautify', '--no-verify', '--no-convert', '-d', '-r', name, '-p', protoDir, '-o', out, src], { stdio: 'inherit' });
    // uint64 decodes to number at run time (src/common/proto-runtime.ts); make the types say so.
    const dts = join(genDir, `${name}.d.ts`);
    writeFileSync(dts, readFileSync(dts, 'utf8').replace(/\(number\|Long\|null\)/g, '(number|null)').replace(/\(number\|Long\)/g, 'number'));
  }
  copyFileSync(out, join(distGen, `${name}.js`));
}

// Each file gets its own protobufjs root (-r): two generated modules sharing the default root would
// replace each other's top-level package object.
// Generates typed ESM protobuf code from proto/*.proto into src/gen (types + code, for tests run
// from src) and copies the code into dist/gen (for the built servers). Never edit src/gen by hand.
// Two corrections to pbts's types, both saying what decoding really produces: uint64 is a number
// (src/wire/proto-runtime.ts), and a decoded message's submessages are decoded messages (class
// instances with every default set), not the all-optional $Properties a sender writes. So the
// fields of a generated class name classes; $Properties interfaces and method parameters keep
// $Properties. Nothing in src builds messages with `new` or `create()` (plain objects are encoded).
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
  const newest = Math.max(statSync(src).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  const fresh = existsSync(out) && existsSync(join(genDir, `${name}.d.ts`)) && statSync(out).mtimeMs >= newest;
  if (!fresh) {
    execFileSync(process.execPath, [pbjs, '-t', 'static-module', '-w', 'esm', '--no-beautify', '--no-verify', '--no-convert', '-d', '-r', name, '-p', protoDir, '-o', out, src], { stdio: 'inherit' });
    // uint64 decodes to number at run time (src/wire/proto-runtime.ts); make the types say so.
    const dts = join(genDir, `${name}.d.ts`);
    const types = readFileSync(dts, 'utf8').replace(/\(number\|Long\|null\)/g, '(number|null)').replace(/\(number\|Long\)/g, 'number');
    writeFileSync(dts, decodedFieldTypes(types));
  }
  copyFileSync(out, join(distGen, `${name}.js`));
}

/**
 * In the body of each generated class (not its $Properties interface, not its methods), a field of a
 * message type names the decoded class: `welcome?: (ns.Welcome.$Properties|null)` becomes
 * `welcome?: (ns.Welcome|null)`, `events: ns.SwitchEvent.$Properties[]` becomes `events: ns.SwitchEvent[]`.
 */
function decodedFieldTypes(text) {
  let classIndent = null;
  return text.split('\n').map((line) => {
    const open = /^(\s*)class \w+/.exec(line);
    if (open) { classIndent = open[1]; return line; }
    if (classIndent !== null && line === `${classIndent}}`) { classIndent = null; return line; }
    if (classIndent === null || !/^\s+[A-Za-z_$][\w$]*\??: /.test(line)) return line;
    return line.replace(/([\w.]+)\.\$Properties/g, '$1');
  }).join('\n');
}

#!/usr/bin/env node
// Writes the JSON Schema documents of the desktop protocol and of the T-Server's config file into
// docs/schemas/ from the built code (`npm run schemas` builds first). The schemas are the TypeBox
// schemas the code validates with (src/protocol/json-schema.ts, src/processes/tserver/config-schema.ts);
// test/unit/protocol-json-schema.test.ts fails when the committed files differ from these.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScriptArgs } from './lib/cli-args.mjs';

parseScriptArgs('emit-schemas', 'usage: node scripts/emit-schemas.mjs   (takes no options; npm run schemas)\n  writes docs/schemas/*.schema.json from the built code (dist/)');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let documents;
try {
  const { protocolSchemaDocuments } = await import('../dist/protocol/json-schema.js');
  const { configSchemaDocument } = await import('../dist/processes/tserver/config-schema.js');
  documents = [...protocolSchemaDocuments(), configSchemaDocument()];
} catch (err) {
  console.error(`emit-schemas: cannot load the built code (${err.message}): run npm run build first (npm run schemas does)`);
  process.exit(1);
}
const out = join(root, 'docs', 'schemas');
mkdirSync(out, { recursive: true });
for (const { file, document } of documents) {
  writeFileSync(join(out, file), `${JSON.stringify(document, null, 2)}\n`);
  console.log(`emit-schemas: docs/schemas/${file}`);
}

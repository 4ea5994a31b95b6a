// The JSON Schema documents published in docs/schemas/, built from the very TypeBox schemas the
// code validates with (a TypeBox schema is JSON Schema). `npm run schemas` writes them;
// test/unit/protocol-json-schema.test.ts fails when the committed files differ from what the code
// emits, so the docs cannot drift from the code.
import type { TSchema } from '@sinclair/typebox';
import { EVENTS } from './events.js';
import { REQUESTS } from './requests.js';

const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** Our validator hints (`expect`, `errorCode`: attributes.ts) are not JSON Schema keywords. */
const HINTS = new Set(['expect', 'errorCode']);

/** A plain JSON copy of a schema: without TypeBox's symbol keys, our hints and per-definition $id. */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => (HINTS.has(key) && typeof value === 'string') || key === '$id' ? undefined : value));
}

export interface SchemaDocument {
  /** File name under docs/schemas/. */
  file: string;
  document: Record<string, unknown>;
}

/** A union of messages: `oneOf` references to one definition per message. */
export function unionDocument(file: string, title: string, description: string, defs: Record<string, TSchema>): SchemaDocument {
  return {
    file,
    document: {
      $schema: DIALECT,
      title,
      description,
      oneOf: Object.keys(defs).map((name) => ({ $ref: `#/$defs/${name}` })),
      $defs: Object.fromEntries(Object.entries(defs).map(([name, s]) => [name, plain(s)])),
    },
  };
}

/** One schema as a document of its own. */
export function singleDocument(file: string, title: string, schema: TSchema): SchemaDocument {
  return { file, document: { $schema: DIALECT, title, ...(plain(schema) as Record<string, unknown>) } };
}

export function protocolSchemaDocuments(): SchemaDocument[] {
  return [
    unionDocument('requests.schema.json', 'Tandem desktop requests',
      'Client -> server over /tlib: one JSON object per text frame, discriminated by "request". Attributes not listed are ignored; an attribute set to null counts as absent. Contract: docs/protocol.md.',
      REQUESTS),
    unionDocument('events.schema.json', 'Tandem desktop events',
      'Server -> client over /tlib: one JSON object per text frame, discriminated by "event". State events carry seq; the requester\'s copy of a direct answer carries referenceId. Contract: docs/protocol.md.',
      EVENTS),
  ];
}

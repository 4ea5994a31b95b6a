// The JSON Schema in docs/schemas/ is what the code validates with: a schema changed in the code
// without `npm run schemas` fails here, naming the file to regenerate.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { protocolSchemaDocuments } from '../../src/protocol/json-schema.js';
import { configSchemaDocument } from '../../src/processes/tserver/config-schema.js';
import { EVENTS, EVENT_NAMES, REQUEST_NAMES } from '../../src/protocol/messages.js';

const documents = [...protocolSchemaDocuments(), configSchemaDocument()];

t.test('docs/schemas/*.schema.json equal what the code emits', async (t) => {
  t.same(documents.map((d) => d.file).sort(), ['config.schema.json', 'events.schema.json', 'requests.schema.json']);
  for (const { file, document } of documents) {
    const committed = JSON.parse(readFileSync(new URL(`../../docs/schemas/${file}`, import.meta.url), 'utf8')) as unknown;
    t.same(committed, document, `docs/schemas/${file} is stale: run npm run schemas and commit it`);
  }
});

t.test('the documents name every request and event, without our validator hints', async (t) => {
  const [requests, events] = protocolSchemaDocuments().map((d) => d.document as { oneOf: { $ref: string }[]; $defs: Record<string, unknown> });
  t.same(requests!.oneOf.map((r) => r.$ref.split('/').pop()), REQUEST_NAMES);
  t.same(events!.oneOf.map((r) => r.$ref.split('/').pop()), EVENT_NAMES);
  const text = JSON.stringify(documents.map((d) => d.document));
  t.notMatch(text, /"expect":/, 'no "expect" keyword');
  t.notMatch(text, /"errorCode":"Invalid/, 'no "errorCode" hint');
  t.match(JSON.stringify(events!.$defs.EventError), /"errorCode":\{/, 'EventError keeps its errorCode property');
});

t.test('an event as the server sends it passes its schema; a wrong one does not', async (t) => {
  const error = TypeCompiler.Compile(EVENTS.EventError);
  t.ok(error.Check({ event: 'EventError', referenceId: 3, errorCode: 'InvalidDN', errorMessage: 'x', time: '2026-01-01T00:00:00.000Z' }));
  t.notOk(error.Check({ event: 'EventError', errorCode: 'NoSuchCode', errorMessage: 'x' }));
  const ringing = TypeCompiler.Compile(EVENTS.EventRinging);
  t.ok(ringing.Check({ event: 'EventRinging', seq: 9, thisDN: '5001', connId: '00a1f3c4e5b60001', callType: 'Inbound', userData: {} }));
  t.notOk(ringing.Check({ event: 'EventRinging', seq: 9, thisDN: '5001', connId: 'C1', callType: 'Inbound', userData: {} }), 'a ConnID is 16 hex digits');
});

t.test('the test client refuses an event with an attribute its schema does not list', async (t) => {
  const { schemaProblem } = await import('../helpers/ws-client.js');
  const ringing = { event: 'EventRinging', seq: 9, thisDN: '5001', connId: '00a1f3c4e5b60001', callType: 'Inbound', userData: {} };
  t.equal(schemaProblem(ringing), undefined);
  t.match(schemaProblem({ ...ringing, ringTone: 'loud' }), /EventRinging: .*ringTone/);
  t.match(schemaProblem({ event: 'EventFly' }), /unknown event "EventFly"/);
});

// Checks a config section against its TypeBox schema and words the first problem
// the way an operator needs it: the dotted setting, what it must be, what it was
// ("tserver.maxFrameBytes must be a non-negative integer, got -1"; "tserver.overload.loopDelay is not
// a setting: use one of enabled, sampleMs, …"). The wording comes from the schema itself (its kind,
// bounds, literals, or an `expect` option), so a rule and its message cannot drift. Every process
// reads its sections through this (T-Server: processes/tserver/config-schema.ts; switch and SIP:
// processes/switch/config.ts; security: auth/security-config.ts).
import { readFileSync } from 'node:fs';
import { Type, type Static, type TLiteral, type TOptional, type TSchema, type TUnion } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';

/** A setting with a bad value: stops the process at start with this message (exit 1). */
export class ConfigError extends Error {
  readonly code = 'BadConfig';
}

/**
 * The parsed JSON object of a config file, or ConfigError saying why not. Its sections are then
 * checked by their readers with checkSettings.
 */
export function readJsonConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON (${(err as Error).message}): fix it or start without --config`);
  }
}

// Building blocks of the section schemas, so every section words its settings alike. Every key is
// optional (a missing key takes the default of the code that uses it); objects are closed, so a
// misspelt key stops the start instead of being ignored.
export const closed = { additionalProperties: false } as const;
export const uint = (description: string, minimum = 0) => Type.Optional(Type.Integer({ minimum, description }));
export const text = (description: string) => Type.Optional(Type.String({ description }));
export const nonEmpty = (description: string) => Type.String({ minLength: 1, description });
export const flag = (description: string) => Type.Optional(Type.Boolean({ description }));
export const port = (description: string) => Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description }));
export const names = <const N extends readonly string[]>(values: N, description: string): TOptional<TUnion<TLiteral<N[number]>[]>> =>
  Type.Optional(Type.Union(values.map((v) => Type.Literal(v)), { description }));

type Schema = TSchema & {
  expect?: string; type?: string; minimum?: number; maximum?: number; minLength?: number; const?: unknown;
  anyOf?: Schema[]; properties?: Record<string, Schema>; patternProperties?: Record<string, Schema>; items?: Schema;
};

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** The value, typed by its schema; throws ConfigError naming the setting (`where` is its dotted path). */
export function checkSettings<T extends TSchema>(schema: T, value: unknown, where: string): Static<T> {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)));
  if (check.Check(value)) return value as Static<T>;
  const first = check.Errors(value).First()!;
  const keys = first.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const setting = [where, ...keys].filter(Boolean).join('.');
  if (first.type === ValueErrorType.ObjectAdditionalProperties) {
    const parent = schemaAt(schema as Schema, keys.slice(0, -1));
    const known = Object.keys(parent?.properties ?? {});
    throw new ConfigError(`${setting} is not a setting: use one of ${known.join(', ')} (docs/config.md)`);
  }
  const at = schemaAt(schema as Schema, keys);
  if (first.type === ValueErrorType.ObjectRequiredProperty) throw new ConfigError(`${setting} is required: ${at ? expectation(at) : 'a value'}`);
  throw new ConfigError(`${setting} must be ${at ? expectation(at) : 'valid'}, got ${JSON.stringify(first.value)}`);
}

/** The schema that governs the value at `keys` (through objects, records and arrays). */
function schemaAt(root: Schema, keys: string[]): Schema | undefined {
  let s: Schema | undefined = root;
  for (const k of keys) {
    if (!s) return undefined;
    if (s.properties?.[k]) s = s.properties[k];
    else if (s.patternProperties) s = Object.values(s.patternProperties)[0];
    else if (s.items) s = s.items;
    else return s; // inside a union: the union's own wording
  }
  return s;
}

/** What a value of this schema must be, in words. */
export function expectation(s: Schema): string {
  if (s.expect) return s.expect;
  if (s.anyOf) {
    const literals = s.anyOf.map((a) => a.const);
    if (literals.every((l) => l !== undefined)) return `one of ${literals.map((l) => JSON.stringify(l)).join(', ')}`;
    return s.anyOf.map(expectation).join(', or ');
  }
  switch (s.type) {
    case 'integer':
    case 'number': {
      const what = s.type === 'integer' ? 'an integer' : 'a number';
      if (s.minimum !== undefined && s.maximum !== undefined) return `${what} ${s.minimum}..${s.maximum}`;
      if (s.minimum === 0) return `a non-negative ${what.replace(/^an? /, '')}`;
      if (s.minimum !== undefined) return `${what} >= ${s.minimum}`;
      return what;
    }
    case 'boolean': return 'true or false';
    case 'string': return s.minLength ? 'a non-empty string' : 'a string';
    case 'array': return s.items ? `an array of ${plural(expectation(s.items))}` : 'an array';
    case 'object': return 'an object';
    default: return 'valid';
  }
}

function plural(one: string): string {
  return one.replace(/^an? /, '').replace(/^(non-empty )?string$/, '$1strings');
}

// Checks a config section against its TypeBox schema (config-schema.ts) and words the first problem
// the way an operator needs it: the dotted setting, what it must be, what it was
// ("tserver.maxFrameBytes must be a non-negative integer, got -1"; "tserver.overload.loopDelay is not
// a setting: use one of enabled, sampleMs, …"). The wording comes from the schema itself (its kind,
// bounds, literals, or an `expect` option), so a rule and its message cannot drift.
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';

/** A setting with a bad value: stops the process at start with this message (exit 1). */
export class ConfigError extends Error {
  readonly code = 'BadConfig';
}

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
      const what = s.type === 'integer' ? 'integer' : 'number';
      if (s.minimum !== undefined && s.maximum !== undefined) return `an ${what} ${s.minimum}..${s.maximum}`;
      if (s.minimum === 0) return `a non-negative ${what}`;
      if (s.minimum !== undefined) return `an ${what} >= ${s.minimum}`;
      return `a ${what}`;
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

// Edge validation: raw WebSocket frame text -> a typed Request, or a typed protocol error.
// Nothing past this point ever sees an unchecked shape. The rules are the request schemas
// (requests.ts), compiled once; the wording of an error comes from the attribute's schema (`expect`,
// `errorCode`: attributes.ts), so a rule and its message cannot drift apart.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { EdgeHints } from './attributes.js';
import type { ErrorCode } from './attributes.js';
import { REQUESTS, isRequestName, type Request, type RequestName } from './requests.js';

export type Parsed =
  | { ok: true; request: Request }
  | { ok: false; code: ErrorCode; message: string; referenceId?: number };

const CHECKS = Object.fromEntries(
  Object.entries(REQUESTS).map(([name, schema]) => [name, TypeCompiler.Compile(schema)]),
) as { [N in RequestName]: TypeCheck<(typeof REQUESTS)[N]> };

export function parseRequest(text: string, maxBytes: number): Parsed {
  if (text.length > maxBytes) {
    return { ok: false, code: 'BadRequest', message: `frame is ${text.length} bytes, over the limit of ${maxBytes}: send smaller messages (userData is the usual culprit)` };
  }
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { ok: false, code: 'BadRequest', message: 'frame is not valid JSON: send one JSON object per text frame' };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    return { ok: false, code: 'BadRequest', message: 'frame must be a JSON object with "request" and "referenceId"' };
  }
  const m = msg as Record<string, unknown>;
  const ref = m.referenceId;
  const referenceId = Number.isSafeInteger(ref) && (ref as number) > 0 ? (ref as number) : undefined;
  if (typeof m.request !== 'string') {
    return { ok: false, code: 'BadRequest', message: 'missing "request": name the request, e.g. "RequestAgentReady"', referenceId };
  }
  if (referenceId === undefined) {
    return { ok: false, code: 'BadRequest', message: '"referenceId" must be a positive integer, unique per client name' };
  }
  if (!isRequestName(m.request)) {
    return { ok: false, code: 'UnknownRequest', message: `unknown request "${m.request.slice(0, 64)}": see docs/protocol.md for the supported requests`, referenceId };
  }
  const name = m.request;
  const candidate = withoutNulls(m);
  const check = CHECKS[name];
  if (check.Check(candidate)) return { ok: true, request: candidate as Request };
  return { ok: false, ...explain(name, candidate, check), referenceId };
}

/** An attribute set to null counts as absent (desktops written against other T-Servers send them). */
function withoutNulls(m: Record<string, unknown>): Record<string, unknown> {
  for (const k in m) {
    if (m[k] === null) return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== null));
  }
  return m;
}

/** The first rule the request breaks, in the attribute's own words. */
function explain(name: RequestName, m: Record<string, unknown>, check: TypeCheck<TSchema>): { code: ErrorCode; message: string } {
  const first = check.Errors(m).First();
  const attr = first?.path.split('/')[1] ?? '';
  if (m[attr] === undefined) return { code: 'BadRequest', message: `${name} needs "${attr}"` };
  const schema = (REQUESTS[name].properties as Record<string, TSchema & EdgeHints>)[attr];
  const expect = schema?.expect ?? first?.message ?? 'valid';
  return { code: schema?.errorCode ?? 'BadRequest', message: `${name}: "${attr}" must be ${expect}` };
}

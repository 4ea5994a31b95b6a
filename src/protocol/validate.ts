// Edge validation: raw WebSocket frame text -> a typed Request, or a typed protocol error.
// Nothing past this point ever sees an unchecked shape.
import { MAX_TOKEN_CHARS } from '../auth/jwt.js';
import { REQUESTS, WORK_MODES, type ErrorCode, type Request, type RequestName } from './messages.js';

export type Parsed =
  | { ok: true; request: Request }
  | { ok: false; code: ErrorCode; message: string; referenceId?: number };

const CONN_ID = /^[0-9a-f]{16}$/;
const DN = /^[0-9A-Za-z+*#._-]{1,32}$/;

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
  if (!Object.hasOwn(REQUESTS, m.request)) {
    return { ok: false, code: 'UnknownRequest', message: `unknown request "${String(m.request).slice(0, 64)}": see docs/protocol.md for the supported requests`, referenceId };
  }
  const name = m.request as RequestName;
  const shape = REQUESTS[name];
  for (const [attr, kind] of Object.entries(shape.required)) {
    if (m[attr] === undefined || m[attr] === null) {
      return { ok: false, code: 'BadRequest', message: `${name} needs "${attr}"`, referenceId };
    }
    const err = checkKind(attr, kind, m[attr]);
    if (err) return { ok: false, code: codeFor(kind), message: `${name}: ${err}`, referenceId };
  }
  for (const [attr, kind] of Object.entries(shape.optional)) {
    if (m[attr] === undefined || m[attr] === null) continue;
    const err = checkKind(attr, kind, m[attr]);
    if (err) return { ok: false, code: codeFor(kind), message: `${name}: ${err}`, referenceId };
  }
  return { ok: true, request: m as unknown as Request };
}

function codeFor(kind: string): ErrorCode {
  if (kind === 'dn') return 'InvalidDN';
  if (kind === 'connId') return 'InvalidConnID';
  return 'BadRequest';
}

function checkKind(attr: string, kind: string, v: unknown): string | undefined {
  switch (kind) {
    case 'string':
      return typeof v === 'string' && v.length <= 256 ? undefined : `"${attr}" must be a string of at most 256 characters`;
    case 'token':
      return typeof v === 'string' && v.length <= MAX_TOKEN_CHARS ? undefined
        : `"${attr}" must be a string of at most ${MAX_TOKEN_CHARS} characters: a signed token's "dns" list makes it long; mint it for fewer DNs`;
    case 'dn':
      return typeof v === 'string' && DN.test(v) ? undefined : `"${attr}" must be a DN (digits, at most 32 characters)`;
    case 'connId':
      return typeof v === 'string' && CONN_ID.test(v) ? undefined : `"${attr}" must be a ConnID: 16 lowercase hex digits`;
    case 'uint':
      return Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : `"${attr}" must be a non-negative integer`;
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : `"${attr}" must be a JSON object`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : `"${attr}" must be true or false`;
    case 'workMode':
      return typeof v === 'string' && (WORK_MODES as readonly string[]).includes(v) ? undefined : `"${attr}" must be one of ${WORK_MODES.join(', ')}`;
    default:
      return `unknown attribute kind for "${attr}"`;
  }
}

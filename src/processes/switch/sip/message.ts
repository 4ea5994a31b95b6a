// SIP messages (RFC 3261 §7): one parser and one serializer. Pure. A message that breaks the grammar
// this switch needs (start line, the five mandatory headers, a CSeq that names the method, a valid
// Content-Length) is a SipParseError that says what is wrong; the transport answers it 400 when it
// can address a response, and drops it otherwise. Never throws anything else on any input.

export interface SipHeader { name: string; value: string }

interface Base {
  /** Headers in wire order, names lower-case in their long form ("v" arrives as "via"). */
  headers: SipHeader[];
  body: string;
}
export interface SipRequest extends Base { kind: 'request'; method: string; uri: string }
export interface SipResponse extends Base { kind: 'response'; status: number; reason: string }
export type SipMessage = SipRequest | SipResponse;

export class SipParseError extends Error {
  constructor(message: string, readonly partial?: SipRequest) { super(message); }
}

const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', f: 'from', t: 'to', v: 'via', l: 'content-length', c: 'content-type',
  k: 'supported', e: 'content-encoding', s: 'subject', o: 'event', u: 'allow-events', r: 'refer-to',
};
const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'call-info': 'Call-Info', 'max-forwards': 'Max-Forwards',
};
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const MANDATORY = ['via', 'from', 'to', 'call-id', 'cseq'] as const;
/** Larger messages are refused (a datagram is at most 64 KB anyway; stream framing enforces the same). */
export const MAX_MESSAGE_BYTES = 65_535;

export function header(m: SipMessage, name: string): string | undefined {
  for (const h of m.headers) if (h.name === name) return h.value;
  return undefined;
}

/** Every value of a header, comma-separated lists split (Via, Contact, Route, Allow…). */
export function headerList(m: SipMessage, name: string): string[] {
  const out: string[] = [];
  for (const h of m.headers) if (h.name === name) out.push(...splitList(h.value));
  return out;
}

/** Splits on commas outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0, quoted = false, start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && c === ',') { out.push(value.slice(start, i).trim()); start = i + 1; }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

export function parseCSeq(value: string): { seq: number; method: string } | undefined {
  const m = /^\s*(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(value);
  if (!m) return undefined;
  const seq = Number(m[1]);
  return seq < 2 ** 31 ? { seq, method: m[2]!.toUpperCase() } : undefined;
}

/** Parses one whole message (a datagram, or a frame cut by the stream framer). */
export function parseMessage(raw: Buffer | string): SipMessage {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) throw new SipParseError(`message over ${MAX_MESSAGE_BYTES} bytes`);
  const trimmed = text.replace(/^(\r\n)+/, '');
  const end = trimmed.indexOf('\r\n\r\n');
  if (end < 0) throw new SipParseError('no empty line after the headers (CRLF CRLF)');
  const lines = trimmed.slice(0, end).split('\r\n');
  const rest = trimmed.slice(end + 4);
  const start = lines[0] ?? '';
  const headers: SipHeader[] = [];
  // A bad header line is reported after the rest is read, so the 400 can still be addressed.
  let badLine = '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^[ \t]/.test(line) && headers.length > 0) { headers[headers.length - 1]!.value += ` ${line.trim()}`; continue; }
    const colon = line.indexOf(':');
    const rawName = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!TOKEN.test(rawName)) { badLine ||= line; continue; }
    const lower = rawName.toLowerCase();
    headers.push({ name: COMPACT[lower] ?? lower, value: line.slice(colon + 1).trim() });
  }
  let msg: SipMessage;
  const resp = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/.exec(start);
  const req = /^([A-Za-z]+) (\S+) SIP\/2\.0$/.exec(start);
  if (resp) msg = { kind: 'response', status: Number(resp[1]), reason: resp[2] ?? '', headers, body: '' };
  else if (req && TOKEN.test(req[1]!)) msg = { kind: 'request', method: req[1]!.toUpperCase(), uri: req[2]!, headers, body: '' };
  else throw new SipParseError(`bad start line ${JSON.stringify(start.slice(0, 60))}: expected "METHOD uri SIP/2.0" or "SIP/2.0 code reason"`);
  const partial = msg.kind === 'request' ? msg : undefined;
  for (const name of MANDATORY) if (header(msg, name) === undefined) throw new SipParseError(`mandatory header ${canonicalName(name)} is missing`, partial);
  if (badLine) throw new SipParseError(`bad header line ${JSON.stringify(badLine.slice(0, 60))}`, partial);
  const cseq = parseCSeq(header(msg, 'cseq')!);
  if (!cseq) throw new SipParseError('CSeq must be "<number> <METHOD>"', partial);
  if (msg.kind === 'request' && cseq.method !== msg.method) throw new SipParseError(`CSeq method ${cseq.method} differs from the request method ${msg.method}`, partial);
  const lengthValue = header(msg, 'content-length');
  const bodyBytes = Buffer.from(rest, 'utf8');
  if (lengthValue !== undefined) {
    if (!/^\d{1,6}$/.test(lengthValue)) throw new SipParseError(`Content-Length ${JSON.stringify(lengthValue)} is not a number`, partial);
    const n = Number(lengthValue);
    if (n > bodyBytes.length) throw new SipParseError(`Content-Length ${n} but only ${bodyBytes.length} body bytes arrived`, partial);
    msg.body = bodyBytes.subarray(0, n).toString('utf8');
  } else {
    msg.body = rest;
  }
  return msg;
}

export function canonicalName(name: string): string {
  return CANONICAL[name] ?? name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/** Wire form; Content-Length always written from the body. */
export function serialize(m: SipMessage): Buffer {
  const start = m.kind === 'request' ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`;
  const body = Buffer.from(m.body, 'utf8');
  const lines = [start];
  for (const h of m.headers) if (h.name !== 'content-length') lines.push(`${canonicalName(h.name)}: ${h.value}`);
  lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), body]);
}

// ------------------------------------------------------------------ addresses

export interface SipUri { scheme: 'sip' | 'sips' | 'tel'; user: string; host: string; port: number; params: Record<string, string> }
export interface NameAddr { display: string; uri: string; params: Record<string, string> }

export function parseUri(text: string): SipUri | undefined {
  const m = /^(sips?|tel):(?:([^@;?]*)@)?([^;?:]*|\[[^\]]+\])(?::(\d{1,5}))?((?:;[^?]*)?)(?:\?.*)?$/i.exec(text.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase() as SipUri['scheme'];
  let user = decodeURIComponentSafe(m[2] ?? '');
  let host = m[3] ?? '';
  if (scheme === 'tel') { user = host; host = ''; }
  else if (!host) return undefined;
  // Only the user's digits count as the DN: "5001;phone-context=…" and passwords are cut.
  user = user.split(/[;:]/)[0]!;
  return { scheme, user, host, port: m[4] ? Number(m[4]) : 0, params: params(m[5] ?? '') };
}

/** `"Name" <sip:x@h>;tag=1`, `<sip:x@h>`, or a bare `sip:x@h;tag=1` (whose params are the header's). */
export function parseNameAddr(value: string): NameAddr | undefined {
  const v = value.trim();
  const lt = v.indexOf('<');
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) return undefined;
    return { display: v.slice(0, lt).trim().replace(/^"|"$/g, ''), uri: v.slice(lt + 1, gt).trim(), params: params(v.slice(gt + 1)) };
  }
  const semi = v.indexOf(';');
  return { display: '', uri: semi < 0 ? v : v.slice(0, semi), params: params(semi < 0 ? '' : v.slice(semi)) };
}

export function tagOf(value: string | undefined): string {
  return value === undefined ? '' : parseNameAddr(value)?.params.tag ?? '';
}

/** The user part (DN) of a name-addr header or URI, '' when there is none. */
export function userOf(value: string | undefined): string {
  if (!value) return '';
  const na = parseNameAddr(value);
  return (na && parseUri(na.uri)?.user) ?? '';
}

export interface Via { transport: string; host: string; port: number; params: Record<string, string> }

export function parseVia(value: string): Via | undefined {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+([^;:\s]+|\[[^\]]+\])(?::(\d{1,5}))?\s*((?:;.*)?)$/i.exec(value.trim());
  if (!m) return undefined;
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port: m[3] ? Number(m[3]) : 0, params: params(m[4] ?? '') };
}

function params(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    out[(eq < 0 ? p : p.slice(0, eq)).toLowerCase()] = eq < 0 ? '' : p.slice(eq + 1).replace(/^"|"$/g, '');
  }
  return out;
}

function decodeURIComponentSafe(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

// ------------------------------------------------------------------ building

let counter = 0;
/** Random-enough tokens for tags, branches and Call-IDs (unique per process and run). */
export function token(prefix = ''): string {
  counter = (counter + 1) % 1_000_000;
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}${counter.toString(36)}`;
}

/** A response to `req` (RFC 3261 §8.2.6): Via, From, To, Call-ID, CSeq copied; To gets `toTag` when it has none. */
export function responseTo(req: SipRequest, status: number, reason: string, toTag = '', extra: SipHeader[] = [], body = ''): SipResponse {
  const headers: SipHeader[] = [];
  for (const h of req.headers) {
    if (h.name === 'via' || h.name === 'from' || h.name === 'call-id' || h.name === 'cseq') headers.push({ ...h });
    else if (h.name === 'to') headers.push({ name: 'to', value: toTag && !tagOf(h.value) && status !== 100 ? `${h.value};tag=${toTag}` : h.value });
  }
  return { kind: 'response', status, reason, headers: [...headers, ...extra], body };
}

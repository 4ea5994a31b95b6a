// What the primary's end of a sync stream does before a valid Hello: shared by the serving primary and
// by a server that is not primary right now (which refuses with NOT_PRIMARY after authenticating).
import { sy } from '../../wire/sync-proto.js';
import { oneof } from '../../lib/oneof.js';
import type { Decoded } from '../../wire/sync-service.js';
import { secretMatches } from '../../lib/peer-auth.js';

export { secretMatches };

export type PreHello =
  | { kind: 'hello'; hello: sy.Hello }
  | { kind: 'ignore' } // a heartbeat: life, nothing to answer
  | { kind: 'error'; code: sy.ErrorCode; message: string; close: boolean };

export function classifyBeforeHello(d: Decoded<sy.BackupToPrimary>, secret: string | undefined): PreHello {
  if (!d.ok) return badMessage(d);
  const m = oneof(d.msg, 'msg');
  if (m.case === 'heartbeat') return { kind: 'ignore' };
  if (m.case !== 'hello') {
    return { kind: 'error', code: sy.ErrorCode.NOT_HELLO, message: `expected Hello first, got ${m.case ?? 'an empty message'}`, close: false };
  }
  const hello = m.value; // decoded: every field set (defaults included)
  if (!secretMatches(secret, hello.secret)) {
    return { kind: 'error', code: sy.ErrorCode.UNAUTHORIZED, message: 'wrong or missing sync secret in Hello: set the same sync secret on both servers (tserver.syncSecret; docs/peer-auth.md)', close: true };
  }
  return { kind: 'hello', hello };
}

export function badMessage(d: { error: string; bytes: number }): PreHello {
  return { kind: 'error', code: sy.ErrorCode.BAD_MESSAGE, message: `undecodable sync message (${d.bytes} bytes): ${d.error}`, close: false };
}

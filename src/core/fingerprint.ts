// What a referenceId was used for: a compact fingerprint of the request, kept with its de-dup (and
// pending) record, so a reused referenceId is told apart from a retry in O(1): an identical retry
// (same request, same attributes) gets the stored answer; another request under the same
// clientName + referenceId gets DuplicateReferenceId instead of someone else's answer.
import type { Request } from '../protocol/messages.js';
import { canonicalJson } from './state.js';

/**
 * 53-bit hash (cyrb53) of the request's canonical JSON (keys sorted) without its referenceId, in
 * base 36 (at most 11 characters). Replicated as part of the records, so primary and backup agree.
 * A collision (~1 in 9e15 for two different requests) only means the old behaviour: the stored answer.
 * An agent's password is left out: a short hash kept in the state must not help anyone guess it.
 */
export function requestFingerprint(r: Request): string {
  const { referenceId: _ref, password: _password, ...rest } = r as Request & { password?: unknown };
  return cyrb53(canonicalJson(rest)).toString(36);
}

function cyrb53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

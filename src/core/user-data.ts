// User data lives on the call in the T-Server (the switch never sees it). Every change is announced
// with EventAttachedDataChanged on each internal DN of the call, the requester's DN first.
import type { RequestOf, UserData } from '../protocol/messages.js';

import { callEvent } from './call-events.js';
import { callAt, internalDN, refuse } from './errors.js';
import type { Tx } from './tx.js';

export type UserDataRequest = RequestOf<'RequestAttachUserData' | 'RequestUpdateUserData' | 'RequestDeleteUserData'>;

export function isUserDataRequest(r: { request: string }): r is UserDataRequest {
  return r.request === 'RequestAttachUserData' || r.request === 'RequestUpdateUserData' || r.request === 'RequestDeleteUserData';
}

/**
 * Attach: deep merge (nested objects merge key by key, other values replace).
 * Update: top-level keys replace their old values whole.
 * Delete: the keys named in `keys` (array of names, or an object whose keys are the names) or in
 * `userData`; neither given = delete all.
 */
export function onUserDataRequest(tx: Tx, r: UserDataRequest): void {
  internalDN(tx, r.thisDN);
  const call = callAt(tx, r.connId, r.thisDN);
  let userData: UserData;
  switch (r.request) {
    case 'RequestAttachUserData':
      userData = deepMerge(call.userData, r.userData);
      break;
    case 'RequestUpdateUserData':
      userData = { ...call.userData, ...r.userData };
      break;
    case 'RequestDeleteUserData': {
      const names = keyNames(r.keys ?? r.userData);
      userData = {};
      if (names) for (const [k, v] of Object.entries(call.userData)) if (!names.has(k)) userData[k] = v;
      break;
    }
  }
  // Delete only shrinks (and is the way out of the bound): no check.
  if (r.request !== 'RequestDeleteUserData') boundCallUserData(tx, call.connId, userData);
  const next = { ...call, userData };
  tx.put('calls', call.connId, next);
  const dns = [r.thisDN, ...next.parties.map((p) => p.dn).filter((dn) => dn !== r.thisDN && tx.state.devices.get(dn)?.type !== 'External' && tx.state.devices.has(dn))];
  for (const dn of dns) tx.emit(dn, callEvent(next, 'EventAttachedDataChanged', dn));
}

/** Bytes of user data as JSON: the measure of core.maxCallUserDataBytes. */
export function userDataBytes(userData: UserData): number {
  return Buffer.byteLength(JSON.stringify(userData), 'utf8');
}

/**
 * Refuses (UserDataTooLarge, before any delta: the state stays as it was) user data a call would
 * carry over core.maxCallUserDataBytes. Every change is fanned out to each party and journalled,
 * so an unbounded total makes every later event of the call heavier.
 */
export function boundCallUserData(tx: Tx, what: string, userData: UserData): void {
  const max = tx.ctx.config.maxCallUserDataBytes ?? 0;
  if (max <= 0) return;
  const bytes = userDataBytes(userData);
  if (bytes <= max) return;
  refuse('UserDataTooLarge', `call ${what} would carry ${bytes} bytes of user data (as JSON), over the limit of ${max} (tserver.maxCallUserDataBytes): delete keys with RequestDeleteUserData or attach less; nothing was changed`);
}

function keyNames(spec: unknown): Set<string> | undefined {
  if (spec === undefined) return undefined;
  if (Array.isArray(spec)) return new Set(spec.map(String));
  return new Set(Object.keys(spec as object));
}

function deepMerge(a: UserData, b: UserData): UserData {
  const out: UserData = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const old = out[k];
    out[k] = isPlain(old) && isPlain(v) ? deepMerge(old, v) : v;
  }
  return out;
}

function isPlain(v: unknown): v is UserData {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

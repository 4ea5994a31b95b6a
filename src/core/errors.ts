// Request validation: a refused request throws RequestError before any delta is made, and the
// dispatcher turns it into an EventError reply. So a refused request never changes the state.
import type { Call, CallState, CoreInput, ErrorCode } from './api.js';
import type { Tx } from './tx.js';

export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A core input threw something other than a RequestError: a bug in the core. handle() has rolled the
 * state back (nothing of the input applied, nothing output). The process must not carry on as
 * primary with a core it cannot trust: the T-Server logs this with the input and exits non-zero, and
 * its in-sync backup, which never saw any of the input, takes over.
 */
export class CoreBugError extends Error {
  readonly code = 'CoreBug';
  constructor(
    readonly input: CoreInput,
    /** Deltas the input had applied before it threw, all undone. */
    readonly undone: number,
    cause: unknown,
  ) {
    super(`the core failed on a ${input.kind} input (${undone} delta(s) undone): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export function refuse(code: ErrorCode, message: string): never {
  throw new RequestError(code, message);
}

/** A DN of the switch's dial plan other than an external number. */
export function internalDN(tx: Tx, dn: string): void {
  const d = tx.state.devices.get(dn);
  if (!d || d.type === 'External') refuse('InvalidDN', `DN ${dn} is not in the switch's dial plan: check the number (extensions, route points and queues are known)`);
}

export function extensionDN(tx: Tx, dn: string): void {
  internalDN(tx, dn);
  const t = tx.state.devices.get(dn)!.type;
  if (t !== 'Extension') refuse('InvalidDN', `DN ${dn} is a ${t}, not an extension: use the agent's extension DN`);
}

/** The call `connId` with a party at `dn`. */
export function callAt(tx: Tx, connId: string, dn: string): Call {
  const call = tx.state.calls.get(connId);
  if (!call) refuse('InvalidConnID', `no call with ConnID ${connId}: it has ended or never existed; query the DN (RequestQueryAddress) for its calls`);
  if (!call.parties.some((p) => p.dn === dn)) refuse('InvalidConnID', `call ${connId} is not on DN ${dn}: use a ConnID from this DN's events`);
  return call;
}

export function partyState(call: Call, dn: string): CallState | undefined {
  return call.parties.find((p) => p.dn === dn)?.state;
}

export function requireState(call: Call, dn: string, allowed: CallState[], what: string): void {
  const s = partyState(call, dn);
  if (!s || !allowed.includes(s)) refuse('InvalidState', `cannot ${what}: call ${call.connId} is ${s ?? 'gone'} at DN ${dn}, it must be ${allowed.join(' or ')}`);
}

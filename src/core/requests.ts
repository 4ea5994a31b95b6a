// Client requests: de-dup first (a retry never runs twice), then the handler for the request.
import type { Request, TEvent } from '../protocol/messages.js';
import type { Registration } from './api.js';
import { isAgentRequest, onAgentRequest } from './agent-requests.js';
import { callInfo } from './call-events.js';
import { isCallRequest, onCallRequest } from './call-requests.js';
import { firstEntryOf } from './command-results.js';
import { internalDN, refuse, RequestError } from './errors.js';
import { requestFingerprint } from './fingerprint.js';
import { dedupKey, type Tx } from './tx.js';
import { isUserDataRequest, onUserDataRequest } from './user-data.js';
import { describeDN } from './views.js';

export function onRequest(tx: Tx, clientName: string, r: Request): void {
  try {
    dispatch(tx, clientName, r);
  } catch (e) {
    if (!(e instanceof RequestError)) throw e;
    tx.awaiting = undefined;
    const done = isCallRequest(r) ? firstEntryOf(tx.state, dedupKey(clientName, r.referenceId), r.thisDN) : undefined;
    if (done) {
      // A retry of a request that already took effect (its events are journalled under its command
      // id) but whose pending record never reached this server: it is no longer valid because it
      // worked. Answer with its first event instead of an error.
      const answer = { ...done.event, referenceId: r.referenceId };
      tx.reply(clientName, answer);
      tx.rememberAnswer(clientName, r.referenceId, answer, requestFingerprint(r));
      return;
    }
    tx.error(clientName, r.referenceId, e.code, e.message);
  }
}

function dispatch(tx: Tx, clientName: string, r: Request): void {
  switch (r.request) {
    case 'RequestOpen':
    case 'RequestQueryServer':
    case 'RequestReplay':
      return refuse('BadRequest', `${r.request} is answered by the server's gateway, not the core`);
    case 'RequestRegisterAddress':
    case 'RequestUnregisterAddress':
      return onRegistration(tx, clientName, r.request, r.thisDN, r.referenceId);
    case 'RequestQueryAddress':
      internalDN(tx, r.thisDN);
      tx.reply(clientName, { ...describeDN(tx.state, r.thisDN), referenceId: r.referenceId });
      return;
    case 'RequestQueryCall': {
      const call = tx.state.calls.get(r.connId);
      if (!call) refuse('InvalidConnID', `no call with ConnID ${r.connId}: it has ended or never existed`);
      tx.reply(clientName, { event: 'EventPartyInfo', referenceId: r.referenceId, ...callInfo(call) });
      return;
    }
    default:
      break;
  }
  const key = dedupKey(clientName, r.referenceId);
  const fp = requestFingerprint(r);
  const done = tx.state.dedup.get(key);
  if (done) {
    if (done.fp !== undefined && done.fp !== fp) return reused(tx, clientName, r, `another request (answered ${done.answer.event})`);
    tx.reply(clientName, done.answer); // a retry: the first answer again, nothing re-runs
    return;
  }
  const pending = tx.state.pending.get(key);
  if (pending) {
    if (pending.fp !== undefined && pending.fp !== fp) return reused(tx, clientName, r, `a ${pending.request} still waiting for the switch`);
    // Still waiting for the switch (perhaps sent by the previous primary): send the same command id
    // again; the switch runs it at most once and answers with the first result.
    if (tx.ctx.switchUp && pending.command) tx.command(pending.command);
    return;
  }
  if (isCallRequest(r)) return onCallRequest(tx, clientName, r, fp);
  tx.awaiting = { clientName, referenceId: r.referenceId, thisDN: 'thisDN' in r ? r.thisDN : '', fp };
  if (isAgentRequest(r)) onAgentRequest(tx, r);
  else if (isUserDataRequest(r)) onUserDataRequest(tx, r);
  else refuse('UnknownRequest', `${(r as { request: string }).request} is not handled here: see docs/protocol.md`);
  tx.finishRequest();
}

/**
 * The referenceId is taken by another request of this client name (perhaps from another of its
 * connections): not run, nothing remembered, the stored record untouched.
 */
function reused(tx: Tx, clientName: string, r: Request, taken: string): void {
  tx.error(clientName, r.referenceId, 'DuplicateReferenceId',
    `referenceId ${r.referenceId} of client "${clientName}" is already taken by ${taken}: this ${r.request} was not run. ` +
    'referenceIds must be unique per client name across all its connections (only an identical retry may reuse one): send it again with a new referenceId');
}

function onRegistration(tx: Tx, clientName: string, request: 'RequestRegisterAddress' | 'RequestUnregisterAddress', dn: string, referenceId: number): void {
  const reg = tx.state.registrations.get(clientName);
  const dns = reg?.dns ?? [];
  if (request === 'RequestRegisterAddress') {
    internalDN(tx, dn);
    if (!dns.includes(dn)) tx.put('registrations', clientName, { clientName, dns: [...dns, dn].sort() } satisfies Registration);
    const ev: TEvent = { ...describeDN(tx.state, dn), event: 'EventRegistered', referenceId };
    tx.reply(clientName, ev);
    return;
  }
  if (!dns.includes(dn)) refuse('NotRegistered', `${clientName} has not registered ${dn}: nothing to unregister`);
  const rest = dns.filter((d) => d !== dn);
  if (rest.length > 0) tx.put('registrations', clientName, { clientName, dns: rest } satisfies Registration);
  else tx.del('registrations', clientName);
  tx.reply(clientName, { event: 'EventUnregistered', referenceId, thisDN: dn });
}

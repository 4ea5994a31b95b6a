// Call-control requests: validate against the state, then send one switch command under the command id
// clientName#referenceId and remember the request as pending. The switch events it causes answer it.
import type { RequestOf, UserData } from '../protocol/messages.js';
import type { Call, PendingRequest, SwitchCommand } from './api.js';
import { boundCallUserData } from './user-data.js';
import { callAt, extensionDN, internalDN, partyState, refuse, requireState } from './errors.js';
import { routeIssued } from './routing.js';
import { dedupKey, type Tx } from './tx.js';

export type CallRequest = RequestOf<
  | 'RequestMakeCall' | 'RequestAnswerCall' | 'RequestReleaseCall' | 'RequestHoldCall' | 'RequestRetrieveCall'
  | 'RequestInitiateTransfer' | 'RequestCompleteTransfer' | 'RequestSingleStepTransfer' | 'RequestInitiateConference'
  | 'RequestCompleteConference' | 'RequestDeleteFromConference' | 'RequestRouteCall'
>;

const CALL_REQUESTS: ReadonlySet<string> = new Set<CallRequest['request']>([
  'RequestMakeCall', 'RequestAnswerCall', 'RequestReleaseCall', 'RequestHoldCall', 'RequestRetrieveCall',
  'RequestInitiateTransfer', 'RequestCompleteTransfer', 'RequestSingleStepTransfer', 'RequestInitiateConference',
  'RequestCompleteConference', 'RequestDeleteFromConference', 'RequestRouteCall',
]);

export function isCallRequest(r: { request: string }): r is CallRequest {
  return CALL_REQUESTS.has(r.request);
}

type Op = Omit<SwitchCommand, 'commandId'>;

export function onCallRequest(tx: Tx, clientName: string, r: CallRequest, fp: string): void {
  if (!tx.ctx.switchUp) refuse('SwitchUnavailable', 'the switch link is down: call control is unavailable; retry when EventLinkConnected arrives');
  const { op, userData } = commandFor(tx, r);
  const commandId = dedupKey(clientName, r.referenceId);
  const command: SwitchCommand = { commandId, ...op };
  const pending: PendingRequest = { commandId, clientName, referenceId: r.referenceId, request: r.request, thisDN: r.thisDN, fp, since: tx.now, command };
  if (userData) pending.userData = userData;
  tx.put('pending', commandId, pending);
  tx.command(command);
}

function commandFor(tx: Tx, r: CallRequest): { op: Op; userData?: UserData } {
  const dn = r.thisDN;
  switch (r.request) {
    case 'RequestMakeCall':
      extensionDN(tx, dn);
      return { op: { makeCall: { dn, to: r.otherDN } }, userData: r.userData };
    case 'RequestAnswerCall': {
      const call = on(tx, r.connId, dn);
      requireState(call, dn, ['Ringing'], 'answer');
      return { op: { answer: { callId: call.switchCallId, dn } } };
    }
    case 'RequestReleaseCall': {
      const call = on(tx, r.connId, dn);
      return { op: { clearConnection: { callId: call.switchCallId, dn } } };
    }
    case 'RequestHoldCall': {
      const call = on(tx, r.connId, dn);
      requireState(call, dn, ['Established'], 'hold');
      return { op: { hold: { callId: call.switchCallId, dn } } };
    }
    case 'RequestRetrieveCall': {
      const call = on(tx, r.connId, dn);
      requireState(call, dn, ['Held'], 'retrieve');
      return { op: { retrieve: { callId: call.switchCallId, dn } } };
    }
    case 'RequestInitiateTransfer':
    case 'RequestInitiateConference': {
      const call = on(tx, r.connId, dn);
      requireState(call, dn, ['Established'], 'start a consultation');
      // The consultation call starts with the original's data and this request's on top.
      if (r.userData) boundCallUserData(tx, `${call.connId}'s consultation`, { ...call.userData, ...r.userData });
      return { op: { consultationCall: { callId: call.switchCallId, dn, to: r.otherDN } }, userData: r.userData };
    }
    case 'RequestCompleteTransfer':
    case 'RequestCompleteConference': {
      const [held, active] = heldAndActive(tx, r.connId, r.transferConnId, dn);
      const ids = { heldCallId: held.switchCallId, activeCallId: active.switchCallId, dn };
      return { op: r.request === 'RequestCompleteTransfer' ? { transfer: ids } : { conference: ids } };
    }
    case 'RequestSingleStepTransfer': {
      const call = on(tx, r.connId, dn);
      requireState(call, dn, ['Established', 'Held'], 'transfer');
      return { op: { singleStepTransfer: { callId: call.switchCallId, dn, to: r.otherDN } } };
    }
    case 'RequestDeleteFromConference': {
      const call = on(tx, r.connId, dn);
      if (!call.parties.some((p) => p.dn === r.otherDN)) refuse('InvalidDN', `DN ${r.otherDN} is not on call ${call.connId}: name a party of the conference`);
      return { op: { deleteFromConference: { callId: call.switchCallId, dn, target: r.otherDN } } };
    }
    case 'RequestRouteCall': {
      internalDN(tx, dn);
      if (tx.state.devices.get(dn)!.type !== 'RoutePoint') refuse('InvalidDN', `DN ${dn} is not a route point: route from the route point that sent EventRouteRequest`);
      const rr = tx.state.routeRequests.get(r.connId);
      if (!rr || rr.routePoint !== dn) refuse('InvalidConnID', `no call ${r.connId} waits for routing at ${dn}: it was routed, abandoned or timed out to the default target`);
      const call = tx.state.calls.get(r.connId)!;
      routeIssued(tx, rr);
      return { op: { deflect: { callId: call.switchCallId, dn, to: r.otherDN } } };
    }
    default: {
      const never: never = r;
      return refuse('UnknownRequest', `not a call request: ${JSON.stringify(never)}`);
    }
  }
}

function on(tx: Tx, connId: string, dn: string): Call {
  internalDN(tx, dn);
  return callAt(tx, connId, dn);
}

/** The original call (held at dn) and the consultation call, in whichever order the desktop named them. */
function heldAndActive(tx: Tx, connId: string, transferConnId: string, dn: string): [Call, Call] {
  const a = on(tx, connId, dn);
  const b = on(tx, transferConnId, dn);
  if (a.connId === b.connId) refuse('InvalidConnID', 'connId and transferConnId must differ: the held call and the consultation call');
  if (partyState(a, dn) === 'Held' && partyState(b, dn) !== 'Held') return [a, b];
  if (partyState(b, dn) === 'Held' && partyState(a, dn) !== 'Held') return [b, a];
  return refuse('InvalidState', `one of the two calls must be held at ${dn} (the original call) and the other active (the consultation call)`);
}

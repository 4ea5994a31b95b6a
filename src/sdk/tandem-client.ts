// TandemClient: the SDK's public class. FailoverClient does the work; this adds one thin, typed
// helper per common T-Library request, each a plain request() with the attributes filled in. Each
// resolves with its request's direct answer type (AnswerTo: the specific event, or EventACK when the
// request caused no event on its DN) and rejects with a TandemError for EventError.
import type { AnswerTo, UserData, WorkMode } from '../protocol/messages.js';
import { FailoverClient } from './failover-client.js';

export interface LoginOptions {
  /** ACD queue to log in to. */
  queue?: string;
  /** Initial work mode (e.g. ManualIn), where the switch uses one. */
  workMode?: WorkMode;
  password?: string;
}

export class TandemClient extends FailoverClient {
  login(dn: string, agentId: string, o: LoginOptions = {}): Promise<AnswerTo<'RequestAgentLogin'>> {
    return this.request({ request: 'RequestAgentLogin', thisDN: dn, agentId, ...(o.queue ? { thisQueue: o.queue } : {}), ...(o.workMode ? { workMode: o.workMode } : {}), ...(o.password ? { password: o.password } : {}) });
  }

  logout(dn: string): Promise<AnswerTo<'RequestAgentLogout'>> {
    return this.request({ request: 'RequestAgentLogout', thisDN: dn });
  }

  ready(dn: string, workMode?: WorkMode): Promise<AnswerTo<'RequestAgentReady'>> {
    return this.request({ request: 'RequestAgentReady', thisDN: dn, ...(workMode ? { workMode } : {}) });
  }

  /** Not ready in AuxWork (default) or AfterCallWork, with optional reason codes. */
  notReady(dn: string, workMode: WorkMode = 'AuxWork', reasons?: UserData): Promise<AnswerTo<'RequestAgentNotReady'>> {
    return this.request({ request: 'RequestAgentNotReady', thisDN: dn, workMode, ...(reasons ? { reasons } : {}) });
  }

  makeCall(dn: string, otherDN: string, userData?: UserData): Promise<AnswerTo<'RequestMakeCall'>> {
    return this.request({ request: 'RequestMakeCall', thisDN: dn, otherDN, ...(userData ? { userData } : {}) });
  }

  answer(dn: string, connId: string): Promise<AnswerTo<'RequestAnswerCall'>> {
    return this.request({ request: 'RequestAnswerCall', thisDN: dn, connId });
  }

  release(dn: string, connId: string): Promise<AnswerTo<'RequestReleaseCall'>> {
    return this.request({ request: 'RequestReleaseCall', thisDN: dn, connId });
  }

  hold(dn: string, connId: string): Promise<AnswerTo<'RequestHoldCall'>> {
    return this.request({ request: 'RequestHoldCall', thisDN: dn, connId });
  }

  retrieve(dn: string, connId: string): Promise<AnswerTo<'RequestRetrieveCall'>> {
    return this.request({ request: 'RequestRetrieveCall', thisDN: dn, connId });
  }

  /** Consult transfer, step 1: holds connId and dials otherDN on a consult call. */
  initiateTransfer(dn: string, connId: string, otherDN: string, userData?: UserData): Promise<AnswerTo<'RequestInitiateTransfer'>> {
    return this.request({ request: 'RequestInitiateTransfer', thisDN: dn, connId, otherDN, ...(userData ? { userData } : {}) });
  }

  /** Consult transfer, step 2: connId is the held call, transferConnId the consult call. */
  completeTransfer(dn: string, connId: string, transferConnId: string): Promise<AnswerTo<'RequestCompleteTransfer'>> {
    return this.request({ request: 'RequestCompleteTransfer', thisDN: dn, connId, transferConnId });
  }

  singleStepTransfer(dn: string, connId: string, otherDN: string): Promise<AnswerTo<'RequestSingleStepTransfer'>> {
    return this.request({ request: 'RequestSingleStepTransfer', thisDN: dn, connId, otherDN });
  }

  initiateConference(dn: string, connId: string, otherDN: string, userData?: UserData): Promise<AnswerTo<'RequestInitiateConference'>> {
    return this.request({ request: 'RequestInitiateConference', thisDN: dn, connId, otherDN, ...(userData ? { userData } : {}) });
  }

  completeConference(dn: string, connId: string, transferConnId: string): Promise<AnswerTo<'RequestCompleteConference'>> {
    return this.request({ request: 'RequestCompleteConference', thisDN: dn, connId, transferConnId });
  }

  deleteFromConference(dn: string, connId: string, otherDN: string): Promise<AnswerTo<'RequestDeleteFromConference'>> {
    return this.request({ request: 'RequestDeleteFromConference', thisDN: dn, connId, otherDN });
  }

  /** Adds keys to the call's attached data (existing keys are replaced). */
  attachUserData(dn: string, connId: string, userData: UserData): Promise<AnswerTo<'RequestAttachUserData'>> {
    return this.request({ request: 'RequestAttachUserData', thisDN: dn, connId, userData });
  }

  updateUserData(dn: string, connId: string, userData: UserData): Promise<AnswerTo<'RequestUpdateUserData'>> {
    return this.request({ request: 'RequestUpdateUserData', thisDN: dn, connId, userData });
  }

  /** Deletes the named keys, or all attached data when keys is omitted. */
  deleteUserData(dn: string, connId: string, keys?: string[]): Promise<AnswerTo<'RequestDeleteUserData'>> {
    const userData = keys ? Object.fromEntries(keys.map((k) => [k, null])) : undefined;
    return this.request({ request: 'RequestDeleteUserData', thisDN: dn, connId, ...(userData ? { userData } : {}) });
  }

  routeCall(routePoint: string, connId: string, otherDN: string): Promise<AnswerTo<'RequestRouteCall'>> {
    return this.request({ request: 'RequestRouteCall', thisDN: routePoint, connId, otherDN });
  }

  queryAddress(dn: string): Promise<AnswerTo<'RequestQueryAddress'>> {
    return this.request({ request: 'RequestQueryAddress', thisDN: dn });
  }

  queryCall(connId: string): Promise<AnswerTo<'RequestQueryCall'>> {
    return this.request({ request: 'RequestQueryCall', connId });
  }
}

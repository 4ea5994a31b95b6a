// The simulated PBX: calls, their connections and the events of every call flow in docs/switch.md.
// Pure: time comes in as `now`, events go out unsequenced (the event log numbers them), no timers.
// Every operation validates everything first, then changes state: an error changes nothing.
import { sw } from '../../wire/switch-proto.js';
import type { DialPlan } from './dial-plan.js';
import type { CallModel } from './call-model.js';

const S = sw.ConnectionState;
const E = sw.EventType;
const D = sw.DeviceType;

export type PbxErrorCode = 'UnknownDN' | 'UnknownCall' | 'InvalidState' | 'BadCommand';
export interface PbxError { code: PbxErrorCode; message: string }
export type PbxOutcome =
  | { ok: true; callId: string; events: sw.ISwitchEvent[] }
  | { ok: false; error: PbxError };

interface Party { dn: string; deviceType: sw.DeviceType; state: sw.ConnectionState }

/** A live call. Invariant: a call with no parties is deleted at once. */
interface Call {
  id: string;
  type: sw.CallType;
  ani: string;
  dnis: string;
  parties: Party[];
  /** For a consultation call: the held call it consults from. */
  consultOf: string;
}

/** One operation in progress: what it is stamped with and the events it produced. */
interface Ctx { now: number; commandId: string; events: sw.ISwitchEvent[] }

class Refusal extends Error {
  constructor(readonly code: PbxErrorCode, message: string) { super(message); }
}
const refuse = (code: PbxErrorCode, message: string): never => { throw new Refusal(code, message); };

const STATE_NAME = (s: sw.ConnectionState) => sw.ConnectionState[s] ?? String(s);

export class Pbx implements CallModel {
  private readonly calls = new Map<string, Call>();
  private nextCallId = 1;
  private readonly deviceList: sw.IDevice[];

  constructor(readonly plan: DialPlan) {
    this.deviceList = plan.devices();
  }

  /** Every internal device; the simulator's are always in service. */
  devices(): sw.IDevice[] { return this.deviceList; }

  /** A party's connection state, undefined when the call or the party is gone. */
  partyState(callId: string, dn: string): sw.ConnectionState | undefined {
    return this.calls.get(callId)?.parties.find((p) => p.dn === dn)?.state;
  }

  get callCount(): number { return this.calls.size; }

  /** Runs one call-control command (already fenced by the lease). */
  command(cmd: sw.ICommand, now: number): PbxOutcome {
    const commandId = cmd.commandId ?? '';
    return this.run(now, commandId, (ctx) => {
      if (cmd.makeCall) return this.makeCall(ctx, need(cmd.makeCall.dn, 'makeCall.dn'), need(cmd.makeCall.to, 'makeCall.to'));
      if (cmd.answer) return this.answer(ctx, need(cmd.answer.callId, 'answer.callId'), need(cmd.answer.dn, 'answer.dn'), [S.ALERTING]);
      if (cmd.clearConnection) return this.clear(ctx, need(cmd.clearConnection.callId, 'clearConnection.callId'), need(cmd.clearConnection.dn, 'clearConnection.dn'), 'Normal');
      if (cmd.hold) return this.holdOrRetrieve(ctx, need(cmd.hold.callId, 'hold.callId'), need(cmd.hold.dn, 'hold.dn'), true);
      if (cmd.retrieve) return this.holdOrRetrieve(ctx, need(cmd.retrieve.callId, 'retrieve.callId'), need(cmd.retrieve.dn, 'retrieve.dn'), false);
      if (cmd.consultationCall) { const c = cmd.consultationCall; return this.consult(ctx, need(c.callId, 'consultationCall.callId'), need(c.dn, 'consultationCall.dn'), need(c.to, 'consultationCall.to')); }
      if (cmd.transfer) { const c = cmd.transfer; return this.merge(ctx, need(c.heldCallId, 'transfer.heldCallId'), need(c.activeCallId, 'transfer.activeCallId'), need(c.dn, 'transfer.dn'), false); }
      if (cmd.conference) { const c = cmd.conference; return this.merge(ctx, need(c.heldCallId, 'conference.heldCallId'), need(c.activeCallId, 'conference.activeCallId'), need(c.dn, 'conference.dn'), true); }
      if (cmd.deleteFromConference) { const c = cmd.deleteFromConference; return this.deleteFromConference(ctx, need(c.callId, 'deleteFromConference.callId'), need(c.dn, 'deleteFromConference.dn'), need(c.target, 'deleteFromConference.target')); }
      if (cmd.singleStepTransfer) { const c = cmd.singleStepTransfer; return this.singleStepTransfer(ctx, need(c.callId, 'singleStepTransfer.callId'), need(c.dn, 'singleStepTransfer.dn'), need(c.to, 'singleStepTransfer.to')); }
      if (cmd.deflect) { const c = cmd.deflect; return this.deflect(ctx, need(c.callId, 'deflect.callId'), need(c.dn, 'deflect.dn'), need(c.to, 'deflect.to')); }
      return refuse('BadCommand', 'the command has no operation: set one of makeCall, answer, clearConnection, hold, retrieve, consultationCall, transfer, conference, deleteFromConference, singleStepTransfer, deflect');
    });
  }

  /** A simulated external caller dials `dnis` (an extension, route point or queue). */
  inboundCall(ani: string, dnis: string, now: number): PbxOutcome {
    return this.run(now, '', (ctx) => {
      need(ani, 'inboundCall.ani');
      const type = this.internalDevice(need(dnis, 'inboundCall.dnis'));
      const call = this.newCall(sw.CallType.INBOUND, ani, dnis, '');
      call.parties.push({ dn: ani, deviceType: D.EXTERNAL, state: S.CONNECTED }, { dn: dnis, deviceType: type, state: arrivalState(type) });
      this.emit(ctx, call, E.DELIVERED, dnis, ani);
      return call.id;
    });
  }

  /** The external caller hangs up: by call id, or the first call where `ani` is an external party. */
  callerHangup(callId: string, ani: string, now: number): PbxOutcome {
    return this.run(now, '', (ctx) => {
      let call = callId ? this.getCall(callId) : undefined;
      if (!call) {
        if (!ani) return refuse('BadCommand', 'callerHangup needs callId or ani');
        call = [...this.calls.values()].find((c) => c.parties.some((p) => p.dn === ani && p.deviceType === D.EXTERNAL));
        if (!call) return refuse('UnknownCall', `no call has external party ${ani}: check the ani or pass the callId`);
      }
      const party = call.parties.find((p) => p.deviceType === D.EXTERNAL && (!ani || p.dn === ani))
        ?? refuse('InvalidState', `call ${call.id} has no external caller${ani ? ` ${ani}` : ''}: use ClearConnection for internal parties`);
      return this.clear(ctx, call.id, party.dn, 'CallerHangup');
    });
  }

  /** Auto-answer by a timer: an alerting extension or an external party reached through the trunk. */
  autoAnswer(callId: string, dn: string, now: number): PbxOutcome {
    return this.run(now, '', (ctx) => this.answer(ctx, callId, dn, [S.ALERTING, S.NETWORK]));
  }

  /** Release by a timer (talk time over). */
  release(callId: string, dn: string, now: number): PbxOutcome {
    return this.run(now, '', (ctx) => this.clear(ctx, callId, dn, 'Normal'));
  }

  snapshotCalls(): sw.ISwitchCall[] {
    return [...this.calls.values()].map((c) => ({
      callId: c.id, callType: c.type, ani: c.ani, dnis: c.dnis, consultOf: c.consultOf, parties: c.parties.map((p) => ({ ...p })),
    }));
  }

  // ------------------------------------------------------------------ flows

  private makeCall(ctx: Ctx, dn: string, to: string): string {
    const fromType = this.device(dn);
    if (fromType !== D.EXTENSION) refuse('InvalidState', `${dn} is not an extension: only extensions can make calls`);
    const toType = this.device(to);
    if (to === dn) refuse('InvalidState', `${dn} cannot call itself: dial another DN`);
    const call = this.newCall(toType === D.EXTERNAL ? sw.CallType.OUTBOUND : sw.CallType.INTERNAL, dn, to, '');
    call.parties.push({ dn, deviceType: D.EXTENSION, state: S.INITIATED });
    this.emit(ctx, call, E.ORIGINATED, dn, to);
    this.deliver(ctx, call, to, toType, dn);
    return call.id;
  }

  private answer(ctx: Ctx, callId: string, dn: string, allowed: sw.ConnectionState[]): string {
    const call = this.getCall(callId);
    const party = this.party(call, dn);
    if (!allowed.includes(party.state)) {
      refuse('InvalidState', party.state === S.QUEUED
        ? `call ${callId} is parked at ${dn}: a route point or queue cannot answer; Deflect it to an extension`
        : `call ${callId} is ${STATE_NAME(party.state)} at ${dn}, not ringing: only a ringing call can be answered`);
    }
    party.state = S.CONNECTED;
    for (const p of call.parties) if (p.state === S.INITIATED) p.state = S.CONNECTED;
    this.emit(ctx, call, E.ESTABLISHED, dn, other(call, dn));
    return call.id;
  }

  private clear(ctx: Ctx, callId: string, dn: string, cause: string): string {
    const call = this.getCall(callId);
    this.party(call, dn);
    this.removeParty(ctx, call, dn, cause, '');
    return call.id;
  }

  private holdOrRetrieve(ctx: Ctx, callId: string, dn: string, hold: boolean): string {
    const call = this.getCall(callId);
    const party = this.party(call, dn);
    const from = hold ? S.CONNECTED : S.HELD;
    if (party.state !== from) refuse('InvalidState', `${dn} is ${STATE_NAME(party.state)} on call ${callId}: ${hold ? 'only a connected call can be held' : 'only a held call can be retrieved'}`);
    party.state = hold ? S.HELD : S.CONNECTED;
    this.emit(ctx, call, hold ? E.HELD : E.RETRIEVED, dn, other(call, dn));
    return call.id;
  }

  private consult(ctx: Ctx, callId: string, dn: string, to: string): string {
    const held = this.getCall(callId);
    const party = this.party(held, dn);
    if (party.state !== S.CONNECTED && party.state !== S.HELD) refuse('InvalidState', `${dn} is ${STATE_NAME(party.state)} on call ${callId}: consult from a connected call`);
    const toType = this.device(to);
    if (to === dn) refuse('InvalidState', `${dn} cannot consult itself: dial another DN`);
    if (party.state === S.CONNECTED) {
      party.state = S.HELD;
      this.emit(ctx, held, E.HELD, dn, other(held, dn));
    }
    const call = this.newCall(sw.CallType.CONSULT, dn, to, held.id);
    call.parties.push({ dn, deviceType: party.deviceType, state: S.INITIATED });
    this.emit(ctx, call, E.ORIGINATED, dn, to, { secondaryCallId: held.id });
    this.deliver(ctx, call, to, toType, dn);
    return call.id;
  }

  /** Two-step transfer (conference=false) or conference: merges the consultation call into the held one. */
  private merge(ctx: Ctx, heldId: string, activeId: string, dn: string, conference: boolean): string {
    const held = this.getCall(heldId);
    const active = this.getCall(activeId);
    if (held === active) refuse('BadCommand', 'heldCallId and activeCallId are the same call: pass the held call and the consultation call');
    const mine = this.party(held, dn);
    if (mine.state !== S.HELD) refuse('InvalidState', `${dn} is ${STATE_NAME(mine.state)} on ${heldId}, not held: hold it (ConsultationCall does) before ${conference ? 'conferencing' : 'transferring'}`);
    this.party(active, dn);
    const targets = active.parties.filter((p) => p.dn !== dn);
    if (targets.length !== 1) refuse('InvalidState', `call ${activeId} has ${targets.length} other parties: it must have exactly one (the consultation target)`);
    const target = targets[0]!;
    if (held.parties.some((p) => p.dn === target.dn)) refuse('InvalidState', `${target.dn} is already on call ${heldId}`);
    if (conference && target.state !== S.CONNECTED) refuse('InvalidState', `${target.dn} has not answered call ${activeId} yet (${STATE_NAME(target.state)}): conference after it answers, or transfer`);
    this.calls.delete(active.id);
    if (conference) {
      mine.state = S.CONNECTED;
      held.parties.push({ ...target });
      this.emit(ctx, held, E.CONFERENCED, dn, target.dn, { secondaryCallId: active.id });
    } else {
      held.parties = held.parties.filter((p) => p.dn !== dn);
      held.parties.push({ ...target });
      this.emit(ctx, held, E.TRANSFERRED, dn, target.dn, { secondaryCallId: active.id });
    }
    return held.id;
  }

  private deleteFromConference(ctx: Ctx, callId: string, dn: string, target: string): string {
    const call = this.getCall(callId);
    this.party(call, dn);
    this.party(call, target);
    if (dn === target) refuse('BadCommand', `target is ${dn} itself: to leave the call use ClearConnection`);
    if (call.parties.length < 3) refuse('InvalidState', `call ${callId} is not a conference (${call.parties.length} parties): use ClearConnection`);
    this.removeParty(ctx, call, target, 'DeletedFromConference', dn);
    return call.id;
  }

  private singleStepTransfer(ctx: Ctx, callId: string, dn: string, to: string): string {
    const call = this.getCall(callId);
    const party = this.party(call, dn);
    if (party.state !== S.CONNECTED && party.state !== S.HELD) refuse('InvalidState', `${dn} is ${STATE_NAME(party.state)} on ${callId}: only a connected or held call can be transferred`);
    const toType = this.device(to);
    if (call.parties.some((p) => p.dn === to)) refuse('InvalidState', `${to} is already on call ${callId}`);
    if (call.parties.length < 2) refuse('InvalidState', `call ${callId} has nobody to transfer`);
    call.parties = call.parties.filter((p) => p.dn !== dn);
    this.emit(ctx, call, E.TRANSFERRED, dn, to);
    this.deliver(ctx, call, to, toType, call.parties[0]!.dn);
    return call.id;
  }

  private deflect(ctx: Ctx, callId: string, dn: string, to: string): string {
    const call = this.getCall(callId);
    const party = this.party(call, dn);
    if (party.state !== S.QUEUED && party.state !== S.ALERTING) refuse('InvalidState', `call ${callId} is ${STATE_NAME(party.state)} at ${dn}: only a parked or ringing call can be deflected`);
    const toType = this.device(to);
    if (call.parties.some((p) => p.dn === to)) refuse('InvalidState', `${to} is already on call ${callId}`);
    call.parties = call.parties.filter((p) => p.dn !== dn);
    this.emit(ctx, call, E.DIVERTED, dn, to);
    this.deliver(ctx, call, to, toType, call.parties[0]?.dn ?? '');
    return call.id;
  }

  // ------------------------------------------------------------------ helpers

  /** The call arrives at `to`: DELIVERED (ringing or parked) or NETWORK_REACHED (external). */
  private deliver(ctx: Ctx, call: Call, to: string, toType: sw.DeviceType, from: string): void {
    call.parties.push({ dn: to, deviceType: toType, state: arrivalState(toType) });
    this.emit(ctx, call, toType === D.EXTERNAL ? E.NETWORK_REACHED : E.DELIVERED, to, from);
  }

  /** `dn` leaves; a party left alone is cleared too (Normal), and an empty call is gone. */
  private removeParty(ctx: Ctx, call: Call, dn: string, cause: string, by: string): void {
    call.parties = call.parties.filter((p) => p.dn !== dn);
    this.emit(ctx, call, E.CONNECTION_CLEARED, dn, by || other(call, dn), { cause });
    if (call.parties.length === 1) {
      const last = call.parties[0]!.dn;
      call.parties = [];
      this.emit(ctx, call, E.CONNECTION_CLEARED, last, '', { cause: 'Normal' });
    }
    if (call.parties.length === 0) this.calls.delete(call.id);
  }

  private run(now: number, commandId: string, op: (ctx: Ctx) => string): PbxOutcome {
    const ctx: Ctx = { now, commandId, events: [] };
    try {
      const callId = op(ctx);
      return { ok: true, callId, events: ctx.events };
    } catch (err) {
      if (err instanceof Refusal) return { ok: false, error: { code: err.code, message: err.message } };
      throw err;
    }
  }

  private emit(ctx: Ctx, call: Call, type: sw.EventType, dn: string, otherDn: string, extra: Partial<sw.ISwitchEvent> = {}): void {
    ctx.events.push({
      timeMs: ctx.now, type, callId: call.id, dn, otherDn, callType: call.type, ani: call.ani, dnis: call.dnis,
      commandId: ctx.commandId, parties: call.parties.map((p) => ({ ...p })), ...extra,
    });
  }

  private newCall(type: sw.CallType, ani: string, dnis: string, consultOf: string): Call {
    const call: Call = { id: `s${this.nextCallId++}`, type, ani, dnis, parties: [], consultOf };
    this.calls.set(call.id, call);
    return call;
  }

  private getCall(callId: string): Call {
    return this.calls.get(callId) ?? refuse('UnknownCall', `no call ${callId} at the switch: it ended or never existed; refresh from a snapshot`);
  }

  private party(call: Call, dn: string): Party {
    return call.parties.find((p) => p.dn === dn) ?? refuse('InvalidState', `${dn} is not on call ${call.id} (parties: ${call.parties.map((p) => p.dn).join(', ')})`);
  }

  private device(dn: string): sw.DeviceType {
    return this.plan.classify(dn) ?? refuse('UnknownDN', `${dn} is not in the dial plan (${this.plan.describe()})`);
  }

  private internalDevice(dn: string): sw.DeviceType {
    const type = this.device(dn);
    if (type === D.EXTERNAL) refuse('UnknownDN', `${dn} is an external number: an inbound call must dial a DN of this switch (${this.plan.describe()})`);
    return type;
  }
}

function arrivalState(type: sw.DeviceType): sw.ConnectionState {
  if (type === D.EXTERNAL) return S.NETWORK;
  if (type === D.ROUTE_POINT || type === D.ACD_QUEUE) return S.QUEUED;
  return S.ALERTING;
}

function other(call: Call, dn: string): string {
  return call.parties.find((p) => p.dn !== dn)?.dn ?? '';
}

function need(v: string | null | undefined, field: string): string {
  if (!v) refuse('BadCommand', `${field} is missing: set it`);
  return v!;
}

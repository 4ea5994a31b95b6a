// A tiny in-memory switch that turns SwitchCommands into the event sequences docs/switch.md fixes,
// for the core's unit tests. No timers, no links: exec() returns the events and the result at once.
import { sw } from '../../src/wire/switch-proto.js';
import type { SwitchCommand } from '../../src/core/api.js';

const { EventType: E, ConnectionState: S, DeviceType: D, CallType: T } = sw;

interface Conn { dn: string; deviceType: sw.DeviceType; state: sw.ConnectionState }
interface FCall { callId: string; callType: sw.CallType; ani: string; dnis: string; parties: Conn[]; consultOf?: string }
export interface Fired { events: sw.ISwitchEvent[]; result?: sw.ICommandResult }

export interface DialPlan { extensions: string[]; routePoints?: string[]; queues?: string[] }

export class FakeSwitch {
  seq = 0;
  private nextCall = 0;
  readonly calls = new Map<string, FCall>();
  private readonly devices = new Map<string, sw.DeviceType>();
  private readonly results = new Map<string, sw.ICommandResult>();
  /** Every command id executed (for asserting exactly-once). */
  readonly executed: string[] = [];

  constructor(plan: DialPlan) {
    for (const dn of plan.extensions) this.devices.set(dn, D.EXTENSION);
    for (const dn of plan.routePoints ?? []) this.devices.set(dn, D.ROUTE_POINT);
    for (const dn of plan.queues ?? []) this.devices.set(dn, D.ACD_QUEUE);
  }

  snapshot(): sw.ISnapshot {
    return {
      lastSeq: this.seq,
      devices: [...this.devices].map(([dn, type]) => ({ dn, type })),
      calls: [...this.calls.values()].map((c) => ({ callId: c.callId, callType: c.callType, ani: c.ani, dnis: c.dnis, parties: c.parties.map((p) => ({ ...p })), consultOf: c.consultOf ?? '' })),
      trunkPrefix: '9',
    };
  }

  typeOf(dn: string): sw.DeviceType | undefined {
    const t = this.devices.get(dn);
    if (t !== undefined) return t;
    return dn.startsWith('9') || dn.length >= 7 ? D.EXTERNAL : undefined;
  }

  /** Simulate.InboundCall: DELIVERED at dnis with the caller connected. */
  inbound(ani: string, dnis: string): { callId: string; events: sw.ISwitchEvent[] } {
    const call: FCall = { callId: `s${++this.nextCall}`, callType: T.INBOUND, ani, dnis, parties: [{ dn: ani, deviceType: D.EXTERNAL, state: S.CONNECTED }] };
    this.calls.set(call.callId, call);
    const events: sw.ISwitchEvent[] = [];
    this.arrive(call, dnis, ani, events, '');
    return { callId: call.callId, events };
  }

  /** Simulate.CallerHangup: the external caller leaves, then the party left alone. */
  callerHangup(callId: string): sw.ISwitchEvent[] {
    const call = this.calls.get(callId)!;
    const events: sw.ISwitchEvent[] = [];
    const x = call.parties.find((p) => p.deviceType === D.EXTERNAL)!;
    this.clear(call, x.dn, 'CallerHangup', events, '');
    return events;
  }

  /** The external party of an outbound call answers. */
  externalAnswers(callId: string): sw.ISwitchEvent[] {
    const call = this.calls.get(callId)!;
    const x = call.parties.find((p) => p.deviceType === D.EXTERNAL)!;
    x.state = S.CONNECTED;
    for (const p of call.parties) if (p.state === S.INITIATED) p.state = S.CONNECTED;
    const a = call.parties.find((p) => p !== x)!;
    return [this.ev(call, E.ESTABLISHED, x.dn, a.dn, '')];
  }

  exec(cmd: SwitchCommand): Fired {
    const prior = this.results.get(cmd.commandId);
    if (prior) return { events: [], result: { ...prior, duplicate: true } };
    const events: sw.ISwitchEvent[] = [];
    let result: sw.ICommandResult;
    try {
      const callId = this.run(cmd, events);
      result = { commandId: cmd.commandId, ok: true, callId: callId ?? '' };
      this.executed.push(cmd.commandId);
    } catch (e) {
      events.length = 0;
      const [code, message] = String((e as Error).message).split(': ');
      result = { commandId: cmd.commandId, ok: false, errorCode: code, errorMessage: message ?? code };
    }
    this.results.set(cmd.commandId, result);
    return { events, result };
  }

  private run(cmd: SwitchCommand, out: sw.ISwitchEvent[]): string | undefined {
    const id = cmd.commandId;
    if (cmd.makeCall) {
      const { dn, to } = cmd.makeCall as { dn: string; to: string };
      if (this.typeOf(dn) !== D.EXTENSION) throw new Error(`UnknownDN: ${dn}`);
      const tt = this.typeOf(to);
      if (tt === undefined) throw new Error(`UnknownDN: ${to}`);
      const call: FCall = { callId: `s${++this.nextCall}`, callType: tt === D.EXTERNAL ? T.OUTBOUND : T.INTERNAL, ani: dn, dnis: to, parties: [{ dn, deviceType: D.EXTENSION, state: S.INITIATED }] };
      this.calls.set(call.callId, call);
      out.push(this.ev(call, E.ORIGINATED, dn, to, id));
      this.arrive(call, to, dn, out, id);
      return call.callId;
    }
    if (cmd.answer) {
      const { callId, dn } = cmd.answer as { callId: string; dn: string };
      const call = this.call(callId);
      const p = this.party(call, dn, S.ALERTING);
      p.state = S.CONNECTED;
      for (const q of call.parties) if (q.state === S.INITIATED) q.state = S.CONNECTED;
      out.push(this.ev(call, E.ESTABLISHED, dn, call.parties.find((q) => q !== p)?.dn ?? '', id));
      return callId;
    }
    if (cmd.clearConnection) {
      const { callId, dn } = cmd.clearConnection as { callId: string; dn: string };
      const call = this.call(callId);
      this.party(call, dn);
      this.clear(call, dn, 'Normal', out, id);
      return callId;
    }
    if (cmd.hold || cmd.retrieve) {
      const { callId, dn } = (cmd.hold ?? cmd.retrieve) as { callId: string; dn: string };
      const call = this.call(callId);
      const p = this.party(call, dn, cmd.hold ? S.CONNECTED : S.HELD);
      p.state = cmd.hold ? S.HELD : S.CONNECTED;
      out.push(this.ev(call, cmd.hold ? E.HELD : E.RETRIEVED, dn, '', id));
      return callId;
    }
    if (cmd.consultationCall) {
      const { callId, dn, to } = cmd.consultationCall as { callId: string; dn: string; to: string };
      const call = this.call(callId);
      const p = this.party(call, dn, S.CONNECTED);
      if (this.typeOf(to) === undefined) throw new Error(`UnknownDN: ${to}`);
      p.state = S.HELD;
      out.push(this.ev(call, E.HELD, dn, '', id));
      const c2: FCall = { callId: `s${++this.nextCall}`, callType: T.CONSULT, ani: dn, dnis: to, parties: [{ dn, deviceType: D.EXTENSION, state: S.INITIATED }], consultOf: callId };
      this.calls.set(c2.callId, c2);
      out.push({ ...this.ev(c2, E.ORIGINATED, dn, to, id), secondaryCallId: callId });
      this.arrive(c2, to, dn, out, id);
      return c2.callId;
    }
    if (cmd.transfer || cmd.conference) {
      const { heldCallId, activeCallId, dn } = (cmd.transfer ?? cmd.conference) as { heldCallId: string; activeCallId: string; dn: string };
      const c1 = this.call(heldCallId);
      const c2 = this.call(activeCallId);
      this.party(c1, dn, S.HELD);
      this.party(c2, dn);
      const target = c2.parties.find((q) => q.dn !== dn)!;
      if (cmd.conference && target.state !== S.CONNECTED) throw new Error('InvalidState: the consulted party must answer before a conference');
      this.calls.delete(c2.callId);
      if (cmd.transfer) c1.parties = [...c1.parties.filter((q) => q.dn !== dn), target];
      else c1.parties = [...c1.parties.map((q) => (q.dn === dn ? { ...q, state: S.CONNECTED } : q)), target];
      out.push({ ...this.ev(c1, cmd.transfer ? E.TRANSFERRED : E.CONFERENCED, dn, target.dn, id), secondaryCallId: c2.callId });
      return heldCallId;
    }
    if (cmd.deleteFromConference) {
      const { callId, dn, target } = cmd.deleteFromConference as { callId: string; dn: string; target: string };
      const call = this.call(callId);
      this.party(call, dn);
      this.party(call, target);
      this.clear(call, target, 'DeletedFromConference', out, id);
      return callId;
    }
    if (cmd.singleStepTransfer) {
      const { callId, dn, to } = cmd.singleStepTransfer as { callId: string; dn: string; to: string };
      const call = this.call(callId);
      this.party(call, dn);
      if (this.typeOf(to) === undefined) throw new Error(`UnknownDN: ${to}`);
      call.parties = call.parties.filter((q) => q.dn !== dn);
      out.push(this.ev(call, E.TRANSFERRED, dn, to, id));
      this.arrive(call, to, call.parties[0]?.dn ?? '', out, id);
      return callId;
    }
    if (cmd.deflect) {
      const { callId, dn, to } = cmd.deflect as { callId: string; dn: string; to: string };
      const call = this.call(callId);
      const p = this.party(call, dn);
      if (p.state !== S.QUEUED && p.state !== S.ALERTING) throw new Error(`InvalidState: call ${callId} is not parked or alerting at ${dn}`);
      if (this.typeOf(to) === undefined) throw new Error(`UnknownDN: ${to}`);
      call.parties = call.parties.filter((q) => q.dn !== dn);
      out.push(this.ev(call, E.DIVERTED, dn, to, id));
      this.arrive(call, to, call.parties[0]?.dn ?? '', out, id);
      return callId;
    }
    throw new Error('BadCommand: no operation');
  }

  /** The call reaches `to`: alerting at an extension, parked at a route point/queue, network for external. */
  private arrive(call: FCall, to: string, from: string, out: sw.ISwitchEvent[], id: string): void {
    const t = this.typeOf(to)!;
    if (t === D.EXTERNAL) {
      call.parties.push({ dn: to, deviceType: t, state: S.NETWORK });
      out.push(this.ev(call, E.NETWORK_REACHED, to, from, id));
      return;
    }
    call.parties.push({ dn: to, deviceType: t, state: t === D.EXTENSION ? S.ALERTING : S.QUEUED });
    out.push(this.ev(call, E.DELIVERED, to, from, id));
  }

  private clear(call: FCall, dn: string, cause: string, out: sw.ISwitchEvent[], id: string): void {
    call.parties = call.parties.filter((q) => q.dn !== dn);
    out.push({ ...this.ev(call, E.CONNECTION_CLEARED, dn, '', id), cause });
    if (call.parties.length === 1) {
      const last = call.parties[0].dn;
      call.parties = [];
      out.push({ ...this.ev(call, E.CONNECTION_CLEARED, last, '', id), cause: 'Normal' });
    }
    if (call.parties.length === 0) this.calls.delete(call.callId);
  }

  private call(callId: string): FCall {
    const c = this.calls.get(callId);
    if (!c) throw new Error(`UnknownCall: ${callId}`);
    return c;
  }

  private party(call: FCall, dn: string, state?: sw.ConnectionState): Conn {
    const p = call.parties.find((q) => q.dn === dn);
    if (!p || (state !== undefined && p.state !== state)) throw new Error(`InvalidState: ${dn} is not in the right state on ${call.callId}`);
    return p;
  }

  private ev(call: FCall, type: sw.EventType, dn: string, other: string, commandId: string): sw.ISwitchEvent {
    return {
      seq: ++this.seq,
      timeMs: 0,
      type,
      callId: call.callId,
      dn,
      otherDn: other,
      callType: call.callType,
      ani: call.ani,
      dnis: call.dnis,
      commandId,
      parties: call.parties.map((p) => ({ ...p })),
    };
  }
}

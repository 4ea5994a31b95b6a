// The SIP switch's call model: the simulated PBX's call state and events (pbx.ts, so the event
// sequences are the simulator's), mirrored onto SIP legs. A command is checked against what SIP can
// do (is the phone registered, is it ringing with NOTIFY talk allowed, is there a mixer), then run on
// the PBX, then its events become SIP messages (effects). What endpoints do by themselves (answer,
// hang up, refuse) comes back through LegEvents and the request router as PBX operations whose
// events are published like a command's. A remote answer is the exception: the PBX runs it only when
// the phone's 200 OK arrives (the command is pending until then, SwitchHooks.commandDone), so no
// desktop hears Established for a caller who was never connected.
import { sw } from '../../../wire/switch-proto.js';
import type { Logger } from '../../../lib/log.js';
import { systemClock, type Clock, type ClockTimer } from '../../../lib/clock.js';
import type { DialPlan } from '../dial-plan.js';
import { Pbx, type PbxOutcome } from '../pbx.js';
import type { CallModel, CommandOutcome, SwitchHooks } from '../call-model.js';
import type { SipConfig } from './config.js';
import { Leg, LegTable } from './leg.js';
import { LegControl, type SipPort } from './leg-control.js';
import { token } from './message.js';
import { Registrar, type ServiceChange } from './registrar.js';
import type { Flow } from './transport.js';
import { COMMAND_TIMEOUT_MS, PendingCommands } from './pending-commands.js';
import { SipCommands } from './sip-commands.js';

const E = sw.EventType;
const D = sw.DeviceType;
const S = sw.ConnectionState;

type Refusal = { ok: false; error: { code: 'InvalidState' | 'BadCommand' | 'UnknownDN'; message: string } };
/** The switch calls a command works on (a second command there waits for a pending one). */
const callsOf = (c: sw.ICommand): string[] => [c.answer?.callId, c.hold?.callId, c.retrieve?.callId, c.consultationCall?.callId, c.transfer?.heldCallId,
  c.transfer?.activeCallId, c.singleStepTransfer?.callId, c.deflect?.callId].filter((id): id is string => !!id);

const refused = (code: Refusal['error']['code'], message: string): Refusal => ({ ok: false, error: { code, message } });

/**
 * How long an Answer command waits, from its arrival, for the phone's 200 OK (its NOTIFY talk, a
 * deferred 180, the 200) before it fails (the call keeps ringing). Below the T-Server's pending
 * timeout (10 s), which would answer the desktop SwitchUnavailable without saying why: counted from
 * the NOTIFY's 200 instead, a phone slow to take the NOTIFY (retransmitted under load) left 914
 * answers of one bench step to that timeout.
 */
export const ANSWER_TIMEOUT_MS = 8_000;

/** An Answer command waiting for the phone's 200 OK. */
interface PendingAnswer { commandId: string; cmd: sw.ICommand; timer?: ClockTimer; notified?: boolean }

export class SipCallModel implements CallModel {
  readonly pbx: Pbx;
  readonly legs = new LegTable();
  readonly registrar: Registrar;
  readonly control: LegControl;
  /** Answer commands waiting for their leg's 200 OK (at most one per leg). */
  private readonly answers = new Map<Leg, PendingAnswer>();
  /** Make call, hold, retrieve, consultation, transfers waiting for their SIP exchange (sip-commands.ts). */
  readonly pending: PendingCommands;
  private readonly commands: SipCommands;
  /** Target legs a transfer command already re-bridged to the caller: its TRANSFERRED needs no bridge. */
  readonly bridged = new Set<Leg>();

  constructor(readonly plan: DialPlan, readonly cfg: SipConfig, readonly port: SipPort, private readonly hooks: SwitchHooks, private readonly log: Logger, private readonly clock: Clock = systemClock) {
    this.pbx = new Pbx(plan);
    this.registrar = new Registrar(plan, cfg);
    this.control = new LegControl(port, this.legs, {
      answered: (leg) => this.onAnswered(leg),
      failed: (leg, _status, why) => {
        this.pending.legGone(leg, `answered ${why}`);
        this.partyLeft(leg, why);
      },
      ringing: (leg) => {
        if (this.answers.has(leg)) this.answerByNotify(leg);
        this.pending.ofLeg(leg)?.ringing?.(leg);
      },
    }, log);
    this.pending = new PendingCommands(clock, (id, o) => hooks.commandDone(id, o), log);
    this.commands = new SipCommands(this, this.pending);
  }

  // ------------------------------------------------------------------ CallModel

  command(cmd: sw.ICommand, now: number): CommandOutcome {
    const refusal = this.sipCheck(cmd);
    if (refusal) return refusal;
    const busy = cmd.clearConnection ? undefined : callsOf(cmd).map((id) => this.pending.onCall(id)).find((p) => p);
    if (busy) return refused('InvalidState', `${busy.what} is still waiting for SIP (at most ${COMMAND_TIMEOUT_MS} ms): send this again once it completed`);
    if (cmd.answer) {
      const remote = this.remoteAnswer(cmd);
      if (remote) return remote;
    }
    if (cmd.makeCall) return this.commands.makeCall(cmd);
    if (cmd.hold || cmd.retrieve) return this.commands.holdOrRetrieve(cmd, !!cmd.hold);
    if (cmd.consultationCall) return this.commands.consult(cmd);
    if (cmd.transfer) return this.commands.transfer(cmd);
    if (cmd.singleStepTransfer) return this.commands.singleStepTransfer(cmd);
    return this.runNow(cmd, now);
  }

  /** The PBX runs the command now (it may refuse it: nothing changes then) and SIP follows its events. */
  runNow(cmd: sw.ICommand, now = Date.now()): PbxOutcome {
    const o = this.pbx.command(cmd, now);
    if (o.ok) this.effects(o.events);
    return o;
  }

  inboundCall(): PbxOutcome {
    return refused('BadCommand', 'the SIP switch takes callers from SIP trunks, not Simulate: send an INVITE from a trunk peer (docs/sip.md)');
  }

  callerHangup(): PbxOutcome {
    return refused('BadCommand', 'on the SIP switch a caller hangs up with BYE or CANCEL from its trunk, not Simulate (docs/sip.md)');
  }

  autoAnswer(): PbxOutcome {
    return refused('BadCommand', 'on the SIP switch a phone answers itself (200 OK) or by RequestAnswerCall (NOTIFY talk): no simulated auto-answer');
  }

  release(callId: string, dn: string, now: number): PbxOutcome {
    const o = this.command({ commandId: '', clearConnection: { callId, dn } }, now);
    return 'pending' in o ? refused('BadCommand', 'internal error: a release cannot be pending') : o;
  }

  snapshotCalls(): sw.ISwitchCall[] { return this.pbx.snapshotCalls(); }

  devices(): sw.IDevice[] {
    return this.pbx.devices().map((d) => (d.type === D.EXTENSION && !this.registrar.binding(d.dn ?? '') ? { ...d, outOfService: true } : d));
  }

  // ------------------------------------------------------------------ what SIP needs before a command runs

  private sipCheck(cmd: sw.ICommand): Refusal | undefined {
    if (cmd.conference || cmd.deleteFromConference) {
      return refused('BadCommand', 'conference needs a media mixer and this SIP switch has none configured (signalling only: docs/sip.md "What needs a media server"): use a consultation and transfer instead');
    }
    if (cmd.makeCall) return this.reachable(cmd.makeCall.dn ?? '', 'make a call') ?? this.reachable(cmd.makeCall.to ?? '', 'be called');
    if (cmd.consultationCall) return this.reachable(cmd.consultationCall.dn ?? '', 'consult') ?? this.reachable(cmd.consultationCall.to ?? '', 'be called');
    if (cmd.singleStepTransfer) return this.reachable(cmd.singleStepTransfer.to ?? '', 'take the transfer');
    if (cmd.deflect) return this.reachable(cmd.deflect.to ?? '', 'take the call');
    if (cmd.answer) {
      const { callId = '', dn = '' } = cmd.answer;
      const leg = this.legs.of(callId ?? '', dn ?? '');
      // Not ringing yet (a 3PCC callee waits for the originator's phone): the NOTIFY goes at its 180.
      if (!leg || leg.phase === 'pending' || (leg.phase === 'inviting' && !leg.ringing)) return undefined;
      if (leg.phase !== 'inviting') return undefined; // the PBX says why (answered already, gone)
      if (!leg.talkAllowed) return refused('InvalidState', `${dn}'s phone does not accept remote answer (its 180 had no "Allow-Events: talk"): answer on the phone; its 200 OK is reported as EventEstablished`);
    }
    return undefined;
  }

  /** An extension must have a registered phone; an external number needs the outbound trunk. */
  private reachable(dn: string, what: string): Refusal | undefined {
    const type = this.plan.classify(dn);
    if (type === D.EXTENSION && !this.registrar.binding(dn)) return refused('InvalidState', `${dn} is out of service (no phone registered) and cannot ${what}: register its phone to this switch (docs/sip.md)`);
    if (type === D.EXTERNAL && !this.cfg.outboundTrunk.port) return refused('InvalidState', `${dn} is an external number and no outbound trunk is configured: set switch.sip.outboundTrunk or --sip-trunk`);
    return undefined;
  }

  // ------------------------------------------------------------------ PBX events -> SIP

  /** Publishes a spontaneous outcome (from SIP) and carries out its effects. */
  emit(o: PbxOutcome, context: string): void {
    if (!o.ok) {
      this.log.debug({ context, code: o.error.code }, `the switch had nothing to do: ${o.error.message}`);
      return;
    }
    this.hooks.publish(o);
    this.effects(o.events);
  }

  effects(events: sw.ISwitchEvent[]): void {
    for (const e of events) {
      const callId = e.callId ?? '';
      const dn = e.dn ?? '';
      switch (e.type) {
        case E.ORIGINATED:
          this.startLeg(callId, dn, e.otherDn ?? '', true);
          break;
        case E.DELIVERED:
          if (this.plan.classify(dn) === D.EXTENSION) this.startLeg(callId, dn, e.otherDn ?? '', false);
          else for (const l of this.legs.ofCall(callId)) if (l.phase === 'offered') this.control.ringback(l);
          break;
        case E.NETWORK_REACHED:
          this.startLeg(callId, dn, e.otherDn ?? '', false);
          break;
        // ESTABLISHED, HELD, RETRIEVED need no SIP: they are reported after the SIP exchange (sip-commands.ts).
        case E.CONNECTION_CLEARED:
        case E.DIVERTED: {
          const leg = this.legs.of(callId, dn);
          if (leg) this.answerFailed(leg, `${dn} left the call before its phone answered (${e.type === E.DIVERTED ? 'diverted' : 'released'}): not answered`);
          if (leg) this.pending.legGone(leg, e.type === E.DIVERTED ? 'was diverted' : 'was released');
          if (leg) this.control.end(leg, e.cause === 'Busy' ? 486 : 480, e.cause === 'Busy' ? 'Busy Here' : 'Temporarily Unavailable');
          break;
        }
        case E.TRANSFERRED:
          this.transferred(callId, dn, e.secondaryCallId ?? '');
          break;
        default:
          break; // CONFERENCED is refused before it can happen; service events have no legs
      }
    }
  }

  /** A new UAC leg towards an extension's phone or the outbound trunk; a 3PCC callee waits for the originator's phone. */
  private startLeg(callId: string, dn: string, otherDn: string, autoAnswer: boolean): void {
    if (this.legs.of(callId, dn)) return; // started by its command before the PBX ran it (sip-commands.ts)
    const leg = this.uacLeg(callId, dn, otherDn);
    if (!leg) {
      // Unregistered since the command was checked: the party cannot be reached.
      setImmediate(() => {
        try { this.emit(this.pbx.release(callId, dn, Date.now()), `${dn} unreachable`); } catch (err) { this.log.error({ err, callId, dn }, 'internal error releasing an unreachable party'); }
      });
      return;
    }
    this.legs.add(leg);
    const peer = this.legs.peerOf(leg);
    if (peer && (peer.phase === 'pending' || peer.phase === 'inviting')) return; // started when the peer answers
    this.control.invite(leg, autoAnswer);
  }

  /** A UAC leg (not yet in the table) towards an extension's phone or the outbound trunk; undefined: unreachable. */
  uacLeg(callId: string, dn: string, otherDn: string): Leg | undefined {
    const local = this.port.local;
    const ext = this.plan.classify(dn) === D.EXTENSION;
    let target: { uri: string; flow: Flow } | undefined;
    if (ext) {
      const b = this.registrar.binding(dn);
      if (b) target = { uri: b.contact, flow: b.flow };
    } else if (this.cfg.outboundTrunk.port) {
      const t = this.cfg.outboundTrunk;
      const number = t.stripPrefix && this.plan.trunkPrefix && dn.startsWith(this.plan.trunkPrefix) ? dn.slice(this.plan.trunkPrefix.length) : dn;
      target = { uri: `sip:${number}@${t.host}:${t.port}${t.protocol === 'TCP' ? ';transport=tcp' : ''}`, flow: { protocol: t.protocol, address: t.host, port: t.port } };
    }
    if (!target) return undefined;
    const remoteUri = ext ? `sip:${dn}@${local.host}` : target.uri;
    return new Leg(callId, dn, ext ? 'phone' : 'trunk', 'uac', token('tdm-'), `sip:${otherDn || 'tandem'}@${local.host}`, remoteUri, target.uri, target.flow);
  }

  /**
   * Answer of a phone our INVITE rings (or is about to ring: a 3PCC callee): pending until its 200 OK.
   * Undefined when the PBX decides at once (no such leg, or not alerting: the PBX says why).
   */
  private remoteAnswer(cmd: sw.ICommand): CommandOutcome | undefined {
    const callId = cmd.answer?.callId ?? '';
    const dn = cmd.answer?.dn ?? '';
    const leg = this.legs.of(callId, dn);
    if (!leg || (leg.phase !== 'pending' && leg.phase !== 'inviting')) return undefined;
    if (this.pbx.partyState(callId, dn) !== S.ALERTING) return undefined;
    if (this.answers.has(leg)) return refused('InvalidState', `${dn} is already being answered (NOTIFY talk sent, waiting for its phone's 200 OK)`);
    const a: PendingAnswer = { commandId: cmd.commandId ?? '', cmd };
    this.answers.set(leg, a);
    a.timer = this.clock.setTimeout(() => this.answerFailed(leg, a.notified
      ? `${leg.dn}'s phone accepted NOTIFY talk but did not answer (no 200 OK) within ${ANSWER_TIMEOUT_MS} ms: the call still rings`
      : `${leg.dn}'s phone did not take NOTIFY talk within ${ANSWER_TIMEOUT_MS} ms${leg.ringing ? '' : ' (it has not rung yet)'}: the call still rings`), ANSWER_TIMEOUT_MS);
    if ('unref' in a.timer) a.timer.unref(); // a switch that stops does not wait for it
    if (leg.ringing) this.answerByNotify(leg); // else at its 180 (LegEvents.ringing)
    return { pending: true };
  }

  /** NOTIFY talk for the pending answer; the answer fails if the phone cannot or will not take it. */
  private answerByNotify(leg: Leg): void {
    const a = this.answers.get(leg);
    if (!a) return;
    if (!leg.talkAllowed) return this.answerFailed(leg, `${leg.dn}'s phone does not accept remote answer (its 180 had no "Allow-Events: talk"): answer on the phone; the call still rings`);
    void this.control.talk(leg).then((res) => {
      if (this.answers.get(leg) !== a) return; // answered (its 200 came first) or gone meanwhile
      if (res.status >= 300) return this.answerFailed(leg, `${leg.dn}'s phone refused the remote answer (NOTIFY talk: ${res.status} ${res.reason}): answer on the phone; the call still rings`);
      a.notified = true;
    }).catch((err: unknown) => this.log.error({ err, leg: leg.label }, 'internal error after NOTIFY talk'));
  }

  /** The pending answer of `leg` (if any) fails: its command result, no event. */
  private answerFailed(leg: Leg, message: string): void {
    const a = this.answers.get(leg);
    if (!a) return;
    this.answers.delete(leg);
    this.clock.clearTimeout(a.timer);
    this.log.info({ leg: leg.label, commandId: a.commandId }, `remote answer failed: ${message}`);
    this.hooks.commandDone(a.commandId, refused('InvalidState', message));
  }

  private transferred(callId: string, dn: string, secondary: string): void {
    for (const id of [callId, secondary]) {
      const mine = id ? this.legs.of(id, dn) : undefined;
      if (mine) this.answerFailed(mine, `${dn} was transferred before its phone answered: not answered`);
      if (mine) this.pending.legGone(mine, 'was transferred away');
      if (mine) this.control.end(mine);
    }
    if (!secondary) return; // single-step: the DELIVERED that follows rings the target
    for (const moved of this.legs.ofCall(secondary)) this.legs.move(moved, callId);
    const [a, b] = this.legs.ofCall(callId);
    if (!a || !b) return;
    const pending = a.phase === 'pending' ? a : b.phase === 'pending' ? b : undefined;
    if (pending) {
      const peer = pending === a ? b : a;
      if (peer.phase === 'confirmed' || peer.phase === 'offered') this.control.invite(pending, false);
    } else if (a.phase === 'confirmed' && b.phase === 'confirmed' && !this.bridged.has(a) && !this.bridged.has(b)) {
      void this.control.bridge(a, b);
    }
  }

  // ------------------------------------------------------------------ SIP -> PBX

  /** Our INVITE was answered: report it unless the switch already did (Answer command, or the 3PCC originator). */
  private onAnswered(leg: Leg): void {
    const p = this.pending.ofLeg(leg);
    if (p?.answered) return p.answered(leg);
    const a = this.answers.get(leg);
    if (a) {
      // The pending Answer command runs now: its ESTABLISHED and its result, as on the simulator.
      this.answers.delete(leg);
      this.clock.clearTimeout(a.timer);
      const o = this.pbx.command({ ...a.cmd, answer: { callId: leg.callId, dn: leg.dn } }, Date.now());
      this.hooks.commandDone(a.commandId, o);
      if (o.ok) this.effects(o.events);
      return;
    }
    const state = this.pbx.partyState(leg.callId, leg.dn);
    if (state === S.ALERTING || state === S.NETWORK) this.emit(this.pbx.autoAnswer(leg.callId, leg.dn, Date.now()), `${leg.label} answered`);
  }

  /** The endpoint of `leg` left (BYE, CANCEL, refusal): the party leaves the switch call. */
  partyLeft(leg: Leg, why: string): void {
    this.log.info({ leg: leg.label, why }, 'party left');
    const o = leg.kind === 'trunk' && leg.role === 'uas'
      ? this.pbx.callerHangup(leg.callId, leg.dn, Date.now())
      : this.pbx.release(leg.callId, leg.dn, Date.now());
    this.emit(o, why);
    this.answerFailed(leg, `${leg.dn}'s phone ended the call before it answered (${why}): not answered`);
    this.pending.legGone(leg, `ended the call (${why})`);
  }

  /** A registration change: the DN in or out of service on the switch link. */
  serviceChanged(c: ServiceChange): void {
    this.log.info({ dn: c.dn, inService: c.inService, why: c.why }, c.inService ? 'DN back in service' : 'DN out of service');
    this.hooks.publish({ ok: true, callId: '', events: [{ timeMs: Date.now(), type: c.inService ? E.DN_BACK_IN_SERVICE : E.DN_OUT_OF_SERVICE, dn: c.dn }] });
  }

  admit(): ReturnType<SwitchHooks['admit']> { return this.hooks.admit(); }
}

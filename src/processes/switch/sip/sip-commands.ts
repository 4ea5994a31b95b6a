// The commands whose events the SIP switch reports only after SIP carried them out: the SIP exchange
// runs first, with the switch call unchanged; when it succeeds the PBX runs the command (its events
// and result go out together, the simulator's sequence, later); when it fails nothing was reported
// and what SIP had already changed is undone, so the call stays as the desktops see it.
//  - make call: the agent's phone answers our INVITE (answer-after=0) -> ORIGINATED, DELIVERED;
//  - hold / retrieve: both legs of the bridge accept the re-INVITE (sendonly / sendrecv) -> HELD / RETRIEVED;
//  - consultation: the hold above (if still connected), then the agent's phone answers a new INVITE;
//  - transfer: the caller and the consulted party, both answered, re-bridged (offerless re-INVITE,
//    offer, answer in the ACK) -> TRANSFERRED; a target still ringing is bridged when it answers;
//  - single-step transfer: the target's phone rings (180/183) or answers -> TRANSFERRED, DELIVERED.
import { sw } from '../../../wire/switch-proto.js';
import type { PbxOutcome } from '../pbx.js';
import type { CommandOutcome } from '../call-model.js';
import type { Leg } from './leg.js';
import { withDirection, type Direction } from './sdp.js';
import { COMMAND_TIMEOUT_MS, who, type PendingCommand, type PendingCommands } from './pending-commands.js';
import type { SipCallModel } from './sip-call-model.js';

const S = sw.ConnectionState;
const PENDING = { pending: true } as const;
const refusal = (r: { status: number; reason: string }) => (r.status ? `answered ${r.status} ${r.reason}` : r.reason);

export class SipCommands {
  constructor(private readonly m: SipCallModel, private readonly pending: PendingCommands) {}

  /** The PBX runs the command whose SIP side succeeded: result, events, their SIP effects. */
  private run(p: PendingCommand, cmd: sw.ICommand, before?: (o: Extract<PbxOutcome, { ok: true }>) => void): PbxOutcome | undefined {
    if (p.settled) return undefined;
    const o = this.m.pbx.command(cmd, Date.now());
    if (o.ok) before?.(o);
    this.pending.complete(p, o);
    if (o.ok) this.m.effects(o.events);
    else p.undo?.();
    return o;
  }

  /** The legs of the bridge `dn` is on that carry media (confirmed, with an SDP of ours). */
  private mediaLegs(callId: string, dn: string): Leg[] {
    const leg = this.m.legs.of(callId, dn);
    return [leg, leg && this.m.legs.peerOf(leg)].filter((l): l is Leg => !!l && l.phase === 'confirmed' && !!l.localSdp);
  }

  /**
   * Re-offers every leg with `dir`; on any refusal (or when the command settled meanwhile: timeout,
   * release) the legs that accepted are re-offered `back`. Resolves with the first refusal, if any.
   */
  private async redirect(p: PendingCommand, legs: Leg[], dir: Direction, back: Direction): Promise<string | undefined> {
    const results = await Promise.all(legs.map((l) => this.m.control.reofferQueued(l, withDirection(l.localSdp, dir))));
    const bad = results.findIndex((r) => !r.ok);
    if (bad >= 0 || p.settled) {
      legs.forEach((l, i) => { if (results[i]!.ok) void this.m.control.reofferQueued(l, withDirection(l.localSdp, back)); });
    }
    const r = results[bad];
    return r && !r.ok ? `${who(legs[bad]!)} ${refusal(r)} to the re-INVITE (${dir})` : undefined;
  }

  holdOrRetrieve(cmd: sw.ICommand, hold: boolean): CommandOutcome {
    const { callId = '', dn = '' } = (hold ? cmd.hold : cmd.retrieve) ?? {};
    const legs = this.mediaLegs(callId ?? '', dn ?? '');
    // The PBX refuses (and says why) when the state is wrong; with no leg to re-offer nothing waits.
    if (this.m.pbx.partyState(callId ?? '', dn ?? '') !== (hold ? S.CONNECTED : S.HELD) || legs.length === 0) return this.m.runNow(cmd);
    const [dir, back]: [Direction, Direction] = hold ? ['sendonly', 'sendrecv'] : ['sendrecv', 'sendonly'];
    const p = this.pending.start({
      commandId: cmd.commandId ?? '', what: `${hold ? 'hold' : 'retrieve'} of ${dn} on call ${callId}`,
      unchanged: `the call stays ${hold ? 'Established' : 'Held'}`, calls: new Set([callId ?? '']), legs: new Set(legs),
    }, () => `no answer to the re-INVITE (${dir}) within ${COMMAND_TIMEOUT_MS} ms`);
    void this.redirect(p, legs, dir, back).then((bad) => (bad ? this.pending.fail(p, bad) : this.run(p, cmd)));
    return PENDING;
  }

  makeCall(cmd: sw.ICommand): CommandOutcome {
    const { dn = '', to = '' } = cmd.makeCall ?? {};
    if (this.m.plan.classify(dn ?? '') !== sw.DeviceType.EXTENSION || this.m.plan.classify(to ?? '') === undefined || to === dn) return this.m.runNow(cmd);
    const placeholder = `pending:${cmd.commandId ?? ''}`;
    const leg = this.m.uacLeg(placeholder, dn ?? '', to ?? '');
    if (!leg) return this.m.runNow(cmd);
    this.m.legs.add(leg);
    const p = this.pending.start({
      commandId: cmd.commandId ?? '', what: `make call ${dn} -> ${to}`, unchanged: 'no call was made',
      calls: new Set([placeholder]), legs: new Set([leg]), undo: () => this.m.control.end(leg),
      answered: () => this.run(p, cmd, (o) => this.m.legs.move(leg, o.callId)),
    }, () => `${who(leg)} did not answer the make-call INVITE within ${COMMAND_TIMEOUT_MS} ms (it must auto-answer "Call-Info: answer-after=0")`);
    this.m.control.invite(leg, true);
    return PENDING;
  }

  consult(cmd: sw.ICommand): CommandOutcome {
    const { callId = '', dn = '', to = '' } = cmd.consultationCall ?? {};
    const state = this.m.pbx.partyState(callId ?? '', dn ?? '');
    if ((state !== S.CONNECTED && state !== S.HELD) || this.m.plan.classify(to ?? '') === undefined || to === dn) return this.m.runNow(cmd);
    const placeholder = `pending:${cmd.commandId ?? ''}`;
    const held = state === S.CONNECTED ? this.mediaLegs(callId ?? '', dn ?? '') : [];
    let leg: Leg | undefined;
    const p = this.pending.start({
      commandId: cmd.commandId ?? '', what: `consultation from ${dn} to ${to}`,
      unchanged: state === S.CONNECTED ? `call ${callId} stays Established` : `call ${callId} stays Held`,
      calls: new Set([callId ?? '', placeholder]), legs: new Set(held),
      undo: () => {
        if (leg) this.m.control.end(leg);
        for (const l of held) if (l.phase === 'confirmed') void this.m.control.reofferQueued(l, withDirection(l.localSdp, 'sendrecv'));
      },
      answered: () => this.run(p, cmd, (o) => { if (leg) this.m.legs.move(leg, o.callId); }),
    }, () => (leg ? `${who(leg)} did not answer the consultation INVITE within ${COMMAND_TIMEOUT_MS} ms (it must auto-answer "Call-Info: answer-after=0")` : `no answer to the hold re-INVITE within ${COMMAND_TIMEOUT_MS} ms`));
    void this.redirect(p, held, 'sendonly', 'sendrecv').then((bad) => {
      if (bad) return this.pending.fail(p, bad);
      if (p.settled) return;
      leg = this.m.uacLeg(placeholder, dn ?? '', to ?? '');
      if (!leg) return this.pending.fail(p, `${dn} has no registered phone any more`);
      this.m.legs.add(leg);
      p.legs.add(leg);
      this.m.control.invite(leg, true);
    });
    return PENDING;
  }

  /** Two-step transfer: pending while the caller and an answered target are re-bridged. */
  transfer(cmd: sw.ICommand): CommandOutcome {
    const { heldCallId = '', activeCallId = '', dn = '' } = cmd.transfer ?? {};
    const caller = this.m.legs.ofCall(heldCallId ?? '').filter((l) => l.dn !== dn);
    const target = this.m.legs.ofCall(activeCallId ?? '').filter((l) => l.dn !== dn);
    const ready = heldCallId !== activeCallId && this.m.pbx.partyState(heldCallId ?? '', dn ?? '') === S.HELD && this.m.pbx.partyState(activeCallId ?? '', dn ?? '') !== undefined
      && caller.length === 1 && target.length === 1 && caller[0]!.phase === 'confirmed' && target[0]!.phase === 'confirmed';
    // Not both answered (the target still rings: its 200 is bridged when it comes), or the PBX refuses: at once.
    if (!ready) return this.m.runNow(cmd);
    const [a, b] = [caller[0]!, target[0]!];
    const p = this.pending.start({
      commandId: cmd.commandId ?? '', what: `transfer of call ${heldCallId} from ${dn} to ${b.dn}`,
      unchanged: `${dn} keeps both calls (${heldCallId} held, ${activeCallId} established)`,
      calls: new Set([heldCallId ?? '', activeCallId ?? '']), legs: new Set([a, b, ...this.m.legs.ofCall(heldCallId ?? ''), ...this.m.legs.ofCall(activeCallId ?? '')]),
    }, () => `the re-bridge of ${a.dn} and ${b.dn} got no answer within ${COMMAND_TIMEOUT_MS} ms`);
    void this.m.control.bridge(a, b).then((r) => {
      if (!r.ok) return this.pending.fail(p, `${who(r.leg)} ${refusal(r)} to the re-INVITE that re-bridges the call`);
      this.m.bridged.add(b);
      this.run(p, cmd);
      this.m.bridged.delete(b);
    });
    return PENDING;
  }

  /** Single-step transfer: pending until the target's phone rings (or answers). */
  singleStepTransfer(cmd: sw.ICommand): CommandOutcome {
    const { callId = '', dn = '', to = '' } = cmd.singleStepTransfer ?? {};
    const state = this.m.pbx.partyState(callId ?? '', dn ?? '');
    const others = this.m.legs.ofCall(callId ?? '').filter((l) => l.dn !== dn);
    if ((state !== S.CONNECTED && state !== S.HELD) || this.m.plan.classify(to ?? '') === undefined || this.m.pbx.partyState(callId ?? '', to ?? '') !== undefined
      || others.length !== 1 || others[0]!.phase !== 'confirmed') return this.m.runNow(cmd);
    const placeholder = `pending:${cmd.commandId ?? ''}`;
    const leg = this.m.uacLeg(placeholder, to ?? '', others[0]!.dn);
    if (!leg) return this.m.runNow(cmd);
    this.m.legs.add(leg);
    const done = () => this.run(p, cmd, (o) => this.m.legs.move(leg, o.callId));
    const p = this.pending.start({
      commandId: cmd.commandId ?? '', what: `single-step transfer of call ${callId} from ${dn} to ${to}`, unchanged: `${dn} keeps the call`,
      calls: new Set([callId ?? '', placeholder]), legs: new Set([leg, ...this.m.legs.ofCall(callId ?? '')]), undo: () => this.m.control.end(leg),
      ringing: () => done(),
      answered: () => {
        // It answered without ringing first: transferred, then answered and bridged to the caller.
        if (!done()?.ok) return;
        this.m.emit(this.m.pbx.autoAnswer(leg.callId, leg.dn, Date.now()), `${leg.label} answered`);
        const peer = this.m.legs.peerOf(leg);
        if (peer?.phase === 'confirmed') void this.m.control.bridge(peer, leg);
      },
    }, () => `${who(leg)} did not ring within ${COMMAND_TIMEOUT_MS} ms`);
    this.m.control.invite(leg, false);
    return PENDING;
  }
}

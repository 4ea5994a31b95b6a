// Commands the SIP switch reports only once the SIP exchange that carries them out has succeeded
// (make call, hold, retrieve, consultation, transfer, single-step transfer; the remote answer has its
// own path in sip-call-model.ts). Each is pending (CommandOutcome `{pending: true}`) until its flow in
// sip-commands.ts completes it or it fails: the endpoint refused, did not answer in time, or one of
// its legs ended first. Exactly one result per command, through SwitchHooks.commandDone.
import type { Logger } from '../../../lib/log.js';
import type { Clock, ClockTimer } from '../../../lib/clock.js';
import type { PbxOutcome } from '../pbx.js';
import type { Leg } from './leg.js';

/**
 * How long an endpoint has to answer the SIP request that carries out a command (the agent's phone
 * for make call and consultation, the re-INVITEs of hold and retrieve, the target's ringing for a
 * single-step transfer). Below the T-Server's pending timeout (10 s), which would answer the desktop
 * SwitchUnavailable without saying why.
 */
export const COMMAND_TIMEOUT_MS = 8_000;

export interface PendingCommand {
  readonly commandId: string;
  /** What it does, for messages and logs: "hold of 5001 on s3". */
  readonly what: string;
  /** What is left as it was when it fails: "the call stays Established". */
  readonly unchanged: string;
  /** Switch calls it works on (including a not-yet-existing call's placeholder id): other commands there wait. */
  readonly calls: Set<string>;
  /** Legs whose end fails it. */
  readonly legs: Set<Leg>;
  /** Set once its result went out: a late SIP response then only undoes what it did. */
  settled: boolean;
  /** Undoes the SIP side on failure (re-offers what a leg had, cancels a leg it started). */
  undo?: () => void;
  /** The flow's reactions to a leg of its own ringing or answering. */
  ringing?: (leg: Leg) => void;
  answered?: (leg: Leg) => void;
  timer?: ClockTimer;
}

export class PendingCommands {
  private readonly byId = new Map<string, PendingCommand>();

  constructor(private readonly clock: Clock, private readonly done: (commandId: string, o: PbxOutcome) => void, private readonly log: Logger) {}

  /** A new pending command; fails with `timeoutMessage` when nothing settled it within COMMAND_TIMEOUT_MS. */
  start(p: Omit<PendingCommand, 'settled' | 'timer'>, timeoutMessage: () => string): PendingCommand {
    const cmd: PendingCommand = { ...p, settled: false };
    this.byId.set(cmd.commandId, cmd);
    cmd.timer = this.clock.setTimeout(() => this.fail(cmd, timeoutMessage()), COMMAND_TIMEOUT_MS);
    if ('unref' in cmd.timer) cmd.timer.unref(); // a switch that stops does not wait for it
    this.log.debug({ commandId: cmd.commandId, what: cmd.what }, 'command pending on SIP');
    return cmd;
  }

  /** The pending command working on switch call `callId`, if any. */
  onCall(callId: string): PendingCommand | undefined {
    for (const p of this.byId.values()) if (p.calls.has(callId)) return p;
    return undefined;
  }

  /** The pending command that waits for `leg`, if any. */
  ofLeg(leg: Leg): PendingCommand | undefined {
    for (const p of this.byId.values()) if (p.legs.has(leg)) return p;
    return undefined;
  }

  /** Takes the command out before its result is sent; false when it had already settled. */
  settle(p: PendingCommand): boolean {
    if (p.settled) return false;
    p.settled = true;
    this.byId.delete(p.commandId);
    this.clock.clearTimeout(p.timer);
    return true;
  }

  /** Its SIP side succeeded and the call model ran it: the result (and its events) go out now. */
  complete(p: PendingCommand, o: PbxOutcome): boolean {
    if (!this.settle(p)) return false;
    this.done(p.commandId, o);
    return true;
  }

  /** Fails it (InvalidState, `why` and what stays as it was), then undoes its SIP side. */
  fail(p: PendingCommand, why: string): void {
    if (!this.settle(p)) return;
    const message = `${p.what} failed: ${why}: ${p.unchanged}`;
    this.log.info({ commandId: p.commandId }, message);
    this.done(p.commandId, { ok: false, error: { code: 'InvalidState', message } });
    p.undo?.();
  }

  /** `leg` ended (BYE, CANCEL, refusal, release): whatever waited for it fails. */
  legGone(leg: Leg, why: string): void {
    for (const p of [...this.byId.values()]) if (p.legs.has(leg)) this.fail(p, `${who(leg)} ${why}`);
  }
}

/** The endpoint behind a leg, in a message. */
export function who(leg: Leg): string {
  return leg.kind === 'phone' ? `${leg.dn}'s phone` : `the trunk party ${leg.dn}`;
}

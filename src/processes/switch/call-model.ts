// The call model behind the switch link (server.ts): the simulated PBX (pbx.ts) or the SIP B2BUA
// (src/processes/switch/sip/sip-call-model.ts). server.ts owns the link, lease, event log, command ids and overload
// gate; the model owns the calls. Both emit the same switch events (docs/switch.md), so a T-Server
// cannot tell which one it talks to.
import type { sw } from '../../wire/switch-proto.js';
import type { PbxOutcome } from './pbx.js';

/**
 * A command's outcome: done now (events and result at once), or pending: the model reports it later
 * through SwitchHooks.commandDone with the same command id, exactly once (the SIP switch's remote
 * answer waits for the phone's 200 OK).
 */
export type CommandOutcome = PbxOutcome | { pending: true };

export interface CallModel {
  /** One call-control command, already fenced by the lease. Events it causes synchronously come back in the outcome. */
  command(cmd: sw.ICommand, now: number): CommandOutcome;
  /** Simulate.InboundCall (a simulated caller; the SIP switch refuses it: its callers are SIP trunks). */
  inboundCall(ani: string, dnis: string, now: number): PbxOutcome;
  /** Simulate.CallerHangup. */
  callerHangup(callId: string, ani: string, now: number): PbxOutcome;
  /** Auto-answer and talk-time timers (auto-answer.ts). */
  autoAnswer(callId: string, dn: string, now: number): PbxOutcome;
  release(callId: string, dn: string, now: number): PbxOutcome;
  snapshotCalls(): sw.ISwitchCall[];
  /** Every internal device with its service state, for SnapshotQuery. */
  devices(): sw.IDevice[];
}

/**
 * What a model that produces events by itself (SIP messages, registrations, timers) needs from the
 * switch: `publish` numbers the events and sends them to every link like a command's events;
 * `commandDone` completes a pending command;
 * `admit` is the overload gate for a new inbound call (docs/switch.md "Overload control").
 */
export interface SwitchHooks {
  publish(outcome: PbxOutcome): void;
  /**
   * The result of a command that was pending: its events are published and its CommandResult sent
   * (and remembered for the command id) as if it had just run. Exactly once per pending command.
   */
  commandDone(commandId: string, outcome: PbxOutcome): void;
  admit(): { admit: true } | { admit: false; message: string };
}

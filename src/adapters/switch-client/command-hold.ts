// Commands the core issued while this primary's lease was uncertain (its renewal late, not deposed:
// a starved or briefly stalled process). Sending them could break fencing; dropping them left an
// ACD offer in flight for the core's pending timeout (10 s) with its agent reserved (chaos drill:
// 3 agents idle for 10 s after a 375 ms lease hiccup). Held here, they go out in order once the
// lease is renewed under the same epoch, and are dropped when the link leaves `up` (deposed, down):
// then the core re-issues or answers SwitchUnavailable after its pending timeout, as before.
import type { SwitchCommand } from '../../core/api.js';

/** At most this many held: a minute of a busy primary's ACD cannot pile up behind one late renewal. */
export const MAX_HELD_COMMANDS = 5_000;

export class CommandHold {
  private held: SwitchCommand[] = [];
  private overflow = 0;

  get size(): number { return this.held.length; }

  /** Keeps what fits; the rest is counted as overflowed (dropped, as a link that is down drops them). */
  add(commands: readonly SwitchCommand[]): void {
    const room = Math.max(0, MAX_HELD_COMMANDS - this.held.length);
    this.held.push(...commands.slice(0, room));
    this.overflow += Math.max(0, commands.length - room);
  }

  /** The held commands in issue order, and how many overflowed meanwhile; empties the hold. */
  take(): { commands: SwitchCommand[]; overflowed: number } {
    const out = { commands: this.held, overflowed: this.overflow };
    this.held = [];
    this.overflow = 0;
    return out;
  }
}

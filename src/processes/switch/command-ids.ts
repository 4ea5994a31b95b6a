// Exactly-once for commands, and the record of who commanded when. Both bounded: the oldest entry
// goes first. A T-Server retries a command after a failover with the same id; the switch answers
// with the first result and runs nothing, so a retry can never double a call action.
import type { sw } from '../../wire/switch-proto.js';

/** A bounded map command id -> first result (insertion-ordered Map = FIFO eviction). */
export class CommandIds {
  private readonly results = new Map<string, sw.ICommandResult>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`command id capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number { return this.results.size; }

  /** The stored first result, marked duplicate, or undefined when the id is new. */
  repeat(commandId: string): sw.ICommandResult | undefined {
    const first = this.results.get(commandId);
    return first ? { ...first, duplicate: true } : undefined;
  }

  remember(commandId: string, result: sw.ICommandResult): void {
    if (this.results.has(commandId)) return; // the first result stays
    this.results.set(commandId, { ...result, duplicate: false });
    if (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value!);
  }
}

/** Accepted commands (newest last, bounded) and totals, for CommandLogQuery. */
export class CommandRecord {
  private readonly accepted: sw.IAcceptedCommand[] = [];
  private totalAccepted = 0;
  private totalRefused = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`command log capacity must be a positive integer, got ${capacity}`);
  }

  accept(entry: sw.IAcceptedCommand): void {
    this.totalAccepted++;
    this.accepted.push(entry);
    // Amortised trimming: splice once the array is 2x over, not on every push.
    if (this.accepted.length >= this.capacity * 2) this.accepted.splice(0, this.accepted.length - this.capacity);
  }

  refuse(): void { this.totalRefused++; }

  query(requestId: number): sw.ICommandLog {
    return {
      requestId,
      commands: this.accepted.slice(-this.capacity),
      totalAccepted: this.totalAccepted,
      totalRefused: this.totalRefused,
    };
  }
}

// Runs the pure core inside the process: owns the CoreState, turns requests, switch input and timer
// ticks into core inputs, sends the resulting commands to the switch, and hands deltas and
// desktop-bound output to the batch collector. Nothing else mutates the state.
import type { Logger } from '../lib/log.js';
import type { sw } from '../wire/switch-proto.js';
import { applyDelta, CoreBugError, createState, handle, nextDeadline } from '../core/index.js';
import type { CoreConfig, CoreInput, CoreOutput, CoreState, Delta, SwitchCommand } from '../core/api.js';
import type { Request } from '../protocol/messages.js';
import type { BatchCollector } from './outbound.js';
import type { RoleView } from '../ha/role.js';
import { RunToCompletion } from '../lib/run-to-completion.js';

export interface CommandSink {
  /** Sends commands (stamped with the epoch); drops them when the link is not up. */
  send(commands: SwitchCommand[]): void;
  readonly isUp: boolean;
}

export interface CoreHostOptions {
  config: CoreConfig;
  role: RoleView;
  batch: BatchCollector;
  log: Logger;
  now?: () => number;
  /**
   * A core input threw (a bug; the core rolled the input back, nothing of it was output). The process
   * must stop being primary at once: the T-Server exits non-zero (tserver-cmd.ts) so its in-sync
   * backup, which never saw the input, takes over. Without it the error is thrown to the caller.
   */
  onCoreBug?: (err: CoreBugError) => void;
}

export class CoreHost {
  state: CoreState = createState();
  private commands: CommandSink | undefined;
  /** One input at a time: an input submitted while one runs (by code its output reaches) waits for it. */
  private readonly inputs = new RunToCompletion<CoreInput>((input) => this.runOne(input));
  /** Invariant: set iff the role is serving and the core has a deadline. */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private readonly now: () => number;
  private quiet = false;
  /** A primary's undo log hook (src/adapters/sync/undo-log.ts); undefined on a backup or a single server. */
  beforeApply: ((state: CoreState, d: Delta) => void) | undefined;
  /**
   * Test hooks only (core-bug-test-hook.ts, TANDEM_TEST_HOOKS=1): the next input throws after this
   * many of its deltas were applied, as a core bug half-way through an input would. Undefined in
   * production.
   */
  failNextInputAfter: number | undefined;

  constructor(private readonly opts: CoreHostOptions) {
    this.now = opts.now ?? Date.now;
  }

  get config(): CoreConfig { return this.opts.config; }

  attachSwitch(sink: CommandSink): void { this.commands = sink; }

  request(clientName: string, request: Request): void {
    this.input({ kind: 'request', clientName, request });
  }

  switchEvents(events: sw.ISwitchEvent[]): void { this.input({ kind: 'switchEvents', events }); }
  commandResult(result: sw.ICommandResult): void { this.input({ kind: 'commandResult', result }); }
  switchSnapshot(snapshot: sw.ISnapshot): void { this.input({ kind: 'switchSnapshot', snapshot }); }

  /** Runs one input through the core. Re-entrant calls are queued and run after the current one, in order. */
  input(input: CoreInput): void {
    // The call that drained the queue arms the timer once, on the state after all its inputs (a queued
    // input's call returns at once). A throw skips it and reaches that caller.
    if (this.inputs.submit(input)) this.armTimer();
  }

  /**
   * Promotion: registrations a desktop made on this server while it was backup and that the
   * replicated state lacks go through the core now (deltas replicated as usual); the answers were
   * given at the time, so the core's replies are not sent again.
   */
  registerQuietly(clientName: string, dns: readonly string[]): void {
    this.quiet = true;
    try {
      for (const dn of dns) this.input({ kind: 'request', clientName, request: { request: 'RequestRegisterAddress', referenceId: 0, thisDN: dn } as Request });
    } finally {
      this.quiet = false;
    }
  }

  /** Deltas from the primary (HA backup): applied as they are, no core logic runs. */
  applyRemote(deltas: readonly Delta[]): void {
    for (const d of deltas) applyDelta(this.state, d);
  }

  /** Replaces the whole state (a backup's full resync). */
  replaceState(state: CoreState): void {
    this.state = state;
    this.armTimer();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private runOne(input: CoreInput): void {
    let out: CoreOutput;
    try {
      const beforeApply = this.failNextInputAfter === undefined ? this.beforeApply : this.injectedFault(this.failNextInputAfter);
      out = handle(this.state, input, { now: this.now(), config: this.opts.config, switchUp: this.commands?.isUp ?? false, ...(beforeApply ? { beforeApply } : {}) });
    } catch (err) {
      if (!(err instanceof CoreBugError)) throw err;
      // Not swallowed: a primary that carried on would serve a state its core could not handle, and
      // the next input might fail half-way where no rollback reaches (the switch, the desktops).
      this.opts.log.error({ code: err.code, err: err.cause, undoneDeltas: err.undone, input: describeInput(input) }, 'core bug: the input was rolled back; stopping so the backup takes over');
      if (!this.opts.onCoreBug) throw err;
      this.opts.onCoreBug(err);
      return;
    }
    const b = this.opts.batch;
    b.deltas(out.deltas);
    for (const entry of out.events) b.add({ kind: 'event', entry });
    if (!this.quiet) for (const r of out.replies) b.add({ kind: 'reply', clientName: r.clientName, event: r.event });
    if (out.commands.length > 0) this.commands?.send(out.commands);
  }

  private injectedFault(after: number): (state: CoreState, d: Delta) => void {
    this.failNextInputAfter = undefined;
    let applied = 0;
    return (state, d) => {
      if (applied++ === after) throw new Error(`injected core fault after ${after} delta(s) (test hook)`);
      this.beforeApply?.(state, d);
    };
  }

  /** One timer at the core's next deadline; only a serving primary runs core timers. */
  armTimer(): void {
    const at = this.opts.role.serving ? nextDeadline(this.state, this.opts.config) : undefined;
    if (at === undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer && this.timerAt === at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => { this.timer = undefined; this.input({ kind: 'tick' }); }, Math.max(0, at - this.now()));
  }
}

/** What a core input was, for the log: names and ids, never user data or tokens. */
export function describeInput(input: CoreInput): Record<string, unknown> {
  switch (input.kind) {
    case 'request': {
      const r = input.request as Request & Partial<Record<'thisDN' | 'otherDN' | 'connId', string>>;
      return { kind: input.kind, clientName: input.clientName, request: r.request, referenceId: r.referenceId, thisDN: r.thisDN, otherDN: r.otherDN, connId: r.connId };
    }
    case 'switchEvents':
      return { kind: input.kind, events: input.events.slice(0, 20).map((e) => ({ seq: e.seq, type: e.type, callId: e.callId, dn: e.dn, otherDn: e.otherDn, commandId: e.commandId })), count: input.events.length };
    case 'commandResult':
      return { kind: input.kind, commandId: input.result.commandId, ok: input.result.ok, errorCode: input.result.errorCode };
    case 'switchSnapshot':
      return { kind: input.kind, calls: input.snapshot.calls?.length ?? 0 };
    case 'tick':
      return { kind: input.kind };
    default: {
      const never: never = input;
      return { kind: (never as { kind: string }).kind };
    }
  }
}

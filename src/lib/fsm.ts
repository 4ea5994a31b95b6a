// The one guarded state machine behind every hand-rolled one in the tree (switch link, sync streams,
// SDK link, supervised child...), after grpc-js's `transitionToState(allowedFrom, to)`:
// - a table gives, for each target state, the states it may be entered from;
// - a caller passes the state(s) it believes current: a callback from an old stream or timer that
//   acts on a world that has moved on is refused (false, a debug line) instead of undoing a newer
//   decision;
// - every change is one log line `<name> from -> to` with {machine, from, to, reason};
// - listeners run after the change (entry actions), in registration order.
// Browser-safe (the SDK uses it): no imports; the logger is anything pino-shaped.

/** The logging the machine needs: pino's Logger fits, and so does a small adapter (SDK). */
export interface FsmLogger {
  /** Nothing is written: the machine does not build its lines (an SDK without a log sink, 1,000 per process in a bench). */
  discardsLines?: boolean;
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export type FsmLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Transition<S extends string> {
  from: S;
  to: S;
  reason: string;
}

export interface FsmOptions<S extends string> {
  /** Names the machine in log lines: `${name} ${from} -> ${to}`. */
  name: string;
  initial: S;
  /**
   * For each target state, the states it may be entered from. A state missing from its own list
   * cannot be re-entered (a transition to the current state is refused).
   */
  allowedFrom: { readonly [K in S]: readonly S[] };
  log: FsmLogger;
  /** Level of a transition's log line (default info). */
  level?: (t: Transition<S>) => FsmLevel;
  /** Extra fields on every transition and refusal line (e.g. the replication offset). */
  fields?: () => Record<string, unknown>;
}

export class StateMachine<S extends string> {
  private current: S;
  private readonly listeners: ((t: Transition<S>) => void)[] = [];

  constructor(private readonly opts: FsmOptions<S>) {
    this.current = opts.initial;
  }

  get state(): S { return this.current; }

  /** True when the machine is in one of `states`. */
  is(...states: S[]): boolean { return states.includes(this.current); }

  /** True when `to` may be entered from the current state (the table only; nothing changes). */
  canEnter(to: S): boolean { return this.opts.allowedFrom[to].includes(this.current); }

  /**
   * Moves to `to` if the machine is in `from` (the state, or one of the states, the caller saw) and
   * the table allows the move; returns false and changes nothing otherwise.
   */
  transition(from: S | readonly S[], to: S, reason: string): boolean {
    const was = this.current;
    const expected: readonly S[] = typeof from === 'string' ? [from] : from;
    if (!expected.includes(was) || !this.opts.allowedFrom[to].includes(was)) {
      if (!this.opts.log.discardsLines) this.opts.log.debug(
        { machine: this.opts.name, state: was, expected, to, reason, ...this.opts.fields?.() },
        `${this.opts.name} ${was} -> ${to} refused: ${expected.includes(was) ? 'not allowed' : `stale caller (expected ${expected.join(' or ')})`}`,
      );
      return false;
    }
    this.current = to;
    const t: Transition<S> = { from: was, to, reason };
    if (!this.opts.log.discardsLines) {
      const level = this.opts.level?.(t) ?? 'info';
      this.opts.log[level]({ machine: this.opts.name, from: was, to, reason, ...this.opts.fields?.() }, `${this.opts.name} ${was} -> ${to}`);
    }
    for (const fn of this.listeners) fn(t);
    return true;
  }

  /** Runs `fn` after every transition; returns the function that removes it. */
  onChange(fn: (t: Transition<S>) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}

/** Every state of the table but `except`: the allowed-from list of a state any other may enter. */
export function allBut<S extends string>(states: readonly S[], ...except: S[]): S[] {
  return states.filter((s) => !except.includes(s));
}

const NO_LINE = (): void => undefined;
const SILENT: FsmLogger = { discardsLines: true, debug: NO_LINE, info: NO_LINE, warn: NO_LINE, error: NO_LINE };

/** A one-function log sink (the SDK's `log` option: no levels) as a machine's logger; none = silent. */
export function sinkLogger(log: ((msg: string, fields?: Record<string, unknown>) => void) | undefined): FsmLogger {
  if (!log) return SILENT;
  const line = (fields: Record<string, unknown>, msg: string): void => log(msg, fields);
  return { debug: line, info: line, warn: line, error: line };
}

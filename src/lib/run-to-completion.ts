// Run-to-completion: inputs are handled one at a time, each to its end before the next begins. An
// input raised while one is being handled (a core output that feeds the core again, an HA effect that
// raises a machine input) is queued and handled after it, in order, by the call already running, so
// a handler never sees a state half-way through another input. Used by the core host
// (pipeline/core-host.ts) and the HA shell (processes/tserver/ha-controller.ts).

export class RunToCompletion<T> {
  /** Inputs submitted while one was being handled, oldest first; empty whenever `running` is false and no handler threw. */
  private readonly queue: T[] = [];
  /** True iff a submit() call further up the stack is draining the queue. */
  private running = false;

  constructor(private readonly handle: (input: T) => void) {}

  /**
   * Handles `input`, and everything submitted meanwhile, in order. Returns true when this call did the
   * draining (the queue is empty on return), false when the input was queued behind the running one.
   *
   * A handler that throws stops the drain: the exception goes to the caller that was draining, and
   * the inputs queued behind the failed one stay queued, to be handled, in order, before the input of
   * the next submit() (nothing submitted is silently dropped).
   */
  submit(input: T): boolean {
    this.queue.push(input);
    if (this.running) return false;
    this.running = true;
    try {
      while (this.queue.length > 0) this.handle(this.queue.shift()!);
    } finally {
      this.running = false;
    }
    return true;
  }
}

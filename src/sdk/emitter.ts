// A tiny typed event emitter that runs in Node and in the browser (no node:events). The SDK's
// status, events and control messages all go through one of these.

/** A listener for one event name of an event map. */
export type Listener<T> = (value: T) => void;

export class TypedEmitter<M extends Record<string, unknown>> {
  private readonly listeners: { [K in keyof M]?: Set<Listener<M[K]>> } = {};

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof M>(name: K, fn: Listener<M[K]>): () => void {
    const set = (this.listeners[name] ??= new Set());
    set.add(fn);
    return () => this.off(name, fn);
  }

  /** Adds a listener that runs once. */
  once<K extends keyof M>(name: K, fn: Listener<M[K]>): () => void {
    const off = this.on(name, (v) => { off(); fn(v); });
    return off;
  }

  off<K extends keyof M>(name: K, fn: Listener<M[K]>): void {
    this.listeners[name]?.delete(fn);
  }

  /**
   * Calls every listener in the order added. A listener that throws does not stop the others nor
   * the SDK's own bookkeeping: the error is reported asynchronously, like an uncaught exception.
   */
  protected emit<K extends keyof M>(name: K, value: M[K]): void {
    const set = this.listeners[name];
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(value);
      } catch (err) {
        queueMicrotask(() => { throw err; });
      }
    }
  }
}

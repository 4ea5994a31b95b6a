// A T-Library test client over a real WebSocket: sends requests with fresh referenceIds, resolves
// each with its direct answer, and records every event so a test can assert exact sequences.
// Every event received is checked against its schema (src/protocol/events.ts, closed: no attribute
// the schema does not list) and every direct answer against DIRECT_ANSWERS: a server that sends
// what the protocol's types do not say fails the test that is waiting, whatever it waits for.
import { WebSocket, type ClientOptions } from 'ws';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { answerNames, EVENTS, isEventName, type RequestName, type TEvent } from '../../src/protocol/messages.js';

const closedChecks = new Map<string, TypeCheck<(typeof EVENTS)[keyof typeof EVENTS]>>();

/** Why an event is not what its schema says, or undefined when it is. */
export function schemaProblem(ev: unknown): string | undefined {
  const name = (ev as { event?: unknown } | null)?.event;
  if (!isEventName(name)) return `unknown event ${JSON.stringify(name)}`;
  let check = closedChecks.get(name);
  if (!check) closedChecks.set(name, (check = TypeCompiler.Compile({ ...EVENTS[name], additionalProperties: false })));
  const first = check.Errors(ev).First();
  return first ? `${name}: ${first.path || '/'} ${first.message} (${JSON.stringify(first.value)})` : undefined;
}

export type Attrs = Record<string, unknown>;

/** A journalled state event (EventServerInfo carries the server's newest seq but is not one). */
export const isStateEvent = (e: TEvent): boolean => e.seq !== undefined && e.event !== 'EventServerInfo';

export class TestClient {
  readonly events: TEvent[] = [];
  /** Events received that their schema refuses (schemaProblem), with the event. */
  readonly violations: string[] = [];
  /** Index of the first event not yet taken by take()/next(). */
  private cursor = 0;
  private nextRef = 1;
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | undefined;
  private closedP: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket, readonly name: string) {
    ws.on('message', (data) => {
      const ev = JSON.parse(data.toString()) as TEvent;
      const problem = schemaProblem(ev);
      if (problem) this.violations.push(`${problem} in ${JSON.stringify(ev).slice(0, 400)}`);
      this.events.push(ev);
      this.wake();
    });
    this.closedP = new Promise((resolve) => ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
      resolve(this.closed);
    }));
  }

  static async connect(url: string, name: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    return new TestClient(ws, name);
  }

  /** Sends a request; resolves with its direct answer (the event carrying its referenceId). */
  async request(request: RequestName, attrs: Attrs = {}, timeoutMs = 5_000): Promise<TEvent> {
    const referenceId = this.nextRef++;
    this.sendRaw(JSON.stringify({ request, referenceId, ...attrs }));
    const answer = await this.waitFor((e) => e.referenceId === referenceId, timeoutMs, `answer to ${request} #${referenceId}`);
    if (answer.event !== 'EventError' && !answerNames(request).includes(answer.event)) {
      throw new Error(`${this.name}: ${request} answered ${answer.event}; its answer is ${answerNames(request).join(' or ')} (DIRECT_ANSWERS, src/protocol/events.ts)`);
    }
    return answer;
  }

  /** Allocates a referenceId without sending (for raw frames built by the test). */
  ref(): number { return this.nextRef++; }

  sendRaw(text: string | Buffer): void { this.ws.send(text); }

  open(extra: Attrs = {}): Promise<TEvent> { return this.request('RequestOpen', { clientName: this.name, ...extra }); }

  /** The first event (seen before or arriving later) matching pred, without consuming anything. */
  waitFor(pred: (e: TEvent) => boolean, timeoutMs = 5_000, what = 'event'): Promise<TEvent> {
    return this.poll(() => this.events.find(pred), timeoutMs, what);
  }

  /** The next unconsumed event matching pred; skipped events before it stay unconsumed. */
  take(pred: (e: TEvent) => boolean, timeoutMs = 5_000, what = 'event'): Promise<TEvent> {
    return this.poll(() => {
      for (let i = this.cursor; i < this.events.length; i++) {
        if (pred(this.events[i]!)) { const e = this.events[i]!; this.cursor = i + 1; return e; }
      }
      return undefined;
    }, timeoutMs, what);
  }

  /** The next `n` state events (with seq) after the cursor, consumed. */
  async nextStateEvents(n: number, timeoutMs = 5_000): Promise<TEvent[]> {
    const out: TEvent[] = [];
    while (out.length < n) out.push(await this.take(isStateEvent, timeoutMs, `state event ${out.length + 1} of ${n}`));
    return out;
  }

  /** Moves the cursor past everything received so far. */
  skipAll(): void { this.cursor = this.events.length; }

  get pending(): TEvent[] { return this.events.slice(this.cursor); }

  closedWith(): Promise<{ code: number; reason: string }> { return this.closedP; }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.ws.close();
    return this.closedP.then(() => undefined);
  }

  private poll<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const wrong = () => new Error(`${this.name}: the server sent an event its schema refuses (src/protocol/events.ts): ${this.violations[0]}`);
    if (this.violations.length > 0) return Promise.reject(wrong());
    const hit = find();
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        if (this.violations.length > 0) { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); reject(wrong()); return; }
        const h = find();
        if (h !== undefined) { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); resolve(h); return; }
        if (this.closed) { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); reject(new Error(`${this.name}: connection closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`)); }
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; last events:\n${this.events.slice(-8).map((e) => JSON.stringify(e).slice(0, 400)).join('\n')}`));
      }, timeoutMs);
      this.waiters.push(check);
    });
  }

  private wake(): void { for (const w of [...this.waiters]) w(); }
}

/**
 * The HTTP status (and body) of a refused WebSocket upgrade, or 101 when it opened (then closed at
 * once): how the edge checks (Origin, caps, tokens at upgrade) are observed from outside.
 */
export function upgradeStatus(url: string, options: ClientOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => { ws.terminate(); resolve({ status: 101, body: '' }); });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => { if (!/Unexpected server response/.test(err.message)) reject(err); });
  });
}

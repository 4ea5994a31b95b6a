// Drives the pure core against the fake switch: every command the core emits is executed by the fake
// switch and its events and result are fed back, until nothing more happens. Records everything.
import { applyDelta, createState, defaultCoreConfig, handle, type CoreConfig, type CoreContext, type CoreInput, type CoreOutput, type CoreState, type Delta, type JournalEntry, type Reply, type SwitchCommand } from '../../src/core/index.js';
import type { Request } from '../../src/protocol/messages.js';
import { FakeSwitch, type DialPlan } from './fake-switch.js';

export const PLAN: DialPlan = { extensions: ['5000', '5001', '5002', '5003', '5004'], routePoints: ['8000', '8001'], queues: ['7000', '7001'] };

/** What one driven input caused, across the whole cascade of switch round trips. */
export interface Step {
  events: JournalEntry[];
  replies: Reply[];
  commands: SwitchCommand[];
  deltas: Delta[];
}

export class Rig {
  state: CoreState = createState();
  now = 1_700_000_000_000;
  switchUp = true;
  /** When false, commands are collected in `held` instead of being executed. */
  autoRun = true;
  held: SwitchCommand[] = [];
  readonly sw: FakeSwitch;
  readonly config: CoreConfig;
  readonly all: Step = { events: [], replies: [], commands: [], deltas: [] };
  private ref = 0;
  /** Passed to the core as CoreContext.beforeApply (a primary's undo log). */
  beforeApply: CoreContext['beforeApply'];

  constructor(config: Partial<CoreConfig> = {}, plan: DialPlan = PLAN, shared?: { sw: FakeSwitch; state: CoreState }) {
    this.config = { ...defaultCoreConfig(), ...config };
    this.sw = shared?.sw ?? new FakeSwitch(plan);
    if (shared) this.state = shared.state;
    else this.feed({ kind: 'switchSnapshot', snapshot: this.sw.snapshot() });
  }

  /** A second server on the same switch whose state is built from `deltas` (sent as JSON, as on the wire). */
  static backupOf(primary: Rig, deltas: Delta[]): Rig {
    const state = createState();
    for (const d of JSON.parse(JSON.stringify(deltas)) as Delta[]) applyDelta(state, d);
    const b = new Rig(primary.config, PLAN, { sw: primary.sw, state });
    b.now = primary.now;
    b.ref = primary.ref;
    return b;
  }

  nextRef(): number {
    return ++this.ref + 1000;
  }

  /** One input and everything it leads to through the fake switch. */
  feed(input: CoreInput): Step {
    const step: Step = { events: [], replies: [], commands: [], deltas: [] };
    const queue: CoreInput[] = [input];
    while (queue.length > 0) {
      const out: CoreOutput = handle(this.state, queue.shift()!, { now: this.now, config: this.config, switchUp: this.switchUp, ...(this.beforeApply ? { beforeApply: this.beforeApply } : {}) });
      for (const k of ['events', 'replies', 'commands', 'deltas'] as const) {
        (step[k] as unknown[]).push(...out[k]);
        (this.all[k] as unknown[]).push(...out[k]);
      }
      for (const cmd of out.commands) {
        if (!this.autoRun) {
          this.held.push(cmd);
          continue;
        }
        const fired = this.sw.exec(cmd);
        if (fired.events.length) queue.push({ kind: 'switchEvents', events: fired.events });
        if (fired.result) queue.push({ kind: 'commandResult', result: fired.result });
      }
    }
    return step;
  }

  /** A request with a fresh referenceId (unless given) from `client`. */
  req(client: string, r: Record<string, unknown> & { request: string }): Step & { referenceId: number } {
    const referenceId = (r.referenceId as number | undefined) ?? this.nextRef();
    const step = this.feed({ kind: 'request', clientName: client, request: { ...r, referenceId } as unknown as Request });
    return { ...step, referenceId };
  }

  inbound(ani: string, dnis: string): Step & { callId: string } {
    const { callId, events } = this.sw.inbound(ani, dnis);
    return { ...this.feed({ kind: 'switchEvents', events }), callId };
  }

  /** An inbound call from `ani`, answered at `dn` by client 'd1': its ConnID. */
  answeredInbound(ani: string, dn: string): string {
    const c = this.connIdOf(this.inbound(ani, dn).callId);
    this.req('d1', { request: 'RequestAnswerCall', thisDN: dn, connId: c });
    return c;
  }

  callerHangup(callId: string): Step {
    return this.feed({ kind: 'switchEvents', events: this.sw.callerHangup(callId) });
  }

  tick(advanceMs: number): Step {
    this.now += advanceMs;
    return this.feed({ kind: 'tick' });
  }

  /** Log in an agent and make it Ready. */
  agentReady(dn: string, agentId: string, queue = '7000'): void {
    this.req('desk' + dn, { request: 'RequestAgentLogin', thisDN: dn, agentId, thisQueue: queue, workMode: 'ManualIn' });
  }

  connIdOf(switchCallId: string): string {
    return this.state.bySwitchCall.get(switchCallId)!;
  }
}

/** `dn:EventName` per event, the compact form the tests compare against. */
export function seqOf(step: { events: JournalEntry[] }): string[] {
  return step.events.map((e) => `${e.dn}:${e.event.event}`);
}

/** The direct answer to referenceId: the journalled event marked as the answer, or a reply. */
export function answerOf(step: Step, referenceId: number): { event: string; errorCode?: string; entry?: JournalEntry } | undefined {
  const entry = step.events.find((e) => e.answer?.referenceId === referenceId);
  if (entry) return { event: entry.event.event, entry };
  const reply = step.replies.find((r) => r.event.referenceId === referenceId);
  return reply ? { event: reply.event.event, errorCode: reply.event.errorCode } : undefined;
}

export function seqsIncrease(entries: JournalEntry[]): boolean {
  return entries.every((e, i) => i === 0 || e.seq > entries[i - 1].seq);
}

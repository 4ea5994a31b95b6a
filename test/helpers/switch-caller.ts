// Simulated callers for tests: a switch link (Hello, no claim) that sends Simulate requests — inbound
// calls, caller hang-ups, auto-answer — and waits for their SimulateResult.
import type { sw } from '../../src/common/switch-proto.js';
import { openSwitchTransport } from '../../src/tserver/link-binding.js';
import type { LinkTransport } from '../../src/tserver/switch-link.js';

interface Teardown { teardown(fn: () => unknown): void }

export class SwitchCaller {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: sw.ISimulateResult) => void>();
  private constructor(private readonly link: LinkTransport) {}

  static async open(t: Teardown, address: string, name = 'caller'): Promise<SwitchCaller> {
    let caller: SwitchCaller | undefined;
    let welcomed!: () => void;
    let failed!: (e: Error) => void;
    const ready = new Promise<void>((resolve, reject) => { welcomed = resolve; failed = reject; });
    const link = openSwitchTransport(address)({
      onMessage: (m) => {
        if (m.welcome) welcomed();
        if (m.simulateResult) caller?.resolve(m.simulateResult);
      },
      onClose: (reason) => failed(new Error(`caller link closed: ${reason}`)),
    });
    caller = new SwitchCaller(link);
    t.teardown(() => link.close());
    link.send({ hello: { serverName: name } });
    await ready;
    return caller;
  }

  /** An external caller `ani` dials `dnis`; resolves with the switch's call id. */
  async inbound(ani: string, dnis: string, hangupAfterMs = 0): Promise<string> {
    const r = await this.simulate({ inboundCall: { ani, dnis, hangupAfterMs } });
    return r.callId ?? '';
  }

  async hangup(ani: string, callId = ''): Promise<sw.ISimulateResult> {
    return this.simulate({ callerHangup: { ani, callId } });
  }

  async autoAnswer(dn: string, answerAfterMs: number, talkMs = 0): Promise<sw.ISimulateResult> {
    return this.simulate({ setAutoAnswer: { dn, answerAfterMs, talkMs } });
  }

  private simulate(op: Omit<sw.ISimulate, 'requestId'>): Promise<sw.ISimulateResult> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting.delete(requestId); reject(new Error(`no SimulateResult for ${JSON.stringify(op)}`)); }, 5_000);
      this.waiting.set(requestId, (r) => {
        clearTimeout(timer);
        if (r.ok) resolve(r);
        else reject(new Error(`simulate ${JSON.stringify(op)} failed: ${r.errorCode} ${r.errorMessage}`));
      });
      this.link.send({ simulate: { requestId, ...op } });
    });
  }

  private resolve(r: sw.ISimulateResult): void {
    const w = this.waiting.get(r.requestId ?? 0);
    if (w) { this.waiting.delete(r.requestId ?? 0); w(r); }
  }
}

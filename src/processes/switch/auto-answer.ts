// Simulated people: who answers by themselves, how long they talk, when a far end picks up. Pure:
// looks at the parties after each event and says which timers the adapter should start. Keyed by
// call and DN, so a call that moves (transfer, deflect) is answered where it rings now.
import { sw } from '../../wire/switch-proto.js';
import type { AutoAnswerSetting } from './config.js';

export interface TimerRequest {
  /** Dedup key: at most one pending timer per (kind, call, dn). */
  key: string;
  kind: 'answer' | 'release';
  callId: string;
  dn: string;
  afterMs: number;
}

export class AutoAnswer {
  private readonly perDn: Map<string, AutoAnswerSetting>;

  constructor(initial: Record<string, AutoAnswerSetting>, private readonly externalAnswerMs: number) {
    this.perDn = new Map(Object.entries(initial));
  }

  /** SetAutoAnswer: 0/0 turns the DN back to manual. */
  set(dn: string, setting: AutoAnswerSetting): void {
    if (setting.answerAfterMs === 0 && setting.talkMs === 0) this.perDn.delete(dn);
    else this.perDn.set(dn, setting);
  }

  get(dn: string): AutoAnswerSetting | undefined { return this.perDn.get(dn); }

  /** Timers the events call for: ringing/network parties to answer, connected ones to release. */
  timersFor(events: sw.ISwitchEvent[]): TimerRequest[] {
    const out: TimerRequest[] = [];
    for (const e of events) {
      const callId = e.callId ?? '';
      for (const p of e.parties ?? []) {
        const dn = p.dn ?? '';
        const s = this.perDn.get(dn);
        if (p.state === sw.ConnectionState.ALERTING && s?.answerAfterMs) {
          out.push({ key: `answer|${callId}|${dn}`, kind: 'answer', callId, dn, afterMs: s.answerAfterMs });
        } else if (p.state === sw.ConnectionState.NETWORK && (s?.answerAfterMs || this.externalAnswerMs)) {
          out.push({ key: `answer|${callId}|${dn}`, kind: 'answer', callId, dn, afterMs: s?.answerAfterMs || this.externalAnswerMs });
        } else if (p.state === sw.ConnectionState.CONNECTED && s?.talkMs) {
          out.push({ key: `release|${callId}|${dn}`, kind: 'release', callId, dn, afterMs: s.talkMs });
        }
      }
    }
    return out;
  }
}

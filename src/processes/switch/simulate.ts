// Simulate: the test and bench tools' hand on the simulated PBX (callers ring in and hang up,
// extensions answer by themselves). The SIP switch refuses it: there callers are real trunks.
import { performance } from 'node:perf_hooks';
import type { sw } from '../../wire/switch-proto.js';
import { oneof, unhandled } from '../../lib/oneof.js';
import type { Logger } from '../../lib/log.js';
import type { PbxOutcome } from './pbx.js';
import type { CallModel } from './call-model.js';
import type { DialPlan } from './dial-plan.js';
import type { AutoAnswer, TimerRequest } from './auto-answer.js';
import type { OverloadGate } from './overload-gate.js';

type Refusal = { ok: false; error: { code: string; message: string } };
export type SimulateOutcome = PbxOutcome | Refusal;

export interface SimulateContext {
  simulated: boolean;
  model: CallModel;
  plan: DialPlan;
  overload: OverloadGate;
  autoAnswer: AutoAnswer;
  logger: Logger;
  publish(o: PbxOutcome): void;
  startTimer(t: TimerRequest, run: () => PbxOutcome): void;
}

/** Runs one Simulate operation; the caller sends the outcome back as a SimulateResult. */
export function simulate(s: sw.Simulate, c: SimulateContext): SimulateOutcome {
  if (!c.simulated) {
    return { ok: false, error: { code: 'BadCommand', message: 'this switch runs SIP (--sip): callers are SIP trunks and phones answer themselves; Simulate is for the simulated switch (docs/sip.md)' } };
  }
  const op = oneof(s, 'op');
  switch (op.case) {
    case 'inboundCall': {
      // Gapped first: a call the primary cannot serve in time costs nothing (no call, no event, no log entry).
      const gate = c.overload.admit(performance.now());
      if (!gate.admit) return { ok: false, error: { code: gate.code, message: gate.message } };
      const { ani, dnis, hangupAfterMs } = op.value;
      const o = c.model.inboundCall(ani, dnis, Date.now());
      c.publish(o);
      if (o.ok && hangupAfterMs) c.startTimer({ key: `hangup|${o.callId}`, kind: 'release', callId: o.callId, dn: ani, afterMs: hangupAfterMs }, () => c.model.callerHangup(o.callId, ani, Date.now()));
      return o;
    }
    case 'callerHangup': {
      const o = c.model.callerHangup(op.value.callId, op.value.ani, Date.now());
      c.publish(o);
      return o;
    }
    case 'setAutoAnswer': {
      const { dn, answerAfterMs, talkMs } = op.value;
      if (!dn || c.plan.classify(dn) === undefined) {
        return { ok: false, error: { code: dn ? 'UnknownDN' : 'BadCommand', message: dn ? `${dn} is not in the dial plan (${c.plan.describe()})` : 'setAutoAnswer.dn is missing: set it' } };
      }
      c.autoAnswer.set(dn, { answerAfterMs, talkMs });
      c.logger.info({ component: 'simulate', dn, answerAfterMs, talkMs }, 'auto-answer set');
      return { ok: true, callId: '', events: [] };
    }
    case undefined: return { ok: false, error: { code: 'BadCommand', message: 'Simulate has no operation: set inboundCall, callerHangup or setAutoAnswer' } };
    default: return unhandled(op);
  }
}

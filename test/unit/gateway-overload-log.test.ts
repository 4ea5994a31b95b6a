import t from 'tap';
import { OverloadLog } from '../../src/adapters/gateway/overload-log.js';

function setup() {
  const lines: string[] = [];
  const log = { warn: (o: object, m: string) => lines.push(`warn ${m} ${JSON.stringify(o)}`), info: (o: object, m: string) => lines.push(`info ${m} ${JSON.stringify(o)}`) } as never;
  let due: (() => void) | undefined;
  const ol = new OverloadLog(log, { windowMs: 1000, setTimer: (fn) => { due = fn; return 1; }, clearTimer: () => { due = undefined; } });
  const fire = () => { const f = due; due = undefined; f?.(); };
  return { ol, lines, fire, pending: () => due !== undefined };
}

t.test('first refusal in full, then one summary per window, then an episode end', async (t) => {
  const { ol, lines, fire } = setup();
  ol.refused({ reason: 'queue', request: 'RequestAnswerCall', clientName: 'd1' }, 'the server is overloaded: …');
  for (let i = 0; i < 1000; i++) ol.refused({ reason: i % 2 ? 'queue' : 'eventLoopDelay', request: i % 4 ? 'RequestReleaseCall' : 'RequestAgentReady', clientName: `d${i}` }, 'x');
  t.equal(lines.length, 1, '1,001 refusals, one line so far');
  t.match(lines[0], /^warn request answered Overloaded \(further ones are counted: one summary line per 1 s\) \{"reason":"queue","request":"RequestAnswerCall","clientName":"d1","errorCode":"Overloaded"/);
  fire();
  t.equal(lines[1], 'warn 1000 more requests answered Overloaded in the last 1 s {"suppressed":1000,"byReason":{"eventLoopDelay":500,"queue":500},"byRequest":{"RequestAgentReady":250,"RequestReleaseCall":750},"windowMs":1000}');
  ol.refused({ reason: 'queue', request: 'RequestAnswerCall', clientName: 'd1' }, 'x');
  fire();
  t.match(lines[2], /^warn 1 more requests answered Overloaded/);
  fire();
  t.equal(lines[3], 'info no request answered Overloaded for 1 s: 1002 in this episode {"total":1002}');
  ol.refused({ reason: 'unreleased', request: 'RequestAnswerCall', clientName: 'd2' }, 'again');
  t.match(lines[4], /^warn request answered Overloaded .*"reason":"unreleased"/, 'a new episode starts with a full line');
  t.equal(lines.length, 5);
});

t.test('close cancels the window', async (t) => {
  const { ol, pending } = setup();
  ol.refused({ reason: 'queue', request: 'RequestAnswerCall', clientName: undefined }, 'x');
  t.equal(pending(), true);
  ol.close();
  t.equal(pending(), false);
});

import t from 'tap';
import { sw } from '../../src/wire/switch-proto.js';
import { DialPlan } from '../../src/processes/switch/dial-plan.js';
import { configFromJson, validateConfig, DEFAULT_SWITCH_CONFIG } from '../../src/processes/switch/config.js';
import { AutoAnswer } from '../../src/processes/switch/auto-answer.js';

const D = sw.DeviceType;

t.test('default dial plan', async (t) => {
  const plan = new DialPlan();
  t.equal(plan.classify('5000'), D.EXTENSION);
  t.equal(plan.classify('5999'), D.EXTENSION);
  t.equal(plan.classify('7009'), D.ACD_QUEUE);
  t.equal(plan.classify('8000'), D.ROUTE_POINT);
  t.equal(plan.classify('94155550100'), D.EXTERNAL, 'trunk prefix');
  t.equal(plan.classify('4155550100'), D.EXTERNAL, '7+ digits');
  t.equal(plan.classify('+14155550100'), D.EXTERNAL);
  t.equal(plan.classify('6000'), undefined);
  t.equal(plan.classify('123456'), undefined, 'too short to be external');
  t.equal(plan.classify('abc'), undefined);
  t.equal(plan.devices().length, 1000 + 10 + 10);
});

t.test('config file: switch section over defaults; bad values name the setting', async (t) => {
  const cfg = configFromJson({ switch: { port: 0, leaseMs: 200, eventLogSize: 5, autoAnswer: { 5001: { answerAfterMs: 10 } }, dialPlan: { extensions: ['100-199', 'alice'], trunkPrefix: '0' } } });
  t.equal(cfg.port, 0);
  t.equal(cfg.leaseMs, 200);
  t.equal(cfg.heartbeatMs, DEFAULT_SWITCH_CONFIG.heartbeatMs);
  t.same(cfg.autoAnswer['5001'], { answerAfterMs: 10, talkMs: 0 });
  const plan = new DialPlan(cfg.dialPlan);
  t.equal(plan.classify('150'), D.EXTENSION);
  t.equal(plan.classify('alice'), D.EXTENSION);
  t.equal(plan.classify('5000'), undefined);
  t.equal(plan.classify('04155'), D.EXTERNAL);
  t.throws(() => configFromJson({ switch: { port: 'x' } }), /switch\.port/);
  t.throws(() => configFromJson({ switch: { dialPlan: { queues: 'x' } } }), /switch\.dialPlan\.queues/);
  t.throws(() => validateConfig({ ...DEFAULT_SWITCH_CONFIG, dialPlan: { ...DEFAULT_SWITCH_CONFIG.dialPlan, extensions: ['200-100'] } }), /lo <= hi/);
  t.equal(configFromJson({ port: 7300 }).port, 7300, 'a file without a switch section is the section');
});

t.test('auto-answer asks for timers from the parties after each event', async (t) => {
  const aa = new AutoAnswer({ '5001': { answerAfterMs: 50, talkMs: 1000 } }, 20);
  const S = sw.ConnectionState;
  const reqs = aa.timersFor([
    { callId: 's1', parties: [{ dn: '4155550100', state: S.CONNECTED }, { dn: '5001', state: S.ALERTING }] },
    { callId: 's1', parties: [{ dn: '4155550100', state: S.CONNECTED }, { dn: '5001', state: S.CONNECTED }] },
    { callId: 's2', parties: [{ dn: '5002', state: S.INITIATED }, { dn: '94155', state: S.NETWORK }] },
  ]);
  t.same(reqs.map((r) => `${r.kind} ${r.callId} ${r.dn} ${r.afterMs}`), ['answer s1 5001 50', 'release s1 5001 1000', 'answer s2 94155 20']);
  aa.set('5001', { answerAfterMs: 0, talkMs: 0 });
  t.equal(aa.get('5001'), undefined);
});

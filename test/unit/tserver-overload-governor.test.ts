import t from 'tap';
import { DEFAULT_OVERLOAD_SETTINGS, OverloadGovernor, parseOverloadSettings, type OverloadSample } from '../../src/tserver/overload-governor.js';

const idle: OverloadSample = { loopDelayMs: 10, queuedRequests: 0, unreleasedAgeMs: 0, switchBacklog: 0 };
const busy: OverloadSample = { ...idle, loopDelayMs: 80 };
const between: OverloadSample = { ...idle, loopDelayMs: 30 };

/** Runs samples every 250 ms from t = 0; returns "permille/pressure/send" per step. */
function run(g: OverloadGovernor, samples: OverloadSample[], t0 = 0): string[] {
  return samples.map((x, i) => {
    const r = g.step(x, t0 + 250 * i);
    return `${r.admitPermille}/${r.pressure}${r.send ? '/send' : ''}`;
  });
}

t.test('normal load: never sheds, never sends', async (t) => {
  const g = new OverloadGovernor(DEFAULT_OVERLOAD_SETTINGS);
  t.same(run(g, [idle, idle, between, between, idle]), ['1000/clear', '1000/clear', '1000/between', '1000/between', '1000/clear']);
  t.equal(g.shedding, false);
});

t.test('over: multiplicative decrease at most once per decreaseEveryMs; between: hold; clear: additive increase to 1000', async (t) => {
  const g = new OverloadGovernor(DEFAULT_OVERLOAD_SETTINGS);
  t.same(run(g, [busy, busy, busy, busy, busy, between, between, between, idle, idle, idle, idle, idle, idle, idle, idle, idle, idle, idle, idle]), [
    '800/over/send', '800/over', '640/over/send', '640/over', '512/over/send', // ×0.8 every 500 ms
    '512/between', '512/between/send', '512/between', // hold; renewed every validMs/3 (500 ms)
    '562/clear/send', '612/clear/send', '662/clear/send', '712/clear/send', '762/clear/send', '812/clear/send', '862/clear/send', '912/clear/send', '962/clear/send',
    '1000/clear/send', // back to admit-all: sent once, so the switch opens at once
    '1000/clear', '1000/clear',
  ]);
});

t.test('every signal counts; all must be below their low mark to increase', async (t) => {
  const g = new OverloadGovernor(DEFAULT_OVERLOAD_SETTINGS);
  t.same(g.over({ ...idle, queuedRequests: 1000 }), ['queuedRequests']);
  t.same(g.over({ ...idle, unreleasedAgeMs: 400 }), ['unreleased']);
  t.same(g.over({ ...idle, switchBacklog: 16 }), ['switchBacklog']);
  t.same(g.over({ ...busy, forced: true }), ['forced', 'loopDelay']);
  t.same(g.over({ ...idle, switchBacklog: 15, unreleasedAgeMs: 399, queuedRequests: 999, loopDelayMs: 49 }), []);
  t.equal(g.clear({ ...idle, switchBacklog: 2 }), false, 'a backlog at the low mark is not clear');
  t.equal(g.clear({ ...idle, unreleasedAgeMs: 149 }), true);
  t.equal(g.clear({ ...idle, forced: true }), false);
});

t.test('the floor holds; reset goes back to admit-all without sending', async (t) => {
  const g = new OverloadGovernor({ ...DEFAULT_OVERLOAD_SETTINGS, decreaseEveryMs: 0, decreasePercent: 50 });
  t.same(run(g, [busy, busy, busy, busy, busy, busy]), ['500/over/send', '250/over/send', '125/over/send', '62/over/send', '50/over/send', '50/over']);
  g.reset();
  t.equal(g.admitPermille, 1000);
  t.same(run(g, [idle], 10_000), ['1000/clear']);
  t.same(run(g, [busy], 20_000), ['500/over/send'], 'after a reset the next decrease is not held back');
});

t.test('a late tick (GC, stall) decides on what it sees; no decrease burst', async (t) => {
  const g = new OverloadGovernor(DEFAULT_OVERLOAD_SETTINGS);
  t.same(g.step(busy, 0).admitPermille, 800);
  t.same(g.step(busy, 3000).admitPermille, 640, 'one decrease per step, however long the gap');
});

t.test('settings: defaults, overrides, clear errors', async (t) => {
  t.same(parseOverloadSettings(undefined), DEFAULT_OVERLOAD_SETTINGS);
  t.match(parseOverloadSettings({ enabled: false, loopDelayHighMs: 5, loopDelayLowMs: 1 }), { enabled: false, loopDelayHighMs: 5, loopDelayLowMs: 1, validMs: 1500 });
  t.throws(() => parseOverloadSettings({ loopDelay: 5 }), /tserver.overload.loopDelay is not a setting: use one of enabled, intervalMs/);
  t.throws(() => parseOverloadSettings({ loopDelayLowMs: 60 }), /loopDelayLowMs \(60\) must not be above loopDelayHighMs \(50\)/);
  t.throws(() => parseOverloadSettings({ enabled: 'yes' }), /enabled must be true or false/);
  t.throws(() => parseOverloadSettings({ queuedHigh: -1 }), /queuedHigh must be a non-negative number/);
  t.throws(() => parseOverloadSettings({ validMs: 100 }), /validMs must be between 2 × intervalMs \(500\) and 60000/);
  t.throws(() => parseOverloadSettings({ decreasePercent: 100 }), /decreasePercent must be between 1 and 99/);
  t.throws(() => parseOverloadSettings({ increasePermille: 2.5 }), /increasePermille must be an integer/);
  t.throws(() => parseOverloadSettings([1]), /must be an object/);
});

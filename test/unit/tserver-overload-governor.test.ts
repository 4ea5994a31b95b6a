import t from 'tap';
import { DEFAULT_OVERLOAD_SETTINGS, OverloadGovernor, parseOverloadSettings, summarize, type OverloadSample } from '../../src/processes/tserver/overload-governor.js';
import { ConfigError } from '../../src/lib/config-check.js';

const idle: OverloadSample = { loopDelayMs: 10, queuedRequests: 0, unreleasedAgeMs: 0, switchBacklog: 0 };
const busy: OverloadSample = { ...idle, loopDelayMs: 80 };
const between: OverloadSample = { ...idle, loopDelayMs: 30 };

/** One sample then one decision every 250 ms from t0; returns "permille/pressure/send" per decision. */
function run(g: OverloadGovernor, samples: OverloadSample[], t0 = 0): string[] {
  return samples.map((x, i) => {
    g.observe(x);
    const r = g.step(t0 + 250 * i);
    return `${r.admitPermille}/${r.pressure}${r.send ? '/send' : ''}`;
  });
}

/** Faster recovery than the defaults, to keep the sequences short. */
const QUICK = { ...DEFAULT_OVERLOAD_SETTINGS, increasePermille: 100, clearHoldMs: 500 };

t.test('normal load: never sheds, never sends', async (t) => {
  const g = new OverloadGovernor(DEFAULT_OVERLOAD_SETTINGS);
  t.same(run(g, [idle, idle, between, between, idle]), ['1000/clear', '1000/clear', '1000/between', '1000/between', '1000/clear']);
  t.equal(g.shedding, false);
});

t.test('over: multiplicative decrease at most once per decreaseEveryMs; between: hold; clear for clearHoldMs: additive increase to 1000', async (t) => {
  const g = new OverloadGovernor(QUICK);
  t.same(run(g, [busy, busy, busy, busy, busy, between, between, idle, idle, idle, idle, idle, idle, idle, idle, idle]), [
    '800/over/send', '800/over', '640/over/send', '640/over', '512/over/send', // ×0.8 every 500 ms (t 0..1000)
    '512/between', '512/between/send', // hold; renewed every validMs/3 (500 ms) while shedding
    '512/clear', '512/clear/send', // clear since t 1750: no increase before 500 ms of calm (the send is the renewal)
    '612/clear/send', '712/clear/send', '812/clear/send', '912/clear/send',
    '1000/clear/send', // back to admit-all: sent once, so the switch opens at once
    '1000/clear', '1000/clear',
  ]);
});

t.test('a calm interrupted restarts the clear hold', async (t) => {
  const g = new OverloadGovernor(QUICK);
  g.observe(busy); g.step(0); // 800
  // Calm from 250, broken at 750; calm again from 1000: the increase comes at 1500, not at 750. (The sends at 500 and 1000 are renewals.)
  t.same(run(g, [idle, idle, between, idle, idle, idle], 250), ['800/clear', '800/clear/send', '800/between', '800/clear/send', '800/clear', '900/clear/send']);
});

t.test('the median cuts, the peak grows: one stall is not overload, a quiet instant is not calm', async (t) => {
  const g = new OverloadGovernor(QUICK);
  const spike = { ...idle, switchBacklog: 64 };
  t.equal(g.sample(idle, 0)?.admitPermille, 1000, 'the first sample decides at once');
  t.equal(g.sample(spike, 50), undefined, 'no decision before intervalMs');
  t.equal(g.sample(idle, 100), undefined);
  t.equal(g.sample(idle, 200), undefined);
  t.match(g.sample(idle, 250), { admitPermille: 1000, pressure: 'between', over: [], median: { switchBacklog: 0 }, peak: { switchBacklog: 64 } }, 'one spike in four samples: not over, not calm');
  for (const at of [300, 350, 400, 450]) g.sample(at === 300 ? idle : spike, at);
  t.match(g.sample(spike, 500), { admitPermille: 800, pressure: 'over', over: ['switchBacklog'], median: { switchBacklog: 64 } }, 'a backlog in most samples: over');
  // Shedding, then calm except one spike per interval: never grows.
  const calmButSpiky = [0, 1, 2].flatMap((k) => [idle, idle, spike, idle, idle].map((x, i) => g.sample(x, 550 + 250 * k + 50 * i))).filter((r) => r !== undefined);
  t.same(calmButSpiky.map((r) => r!.pressure), ['between', 'between', 'between']);
  t.equal(g.admitPermille, 800);
  t.match(g.step(2000), { pressure: 'between', median: undefined, peak: undefined, admitPermille: 800 }, 'no sample since the last decision: hold');
});

t.test('summarize: upper median and maximum per signal', async (t) => {
  const xs = [3, 1, 2, 4].map((v) => ({ loopDelayMs: v, queuedRequests: 10 * v, unreleasedAgeMs: 0, switchBacklog: 5 - v }));
  t.same(summarize(xs, 'median'), { loopDelayMs: 3, queuedRequests: 30, unreleasedAgeMs: 0, switchBacklog: 3 });
  t.same(summarize(xs, 'peak'), { loopDelayMs: 4, queuedRequests: 40, unreleasedAgeMs: 0, switchBacklog: 4 });
  t.same(summarize([...xs, { ...xs[0]!, forced: true }], 'median')?.forced, true);
  t.equal(summarize([], 'peak'), undefined);
});

t.test('every signal counts; all must be below their low mark to increase', async (t) => {
  const g = new OverloadGovernor(DEFAULT_OVERLOAD_SETTINGS);
  t.same(g.over({ ...idle, queuedRequests: 1000 }), ['queuedRequests']);
  t.same(g.over({ ...idle, unreleasedAgeMs: 250 }), ['unreleased']);
  t.same(g.over({ ...idle, switchBacklog: 16 }), ['switchBacklog']);
  t.same(g.over({ ...busy, forced: true }), ['forced', 'loopDelay']);
  t.same(g.over({ ...idle, switchBacklog: 15, unreleasedAgeMs: 249, queuedRequests: 999, loopDelayMs: 49 }), []);
  t.equal(g.clear({ ...idle, switchBacklog: 2 }), false, 'a backlog at the low mark is not clear');
  t.equal(g.clear({ ...idle, unreleasedAgeMs: 99 }), true);
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

t.test('a late decision (GC, stall) decides on what it saw; no decrease burst', async (t) => {
  const g = new OverloadGovernor(DEFAULT_OVERLOAD_SETTINGS);
  t.equal(g.sample(busy, 0)?.admitPermille, 800);
  t.equal(g.sample(busy, 3000)?.admitPermille, 640, 'one decrease per decision, however long the gap');
});

t.test('settings: defaults, overrides, clear errors', async (t) => {
  t.same(parseOverloadSettings(undefined), DEFAULT_OVERLOAD_SETTINGS);
  t.match(parseOverloadSettings({ enabled: false, loopDelayHighMs: 5, loopDelayLowMs: 1 }), { enabled: false, loopDelayHighMs: 5, loopDelayLowMs: 1, validMs: 1500 });
  t.throws(() => parseOverloadSettings({ loopDelay: 5 }), /tserver.overload.loopDelay is not a setting: use one of enabled, sampleMs, intervalMs/);
  t.throws(() => parseOverloadSettings({ loopDelayLowMs: 60 }), /loopDelayLowMs \(60\) must not be above loopDelayHighMs \(50\)/);
  t.throws(() => parseOverloadSettings({ enabled: 'yes' }), /enabled must be true or false/);
  t.throws(() => parseOverloadSettings({ queuedHigh: -1 }), /queuedHigh must be a non-negative number/);
  t.throws(() => parseOverloadSettings({ validMs: 100 }), /^tserver\.overload\.validMs must be at least 2 × intervalMs \(500\), got 100$/);
  t.throws(() => parseOverloadSettings({ validMs: 70_000 }), /^tserver\.overload\.validMs must be a number 0\.\.60000, got 70000$/, 'the bound is the schema\'s');
  t.throws(() => parseOverloadSettings({ sampleMs: 5 }), /^tserver\.overload\.sampleMs must be a number >= 10, got 5$/, 'the bound is the schema\'s');
  t.throws(() => parseOverloadSettings({ sampleMs: 300 }), /intervalMs must be at least sampleMs \(300\)/);
  t.throws(() => parseOverloadSettings({ decreasePercent: 100 }), /decreasePercent must be between 1 and 99/);
  t.throws(() => parseOverloadSettings({ increasePermille: 2.5 }), /increasePermille must be an integer/);
  t.throws(() => parseOverloadSettings([1]), /must be an object/);
  // Relations between keys stop the start like any bad setting: one line, exit 1.
  for (const bad of [{ loopDelayLowMs: 60 }, { sampleMs: 300 }, { validMs: 100 }, { decreasePercent: 0 }]) {
    let thrown: unknown;
    try { parseOverloadSettings(bad); } catch (err) { thrown = err; }
    t.ok(thrown instanceof ConfigError, `${JSON.stringify(bad)}: ConfigError`);
  }
});

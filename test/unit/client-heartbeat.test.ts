// The SDK's heartbeat monitor on an injected clock and scheduler: exact probe/death sequences, and
// the late-tick guard it now shares with ADDP (SilenceMeter): a check that fires late because the
// browser throttled the tab does not declare a live server dead by itself.
import t from 'tap';
import { HeartbeatMonitor } from '../../src/sdk/heartbeat.js';

function rig(intervalMs = 500, deadAfterMs = 1500) {
  let now = 0;
  let tick: (() => void) | undefined;
  const log: string[] = [];
  const hb = new HeartbeatMonitor({
    intervalMs, deadAfterMs,
    probe: () => log.push(`probe@${now}`),
    onDead: (ms) => log.push(`dead@${now}:${ms}`),
    now: () => now,
    every: (ms, fn) => { t.equal(ms, intervalMs); tick = fn; return () => { tick = undefined; }; },
  });
  return {
    hb, log,
    /** The interval timer fires at `at` (on time or late). */
    fire(at: number) { now = at; tick?.(); },
    at(ms: number) { now = ms; },
    get running() { return tick !== undefined; },
  };
}

t.test('on time: a probe per interval, dead after deadAfterMs of silence, exactly; then stopped', async (t) => {
  const r = rig();
  r.hb.start();
  for (const at of [500, 1000, 1500]) r.fire(at);
  t.same(r.log, ['probe@500', 'probe@1000', 'dead@1500:1500']);
  t.notOk(r.running, 'stopped after declaring');
});

t.test('any sign of life resets the silence', async (t) => {
  const r = rig();
  r.hb.start();
  r.fire(500);
  r.fire(1000);
  r.at(1200);
  r.hb.alive();
  r.fire(1500);
  r.fire(2000);
  r.fire(2500);
  t.same(r.log, ['probe@500', 'probe@1000', 'probe@1500', 'probe@2000', 'probe@2500']);
  r.fire(3000);
  t.same(r.log.at(-1), 'dead@3000:1800', 'silence counted from the sign of life at 1200, declared at the first check past 1500');
});

t.test('a server heard within the last half interval is not probed; once quiet it is, and dies on time', async (t) => {
  const r = rig();
  r.hb.start();
  for (const heard of [450, 900, 1300]) { r.at(heard); r.hb.alive(); r.fire(Math.ceil(heard / 500) * 500); }
  t.same(r.log, [], 'frames 50-200 ms before each check: no probe');
  r.fire(2000); // heard at 1300: 700 ms of silence
  r.fire(2500);
  r.fire(3000);
  t.same(r.log, ['probe@2000', 'probe@2500', 'dead@3000:1700'], 'quiet: probed each check, dead at the first check past 1500 ms of silence');
});

t.test('a throttled tab: a check 60 s late does not declare the server dead; the answer to its probe keeps it alive', async (t) => {
  const r = rig();
  r.hb.start();
  r.fire(500);
  // The tab goes to the background: the next check comes a minute later. The old monitor compared
  // 60,000 ms since the last sign with 1,500 and dropped a live server here.
  r.fire(60_500);
  t.same(r.log, ['probe@500', 'probe@60500'], 'late check: probe sent, no death');
  t.equal(r.hb.silenceMs, 1499, '500 + one step of 1000 for the late check reaches the limit: held just under it, verdict deferred');
  r.at(60_520);
  r.hb.alive(); // the server answers the probe
  r.fire(61_000);
  t.same(r.log.at(-1), 'probe@61000');
  t.equal(r.hb.silenceMs, 480);
});

t.test('a throttled tab and a really hung server: never declared on a late check, declared by the next on-time one', async (t) => {
  const r = rig();
  r.hb.start();
  for (const at of [60_000, 120_000, 180_000]) r.fire(at);
  t.same(r.log, ['probe@60000', 'probe@120000', 'probe@180000'], 'every check late: no verdict');
  t.equal(r.hb.silenceMs, 1499, 'held just under the limit');
  r.fire(180_500);
  t.same(r.log.at(-1), 'dead@180500:1999', 'the first on-time check declares it');
});

t.test('stop cancels the timer; start begins a fresh silence', async (t) => {
  const r = rig();
  r.hb.start();
  r.fire(500);
  r.fire(1000);
  r.hb.stop();
  t.notOk(r.running);
  r.at(5000);
  r.hb.start();
  r.fire(5500);
  r.fire(6000);
  t.same(r.log, ['probe@500', 'probe@1000', 'probe@5500', 'probe@6000']);
});

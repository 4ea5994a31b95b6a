// One load step: offer `rate` inbound calls/s for `ms` through route point → queue → agents, then
// join the caller's and the desktops' records by ani into throughput and latency figures.
import { cpuMeter, syscalls } from './procs.mjs';
import { pct, metricValue, sleep } from './stats.mjs';
import { ROUTE_POINT } from './system.mjs';

/**
 * Latencies (ms), all on one machine clock:
 *  - event: EventRinging received by the agent's desktop − the switch's time_ms of the DELIVERED
 *    event at that extension (switch event → desktop; time_ms is whole ms, so ±1 ms);
 *  - setup: EventRinging received − Simulate InboundCall sent (whole path: switch → route request →
 *    router desktop → RequestRouteCall → queue → agent);
 *  - answer: RequestAnswerCall sent → its EventEstablished (desktop → T-Server → switch → back).
 */
export async function loadStep({ sys, primary, desk, caller, rate, ms, prefix, talkMs, raw = false, during }) {
  await desk.call('window');
  await caller.call('collect');
  await primary.metrics().catch(() => ''); // resets the event-loop lag window
  const pids = { switch: sys.sw.proc.pid, desktops: desk.pid, caller: caller.pid };
  for (const s of Object.values(sys.servers)) pids[s.name === primary.name ? 'primary' : 'backup'] = s.proc.pid;
  const cpu = cpuMeter(pids);
  const servers = Object.fromEntries(Object.entries(pids).filter(([k]) => k === 'primary' || k === 'backup'));
  const kernel = cpuMeter(servers, 'kernel');
  const sys0 = syscalls(pids.primary);
  const linkDowns0 = primary.proc.warnCounts.get('switch link down') ?? 0;
  // /metrics, not /healthz: /healthz computes a digest of the whole state (journal included) per call.
  // Each scrape resets the event-loop histogram, so the loop figure is the worst 250 ms window.
  const lags = [], loops = [];
  const sampler = setInterval(() => {
    void primary.metrics().then((m) => {
      loops.push(metricValue(m, 'tandem_event_loop_lag_seconds{quantile="0.99"}') * 1000);
      if (sys.pair) lags.push({ syncLag: metricValue(m, 'tandem_sync_lag_offsets'), syncLagMs: metricValue(m, 'tandem_sync_lag_seconds') * 1000 });
    }, () => {});
  }, 250);
  const [run, duringResult] = await Promise.all([caller.call('run', { rate, ms, dnis: ROUTE_POINT, prefix }), during?.()]);
  const cpuCores = cpu();
  const kernelCores = kernel();
  const sys1 = syscalls(pids.primary);
  const leaseLost = (primary.proc.warnCounts.get('switch link down') ?? 0) - linkDowns0;
  clearInterval(sampler);
  loops.push(metricValue(await primary.metrics().catch(() => ''), 'tandem_event_loop_lag_seconds{quantile="0.99"}') * 1000);
  const loopP99 = Math.max(...loops.filter((v) => !Number.isNaN(v)));
  await sleep(talkMs + 700); // let the last calls ring, answer and release
  const d = await desk.call('collect');
  const c = await caller.call('collect');
  const sent = new Map();
  let t0 = Infinity;
  for (let i = 0; i < c.records.length; i += 3) {
    sent.set(c.records[i], [c.records[i + 1], c.records[i + 2]]);
    t0 = Math.min(t0, c.records[i + 1]);
  }
  const event = [], setup = [], rawEvent = [];
  let inWindow = 0, rings = 0;
  for (let i = 0; i < d.rings.length; i += 2) {
    const r = sent.get(d.rings[i]);
    if (!r) continue; // a call of an earlier step
    rings++;
    const t = d.rings[i + 1];
    if (t <= t0 + run.ms) inWindow++;
    setup.push(t - r[0]);
    if (r[1] > 0) { event.push(t - r[1]); if (raw) rawEvent.push([t, t - r[1]]); }
  }
  const sustained = inWindow / (run.ms / 1000);
  // CPU per call: the process's CPU time in the step over the calls that reached an agent (µs).
  const perCall = (cores) => Object.fromEntries(Object.entries(cores).map(([k, v]) => [k, sustained > 0 ? (v * 1e6) / sustained : NaN]));
  const cpuUsPerCall = perCall(cpuCores);
  // Of it, the time in the kernel (stime: socket system calls, wake-ups, page faults): what a call's
  // messages cost below Node; only fewer system calls per call (bigger batches) lower it.
  const kernelUsPerCall = perCall(kernelCores);
  // The primary's system calls per call (socket writes: one per frame, or one per socket per batch).
  const calls = sustained * (run.ms / 1000);
  const syscallsPerCall = sys0 && sys1 && calls > 0 ? { reads: (sys1.reads - sys0.reads) / calls, writes: (sys1.writes - sys0.writes) / calls } : undefined;
  return {
    rate, offered: c.sent, failed: c.failed, rings, released: d.released, cpuUsPerCall, kernelUsPerCall, syscallsPerCall,
    sustained, completedShare: c.sent ? rings / c.sent : 0,
    event: { p50: pct(event, 50), p99: pct(event, 99), max: pct(event, 100), n: event.length },
    setup: { p50: pct(setup, 50), p99: pct(setup, 99) },
    answer: { p50: pct(d.answerLat, 50), p99: pct(d.answerLat, 99) },
    route: { p50: pct(d.routeLat, 50), p99: pct(d.routeLat, 99) },
    // errors: both kinds merged (older readers); requestErrors: desktop answers by error code;
    // callFailures: Simulate InboundCall refusals by code (Congestion = gapped at the switch by overload control).
    leaseLost, loopP99, cpu: cpuCores, errors: { ...d.errors, ...c.failures }, requestErrors: { ...d.errors }, callFailures: { ...c.failures }, unanswered: d.unanswered ?? 0, overloadedRetries: d.overloadedRetries ?? 0, syncLag: lags, ...(raw ? { rawEvent } : {}), duringResult,
  };
}

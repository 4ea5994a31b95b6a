// Load-generator child process: the simulated callers. One switch link sends Simulate InboundCall
// at a fixed rate (each caller gets a unique ani, the key that joins switch and desktop records),
// and — since every link follows every switch event — it also records the switch's own time of the
// DELIVERED event at the agent's extension: the "switch event" end of the latency measurement.
import { connectLink } from '../../dist/adapters/switch-client/link-client.js';
import { sw } from '../../dist/wire/switch-proto.js';

const now = () => performance.timeOrigin + performance.now();
let link;
let extLo = 5000, extHi = 5999;
/** ani -> [simulate sent at, switch time of DELIVERED at the extension] */
let rec = new Map();
let counts = { sent: 0, failed: 0, failures: {} };
let running;
/** Ends the current run early (op 'stop'): it resolves with what it sent so far. */
let stopRun;

function onEvents(evs) {
  for (const e of evs) {
    if (e.type !== sw.EventType.DELIVERED) continue;
    const dn = Number(e.dn);
    if (dn < extLo || dn > extHi) continue;
    const r = rec.get(e.ani);
    if (r && r[1] === 0) r[1] = Number(e.timeMs);
  }
}

/** Sends `rate` calls/s for `ms` to `dnis`; anis are `prefix` + a counter (10 digits, external). */
function run({ rate, ms, dnis, prefix, hangupAfterMs = 0 }) {
  const start = now();
  let n = 0;
  return new Promise((resolve) => {
    stopRun = () => { clearTimeout(running); resolve({ sent: n, ms: now() - start }); };
    const tick = () => {
      const elapsed = now() - start;
      const due = Math.min(Math.floor((rate * Math.min(elapsed, ms)) / 1000), Math.round((rate * ms) / 1000));
      for (; n < due; n++) {
        const ani = `${prefix}${String(n).padStart(10 - prefix.length, '0')}`;
        rec.set(ani, [now(), 0]);
        counts.sent++;
        link.inboundCall(ani, dnis, hangupAfterMs).then((r) => {
          if (!r.ok) { counts.failed++; counts.failures[r.errorCode] = (counts.failures[r.errorCode] ?? 0) + 1; }
        }, (err) => { counts.failed++; counts.failures[err.code ?? 'Error'] = (counts.failures[err.code ?? 'Error'] ?? 0) + 1; });
      }
      if (elapsed >= ms) return resolve({ sent: n, ms: elapsed });
      running = setTimeout(tick, 2);
    };
    tick();
  });
}

process.on('message', async (msg) => {
  try {
    if (msg.op === 'setup') {
      link = await connectLink({ address: msg.address, serverName: `bench-caller-${process.pid}`, timeoutMs: 60_000 });
      link.on('events', onEvents);
      if (msg.extLo) { extLo = msg.extLo; extHi = msg.extHi; }
      process.send({ id: msg.id, ok: true });
    } else if (msg.op === 'run') {
      const r = await run(msg);
      process.send({ id: msg.id, ok: true, ...r });
    } else if (msg.op === 'stop') {
      stopRun?.();
      process.send({ id: msg.id, ok: true });
    } else if (msg.op === 'collect' && msg.keep) {
      // A peek at the counters (the SIP bench polls them): no records, nothing reset.
      process.send({ id: msg.id, ok: true, ...counts, failures: { ...counts.failures } });
    } else if (msg.op === 'collect') {
      const records = [];
      for (const [ani, [sentAt, delivered]] of rec) records.push(ani, sentAt, delivered);
      const out = { records, ...counts };
      rec = new Map(); counts = { sent: 0, failed: 0, failures: {} };
      process.send({ id: msg.id, ok: true, ...out });
    } else if (msg.op === 'setAutoAnswer') {
      await Promise.all(msg.dns.map((dn) => link.simulate({ setAutoAnswer: { dn, answerAfterMs: msg.answerAfterMs, talkMs: msg.talkMs } })));
      process.send({ id: msg.id, ok: true });
    } else if (msg.op === 'close') {
      clearTimeout(running);
      link?.close();
      process.send({ id: msg.id, ok: true });
      setTimeout(() => process.exit(0), 50);
    }
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));

// JunkLog: the first junk of a kind from a peer host is one line, the rest of its window a count, and
// one summary per window while junk keeps coming. Timers are injected: exact sequences, no sleeping.
import t from 'tap';
import { JunkLog, peerHost } from '../../src/lib/junk-log.js';

function rig(opts: { maxPeers?: number } = {}) {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const log = { warn: (obj: Record<string, unknown>, msg: string) => { lines.push({ obj, msg }); } };
  const junk = new JunkLog(log as never, {
    windowMs: 10_000, ...opts,
    setTimer: (fn, ms) => { const tm = { fn, ms, cleared: false }; timers.push(tm); return {}; },
    clearTimer: () => { for (const tm of timers) tm.cleared = true; },
  });
  /** Fires every timer pending now (one window ends for every tracked peer). */
  const windowEnds = () => { for (const tm of timers.splice(0)) if (!tm.cleared) tm.fn(); };
  return { junk, lines, windowEnds };
}

t.test('peerHost strips the port of IPv4 and IPv6 peers', async (t) => {
  t.equal(peerHost('127.0.0.1:53122'), '127.0.0.1');
  t.equal(peerHost('[::1]:53122'), '::1');
  t.equal(peerHost('::ffff:10.0.0.5:7101'), '::ffff:10.0.0.5');
  t.equal(peerHost('unix-socket'), 'unix-socket');
});

t.test('a burst from one host: one line, then one summary per window, then quiet', async (t) => {
  const { junk, lines, windowEnds } = rig();
  for (let i = 0; i < 2_000; i++) junk.report(`127.0.0.1:${40_000 + (i % 50)}`, { i }, 'undecodable frame');
  t.equal(lines.length, 1, '2,000 junk messages: one line');
  t.same({ msg: lines[0]!.msg, i: lines[0]!.obj.i, peer: lines[0]!.obj.peer }, { msg: 'undecodable frame', i: 0, peer: '127.0.0.1:40000' }, 'the first one, in full');
  windowEnds();
  t.equal(lines.length, 2, 'the window ends with one summary');
  t.match(lines[1]!.obj, { peerHost: '127.0.0.1', kind: 'undecodable frame', suppressed: 1_999 });
  junk.report('127.0.0.1:40001', {}, 'undecodable frame');
  t.equal(lines.length, 2, 'junk in the next window is counted (no new full line)');
  windowEnds();
  t.match(lines[2]!.obj, { suppressed: 1 }, 'its summary');
  windowEnds();
  t.equal(lines.length, 3, 'a quiet window writes nothing and ends tracking');
  junk.report('127.0.0.1:40001', {}, 'undecodable frame');
  t.equal(lines.length, 4, 'junk after a quiet window is logged in full again');
});

t.test('kinds and hosts are counted apart; the peer table is bounded', async (t) => {
  const { junk, lines, windowEnds } = rig({ maxPeers: 2 });
  junk.report('10.0.0.1:1', {}, 'sync call without a secret refused');
  junk.report('10.0.0.1:2', {}, 'undecodable frame');
  junk.report('10.0.0.2:1', {}, 'undecodable frame');
  junk.report('10.0.0.3:1', {}, 'undecodable frame');
  junk.report('10.0.0.4:1', {}, 'undecodable frame');
  t.same(lines.map((l) => l.obj.peer), ['10.0.0.1:1', '10.0.0.1:2', '10.0.0.2:1'], 'two tracked, the rest under "other": its first line, then counted');
  windowEnds();
  t.match(lines.slice(3).map((l) => l.obj), [{ peerHost: 'other', suppressed: 2 }], 'only "other" had more');
  junk.close();
});

t.test('close writes pending summaries', async (t) => {
  const { junk, lines } = rig();
  junk.report('10.0.0.1:1', {}, 'x');
  junk.report('10.0.0.1:1', {}, 'x');
  junk.close();
  t.match(lines.map((l) => l.obj), [{ peer: '10.0.0.1:1' }, { peerHost: '10.0.0.1', suppressed: 1 }]);
});

// The SIP bench's readers of SIPp's own files (scripts/lib/sipp.mjs): the cumulative counters of a
// -trace_stat file, the scenarios' timestamped "inv"/"ring" log lines, and the setup latencies joined
// by ANI. Inputs are what SIPp 3.6.1 writes (header and [timestamp] format copied from real runs).
import t from 'tap';
// @ts-ignore -- plain ESM script without types (the benches run it straight from scripts/)
import { lastStats, parseMarks, latencies } from '../../scripts/lib/sipp.mjs';

const HEADER = 'StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;CallRate(P);CallRate(C);IncomingCall(P);IncomingCall(C);OutgoingCall(P);OutgoingCall(C);TotalCallCreated;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);FailedUnexpectedMessage(P);FailedUnexpectedMessage(C);FailedTimeoutOnRecv(P);FailedTimeoutOnRecv(C);Retransmissions(P);Retransmissions(C);';

/** One data row: the named columns set, every other column 0. */
function row(values: Record<string, number>): string {
  return HEADER.split(';').map((h) => (h in values ? String(values[h]) : h.startsWith('Start') ? '2026-11-29\t14:06:46.903090\t1795961206.903090' : '0')).join(';');
}

t.test('lastStats: the last line of the statistics file, by column name', async (t) => {
  const csv = [HEADER, row({ 'OutgoingCall(C)': 10, 'SuccessfulCall(C)': 9 }), row({ 'OutgoingCall(C)': 40, 'SuccessfulCall(C)': 38, 'FailedCall(C)': 2, 'FailedUnexpectedMessage(C)': 2, 'Retransmissions(C)': 34 }), ''].join('\n');
  t.same(lastStats(csv), { calls: 40, successful: 38, failed: 2, retransmissions: 34, unexpected: 2, recvTimeouts: 0 });
  t.same(lastStats([HEADER, row({ 'IncomingCall(C)': 5, 'SuccessfulCall(C)': 5 })].join('\n')).calls, 5, 'a UAS counts incoming calls');
  t.same(lastStats(''), { calls: 0, successful: 0, failed: 0, retransmissions: 0, unexpected: 0, recvTimeouts: 0 }, 'no file yet');
  t.same(lastStats(`${HEADER}\n`).calls, 0, 'a header only');
});

t.test('parseMarks: kind -> ani -> epoch ms; the first mark of an ani wins; other lines ignored', async (t) => {
  const text = [
    'inv 2026-11-29\t14:03:07.124415\t1795960987.124415 41551',
    'inv 2026-11-29\t14:03:07.224415\t1795960987.224415 41552',
    'ring 2026-11-29\t14:03:07.140415\t1795960987.140415 41551',
    'ring 2026-11-29\t14:03:07.900000\t1795960987.900000 41551',
    'something else SIPp wrote',
    '',
  ].join('\n');
  const m = parseMarks(text);
  t.same([...m.inv.keys()], ['41551', '41552']);
  t.equal(m.inv.get('41551'), 1795960987124.415);
  t.equal(m.ring.get('41551'), 1795960987140.415, 'a retransmitted INVITE logged again does not move the mark');
  t.same(parseMarks(''), {});
});

t.test('latencies: to minus from per ani; an ani that never rang is counted missing', async (t) => {
  const from = new Map([['1', 1000], ['2', 2000], ['3', 3000]]);
  const to = new Map([['1', 1016.5], ['3', 3200], ['9', 5]]);
  const r = latencies(from, to);
  t.same(r.ms, [16.5, 200]);
  t.equal(r.missing, 1);
  t.same(latencies(undefined, undefined), { ms: [], missing: 0 }, 'no log at all');
});

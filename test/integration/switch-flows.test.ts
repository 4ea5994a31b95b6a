// Every call flow of docs/switch.md through a real `tandem switch` process and real gRPC links:
// A holds the lease and commands; W (a watcher, no lease) must see the very same events.
import t from 'tap';
import { spawnTandem, ready } from '../helpers/process.js';
import { connectLink, type LinkClient } from '../../src/adapters/switch-client/link-client.js';
import { describeEvent } from '../../src/processes/switch/describe.js';
import { sw } from '../../src/wire/switch-proto.js';

const X = '4155550100';
const A = '5001', B = '5002', C = '5003', RP = '8000';

class Recorder {
  readonly events: sw.ISwitchEvent[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly link: LinkClient) {
    link.on('events', (es) => { this.events.push(...es); for (const w of this.waiters) w(); });
  }
  /** Resolves once `n` events after index `from` were received. */
  async after(from: number, n: number, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < from + n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} events after #${from}, got: ${this.events.slice(from).map(describeEvent).join(' | ')}`);
      await new Promise<void>((res) => { const w = () => { this.waiters = this.waiters.filter((x) => x !== w); res(); }; this.waiters.push(w); setTimeout(w, 100); });
    }
    return this.events.slice(from, from + n).map(describeEvent);
  }
}

t.test('call flows over the switch link', async (t) => {
  const proc = spawnTandem(t, ['switch', '--port', '0']);
  const address = `127.0.0.1:${((await ready(proc)).ports as { switch: number }).switch}`;
  const a = await connectLink({ address, serverName: 'A' });
  const w = await connectLink({ address, serverName: 'W' });
  t.teardown(() => { a.close(); w.close(); });
  const ra = new Recorder(a);
  const rw = new Recorder(w);
  const granted = await a.claim({ epoch: 1 });
  t.equal(granted.granted?.epoch, 1);
  t.teardown(a.keepHeartbeating(1, 100));

  let n = 0;
  /** Runs a command; returns its result and the events it caused (tagged with its id). */
  const cmd = async (op: Omit<sw.ICommand, 'commandId' | 'epoch'>) => {
    const commandId = `f${++n}`;
    const r = await a.command({ commandId, epoch: 1, ...op });
    t.ok(r.ok, `${commandId} ${Object.keys(op)[0]}: ${r.errorCode} ${r.errorMessage}`);
    // The result comes after the events it caused: they are all here already.
    return { callId: r.callId, lines: ra.events.filter((e) => e.commandId === commandId).map(describeEvent) };
  };
  const inbound = async (ani: string, dnis: string) => {
    const from = ra.events.length;
    const r = await a.inboundCall(ani, dnis);
    t.ok(r.ok, `inbound ${dnis}: ${r.errorMessage}`);
    return { callId: r.callId, lines: await ra.after(from, 1) };
  };

  await t.test('internal call, answer, release by either side', async (t) => {
    const mk = await cmd({ makeCall: { dn: A, to: B } });
    const s = mk.callId;
    t.same(mk.lines, [`ORIGINATED ${s} dn=${A} other=${B} callType=INTERNAL — ${A}:INITIATED`, `DELIVERED ${s} dn=${B} other=${A} — ${A}:INITIATED ${B}:ALERTING`]);
    t.same((await cmd({ answer: { callId: s, dn: B } })).lines, [`ESTABLISHED ${s} dn=${B} other=${A} — ${A}:CONNECTED ${B}:CONNECTED`]);
    t.same((await cmd({ clearConnection: { callId: s, dn: B } })).lines, [
      `CONNECTION_CLEARED ${s} dn=${B} other=${A} cause=Normal — ${A}:CONNECTED`, `CONNECTION_CLEARED ${s} dn=${A} cause=Normal — (none)`]);
  });

  await t.test('reject a ringing call', async (t) => {
    const s = (await cmd({ makeCall: { dn: A, to: B } })).callId;
    t.same((await cmd({ clearConnection: { callId: s, dn: B } })).lines, [
      `CONNECTION_CLEARED ${s} dn=${B} other=${A} cause=Normal — ${A}:INITIATED`, `CONNECTION_CLEARED ${s} dn=${A} cause=Normal — (none)`]);
  });

  await t.test('outbound call, answered by the far end after externalAnswer (SetAutoAnswer on X)', async (t) => {
    const far = '94155550177';
    t.ok((await a.simulate({ setAutoAnswer: { dn: far, answerAfterMs: 30 } })).ok);
    const from = ra.events.length;
    const mk = await cmd({ makeCall: { dn: A, to: far } });
    const s = mk.callId;
    t.same(await ra.after(from, 3), [
      `ORIGINATED ${s} dn=${A} other=${far} callType=OUTBOUND — ${A}:INITIATED`,
      `NETWORK_REACHED ${s} dn=${far} other=${A} — ${A}:INITIATED ${far}:NETWORK`,
      `ESTABLISHED ${s} dn=${far} other=${A} — ${A}:CONNECTED ${far}:CONNECTED`]);
    t.equal(ra.events[from + 2]!.commandId, '', 'the far end answered by itself');
    await cmd({ clearConnection: { callId: s, dn: A } });
  });

  await t.test('inbound call parked at a route point, routed, answered, caller hangs up', async (t) => {
    const ib = await inbound(X, RP);
    const s = ib.callId;
    t.same(ib.lines, [`DELIVERED ${s} dn=${RP} other=${X} — ${X}:CONNECTED ${RP}:QUEUED`]);
    const d = ra.events[ra.events.length - 1]!;
    t.match(d, { callType: sw.CallType.INBOUND, ani: X, dnis: RP });
    t.same((await cmd({ deflect: { callId: s, dn: RP, to: A } })).lines, [
      `DIVERTED ${s} dn=${RP} other=${A} — ${X}:CONNECTED`, `DELIVERED ${s} dn=${A} other=${X} — ${X}:CONNECTED ${A}:ALERTING`]);
    await cmd({ answer: { callId: s, dn: A } });
    t.same((await cmd({ hold: { callId: s, dn: A } })).lines, [`HELD ${s} dn=${A} other=${X} — ${X}:CONNECTED ${A}:HELD`]);
    t.same((await cmd({ retrieve: { callId: s, dn: A } })).lines, [`RETRIEVED ${s} dn=${A} other=${X} — ${X}:CONNECTED ${A}:CONNECTED`]);
    const from = ra.events.length;
    t.ok((await a.simulate({ callerHangup: { callId: s } })).ok);
    t.same(await ra.after(from, 2), [`CONNECTION_CLEARED ${s} dn=${X} other=${A} cause=CallerHangup — ${A}:CONNECTED`, `CONNECTION_CLEARED ${s} dn=${A} cause=Normal — (none)`]);
  });

  const consultFrom = async (answer: boolean) => {
    const s1 = (await inbound(X, A)).callId;
    await cmd({ answer: { callId: s1, dn: A } });
    const c = await cmd({ consultationCall: { callId: s1, dn: A, to: C } });
    if (answer) t.same((await cmd({ answer: { callId: c.callId, dn: C } })).lines, [`ESTABLISHED ${c.callId} dn=${C} other=${A} — ${A}:CONNECTED ${C}:CONNECTED`]);
    return { s1, s2: c.callId, lines: c.lines };
  };

  await t.test('consultation, then transfer after the target answered', async (t) => {
    const { s1, s2, lines } = await consultFrom(true);
    t.same(lines, [`HELD ${s1} dn=${A} other=${X} — ${X}:CONNECTED ${A}:HELD`,
      `ORIGINATED ${s2} dn=${A} other=${C} callType=CONSULT secondary=${s1} — ${A}:INITIATED`,
      `DELIVERED ${s2} dn=${C} other=${A} — ${A}:INITIATED ${C}:ALERTING`]);
    t.same((await cmd({ transfer: { heldCallId: s1, activeCallId: s2, dn: A } })).lines, [`TRANSFERRED ${s1} dn=${A} other=${C} secondary=${s2} — ${X}:CONNECTED ${C}:CONNECTED`]);
    await cmd({ clearConnection: { callId: s1, dn: C } });
  });

  await t.test('transfer before the target answered', async (t) => {
    const { s1, s2 } = await consultFrom(false);
    t.same((await cmd({ transfer: { heldCallId: s1, activeCallId: s2, dn: A } })).lines, [`TRANSFERRED ${s1} dn=${A} other=${C} secondary=${s2} — ${X}:CONNECTED ${C}:ALERTING`]);
    t.same((await cmd({ answer: { callId: s1, dn: C } })).lines, [`ESTABLISHED ${s1} dn=${C} other=${X} — ${X}:CONNECTED ${C}:CONNECTED`]);
    await cmd({ clearConnection: { callId: s1, dn: C } });
  });

  await t.test('three-party conference, delete from conference', async (t) => {
    const { s1, s2 } = await consultFrom(true);
    t.same((await cmd({ conference: { heldCallId: s1, activeCallId: s2, dn: A } })).lines, [`CONFERENCED ${s1} dn=${A} other=${C} secondary=${s2} — ${X}:CONNECTED ${A}:CONNECTED ${C}:CONNECTED`]);
    t.same((await cmd({ deleteFromConference: { callId: s1, dn: A, target: C } })).lines, [`CONNECTION_CLEARED ${s1} dn=${C} other=${A} cause=DeletedFromConference — ${X}:CONNECTED ${A}:CONNECTED`]);
    await cmd({ clearConnection: { callId: s1, dn: A } });
  });

  await t.test('single-step transfer', async (t) => {
    const s = (await inbound(X, A)).callId;
    await cmd({ answer: { callId: s, dn: A } });
    t.same((await cmd({ singleStepTransfer: { callId: s, dn: A, to: C } })).lines, [
      `TRANSFERRED ${s} dn=${A} other=${C} — ${X}:CONNECTED`, `DELIVERED ${s} dn=${C} other=${X} — ${X}:CONNECTED ${C}:ALERTING`]);
    await cmd({ clearConnection: { callId: s, dn: C } });
  });

  await t.test('auto-answer and talk time, caller hang-up after hangupAfterMs', async (t) => {
    t.ok((await a.simulate({ setAutoAnswer: { dn: B, answerAfterMs: 20, talkMs: 60 } })).ok);
    let from = ra.events.length;
    const r = await a.inboundCall(X, B);
    t.same(await ra.after(from, 4), [
      `DELIVERED ${r.callId} dn=${B} other=${X} — ${X}:CONNECTED ${B}:ALERTING`,
      `ESTABLISHED ${r.callId} dn=${B} other=${X} — ${X}:CONNECTED ${B}:CONNECTED`,
      `CONNECTION_CLEARED ${r.callId} dn=${B} other=${X} cause=Normal — ${X}:CONNECTED`,
      `CONNECTION_CLEARED ${r.callId} dn=${X} cause=Normal — (none)`]);
    from = ra.events.length;
    const h = await a.inboundCall(X, RP, 40);
    t.same(await ra.after(from, 3), [
      `DELIVERED ${h.callId} dn=${RP} other=${X} — ${X}:CONNECTED ${RP}:QUEUED`,
      `CONNECTION_CLEARED ${h.callId} dn=${X} other=${RP} cause=CallerHangup — ${RP}:QUEUED`,
      `CONNECTION_CLEARED ${h.callId} dn=${RP} cause=Normal — (none)`]);
  });

  await t.test('every link saw the same events; seq strictly increasing and gapless', async (t) => {
    const snap = await a.snapshot();
    await rw.after(0, snap.lastSeq);
    t.same(rw.events.map((e) => e.seq), ra.events.map((e) => e.seq));
    t.same(ra.events.map((e) => e.seq), Array.from({ length: snap.lastSeq }, (_, i) => i + 1));
    t.same(snap.calls, [], 'no call left over');
    t.equal(snap.devices.length, 1020);
    t.equal(snap.trunkPrefix, '9');
  });
});

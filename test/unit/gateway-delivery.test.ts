// The delivery queue (gateway/delivery.ts): at most framesPerTurn frames per event-loop turn, a
// broadcast to every connection spread over turns, every connection's frames in batch order, and a
// small batch on an empty queue delivered at once.
import t from 'tap';
import pino from 'pino';
import { DeliveryQueue, RequestOutcomes, type DeliveryTargets } from '../../src/adapters/gateway/delivery.js';
import { DnIndex } from '../../src/adapters/gateway/dn-index.js';
import type { Session } from '../../src/adapters/gateway/session.js';
import type { JournalEntry } from '../../src/core/index.js';
import type { OutboundBatch } from '../../src/pipeline/outbound.js';

interface FakeSession { name: string; got: string[]; send(frame: string | Buffer): boolean; close(): void; scope: undefined }

function world(names: string[]) {
  const sessions = new Map<string, FakeSession>();
  for (const name of names) sessions.set(name, { name, got: [], send(f) { this.got.push(String(f)); return true; }, close() {}, scope: undefined });
  const index = new DnIndex();
  for (const name of names) index.set(name, [`dn-${name}`]);
  const released: number[] = [];
  const metrics = { inc: () => {} };
  const t: DeliveryTargets = {
    batch: { released: (id: number) => released.push(id) } as never,
    index,
    byClient: sessions as unknown as Map<string, Session>,
    sessions: new Set(sessions.values()) as unknown as Set<Session>,
    closeAfterAnswer: new WeakSet(),
    outcomes: new RequestOutcomes(metrics as never, pino({ level: 'silent' })),
  };
  return { t, sessions, released };
}

const event = (seq: number, dn: string): JournalEntry => ({ seq, dn, event: { event: 'EventDNOutOfService', thisDN: dn, seq } as never });
const broadcast = (id: number, n: number): OutboundBatch => ({ id, deltas: [], items: [{ kind: 'broadcast', event: { event: 'EventServerInfo', seq: n } as never }] });
const turn = () => new Promise((r) => setImmediate(r));

t.test('a small batch on an empty queue is delivered at once', async (t) => {
  const w = world(['a', 'b']);
  const q = new DeliveryQueue(w.t, 10);
  q.push({ id: 1, deltas: [], items: [{ kind: 'event', entry: event(1, 'dn-a') }, { kind: 'reply', clientName: 'b', event: { event: 'EventACK', referenceId: 7 } as never }] });
  t.same(w.sessions.get('a')!.got.map((f) => JSON.parse(f).seq), [1]);
  t.same(w.sessions.get('b')!.got.map((f) => JSON.parse(f).referenceId), [7]);
  t.same(w.released, [1]);
  t.equal(q.backlog, 0);
});

t.test('a broadcast goes out framesPerTurn at a time; later batches wait behind it; order per connection holds', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const w = world(names);
  const q = new DeliveryQueue(w.t, 3);
  q.push(broadcast(1, 100));
  q.push({ id: 2, deltas: [], items: [{ kind: 'event', entry: event(101, 'dn-a') }, { kind: 'event', entry: event(102, 'dn-g') }] });
  const count = () => names.reduce((n, x) => n + w.sessions.get(x)!.got.length, 0);
  t.equal(count(), 3, 'first turn: 3 frames');
  t.same(w.released, [1], 'batch 2 not started');
  await turn();
  t.equal(count(), 6);
  await turn();
  t.equal(count(), 9, 'the broadcast done (7), then batch 2 begins in the same turn');
  await turn();
  t.equal(count(), 9);
  t.equal(q.backlog, 0);
  t.same(w.released, [1, 2]);
  for (const n of names) t.equal(JSON.parse(w.sessions.get(n)!.got[0]!).event, 'EventServerInfo', `${n}: the broadcast first`);
  t.same(w.sessions.get('a')!.got.map((f) => JSON.parse(f).seq), [100, 101]);
  t.same(w.sessions.get('g')!.got.map((f) => JSON.parse(f).seq), [100, 102]);
  // A batch pushed while the queue is busy joins the end, never delivered ahead.
  q.push(broadcast(3, 200));
  q.push({ id: 4, deltas: [], items: [{ kind: 'event', entry: event(201, 'dn-a') }] });
  while (q.backlog > 0) await turn();
  t.same(w.sessions.get('a')!.got.map((f) => JSON.parse(f).seq), [100, 101, 200, 201]);
});

t.test('close drops what is queued', async (t) => {
  const w = world(['a', 'b', 'c', 'd']);
  const q = new DeliveryQueue(w.t, 2);
  q.push(broadcast(1, 1));
  q.close();
  await turn();
  t.equal(['a', 'b', 'c', 'd'].reduce((n, x) => n + w.sessions.get(x)!.got.length, 0), 2);
  q.push(broadcast(2, 2));
  t.equal(q.backlog, 0);
});

t.test('a finished broadcast is reported once: its connections, its turns, the time since its batch was pushed', async (t) => {
  const w = world(['a', 'b', 'c', 'd', 'e']);
  const done: { event: string; sessions: number; turns: number; ms: number }[] = [];
  const q = new DeliveryQueue(w.t, 2, (d) => done.push({ ...d, event: d.event.event }));
  q.push({ id: 1, deltas: [], items: [{ kind: 'event', entry: event(1, 'dn-a') }] });
  t.same(done, [], 'no broadcast, no report');
  q.push(broadcast(2, 100));
  while (q.backlog > 0) await turn();
  t.equal(done.length, 1);
  t.match(done[0], { event: 'EventServerInfo', sessions: 5, turns: 3 }, '5 connections, 2 frames a turn: 3 turns');
  t.ok(done[0]!.ms >= 0);
});

t.test('a broadcast with follow-ups: a connection\'s follow-ups go right behind its copy, in the same turn (standing replays)', async (t) => {
  const names = ['a', 'b', 'c', 'd'];
  const w = world(names);
  const q = new DeliveryQueue(w.t, 3);
  const followUps = new Map([[w.sessions.get('c')!, ['{"event":"EventAgentReady","seq":7}', '{"event":"EventACK","referenceId":9}']]]);
  q.push({ id: 1, deltas: [], items: [{ kind: 'broadcast', event: { event: 'EventServerInfo', seq: 7 } as never, followUps: followUps as never }] });
  t.same(names.map((n) => w.sessions.get(n)!.got.length), [1, 1, 3, 0], 'first turn: a, b, c with its follow-ups (never split), then the budget is spent');
  t.same(w.sessions.get('c')!.got.map((f) => JSON.parse(f).event), ['EventServerInfo', 'EventAgentReady', 'EventACK'], 'c: its info, then its follow-ups, in one turn');
  await turn();
  t.same(w.sessions.get('d')!.got.map((f) => JSON.parse(f).event), ['EventServerInfo'], 'd: the info only, next turn');
  t.equal(q.backlog, 0);
});

t.test('consecutive broadcasts of one batch go to each connection together (one write at a promotion), each reported', async (t) => {
  const names = ['a', 'b', 'c', 'd'];
  const w = world(names);
  const done: string[] = [];
  const q = new DeliveryQueue(w.t, 4, (d) => done.push(`${d.event.event}:${d.sessions}:${d.turns}`));
  q.push({ id: 1, deltas: [], items: [
    { kind: 'broadcast', event: { event: 'EventLinkConnected' } as never },
    { kind: 'broadcast', event: { event: 'EventServerInfo', seq: 3 } as never },
    { kind: 'event', entry: event(4, 'dn-a') },
  ] });
  t.same(names.map((n) => w.sessions.get(n)!.got.map((f) => JSON.parse(f).event)), [['EventLinkConnected', 'EventServerInfo'], ['EventLinkConnected', 'EventServerInfo'], [], []], 'first turn: a and b get both frames (4 frames: the budget)');
  await turn();
  for (const n of names) t.same(w.sessions.get(n)!.got.slice(0, 2).map((f) => JSON.parse(f).event), ['EventLinkConnected', 'EventServerInfo'], `${n}: both, in batch order`);
  await turn();
  t.equal(JSON.parse(w.sessions.get('a')!.got[2]!).seq, 4, 'the event behind them comes after');
  t.same(done, ['EventLinkConnected:4:2', 'EventServerInfo:4:2'], 'each broadcast reported');
});

t.test('broadcast-only batches queued right behind a broadcast join it: one write per connection for a demotion\'s pushes', async (t) => {
  const names = ['a', 'b', 'c'];
  const w = world(names);
  const done: string[] = [];
  const q = new DeliveryQueue(w.t, 2, (d) => done.push(d.event.event));
  const info = (id: number, role: string): OutboundBatch => ({ id, deltas: [], items: [{ kind: 'broadcast', event: { event: 'EventServerInfo', role } as never }] });
  // Batch 1 keeps the queue busy for a turn, so 2-4 are queued when 2 begins.
  q.push({ id: 1, deltas: [], items: [{ kind: 'event', entry: event(1, 'dn-a') }, { kind: 'event', entry: event(2, 'dn-b') }, { kind: 'event', entry: event(3, 'dn-c') }] });
  q.push(info(2, 'primary'));
  q.push({ id: 3, deltas: [], items: [{ kind: 'broadcast', event: { event: 'EventLinkDisconnected' } as never }] });
  q.push(info(4, 'backup'));
  q.push({ id: 5, deltas: [], items: [{ kind: 'event', entry: event(5, 'dn-a') }] });
  const kinds = (n: string) => w.sessions.get(n)!.got.map((f) => { const e = JSON.parse(f); return e.role ?? e.event; });
  const seen: string[][][] = [];
  while (q.backlog > 0) { seen.push(names.map(kinds)); await turn(); }
  for (const snap of seen) for (const got of snap) {
    const pushes = got.filter((k) => k !== 'EventDNOutOfService');
    t.ok(pushes.length === 0 || pushes.length === 3, `never a part of the three pushes without the others (${got.join(',')})`);
  }
  t.same(kinds('a'), ['EventDNOutOfService', 'primary', 'EventLinkDisconnected', 'backup', 'EventDNOutOfService'], 'a: batch order');
  t.same(kinds('c'), ['EventDNOutOfService', 'primary', 'EventLinkDisconnected', 'backup']);
  t.same(w.released, [1, 2, 3, 4, 5], 'every batch released, in order');
  t.same(done, ['EventServerInfo', 'EventLinkDisconnected', 'EventServerInfo'], 'each push reported');
});

// The SDK against a real switch and a real T-Server process: the helpers' requests get the real
// direct answers, a call between two desktops is seen in seq order, and a desktop whose connection
// is taken away (a newer connection with its client name) reconnects, replays what it missed from
// the real journal, and sees every event exactly once.
import t from 'tap';
import WebSocket from 'ws';
import { TandemClient, TandemError, type ClientStatus, type TEvent } from '../../src/sdk/index.js';
import { openClient, startStack } from '../helpers/tserver-fixture.js';

function desk(t: Tap, url: string, name: string, reconnectMs = 20) {
  const client = new TandemClient({ servers: [url], clientName: name, WebSocket, reconnect: { initialMs: reconnectMs, maxMs: reconnectMs } });
  t.teardown(() => client.close());
  const events: TEvent[] = [];
  const statuses: ClientStatus[] = [];
  const waiters = new Set<() => void>();
  client.on('event', (e) => { events.push(e); for (const w of waiters) w(); });
  client.on('status', (s) => { statuses.push(s); for (const w of waiters) w(); });
  /** Resolves once pred holds over what was seen (checked at each event/status). */
  const until = (pred: () => boolean, what: string) => new Promise<void>((resolve, reject) => {
    if (pred()) return resolve();
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`${name}: timed out waiting for ${what}; events ${JSON.stringify(events.map((e) => [e.seq, e.event, e.thisDN]))}; statuses ${JSON.stringify(statuses)}`)); }, 10_000);
    const check = () => { if (pred()) { clearTimeout(timer); waiters.delete(check); resolve(); } };
    waiters.add(check);
  });
  const seen = (ev: string, connId?: string) => () => events.some((e) => e.event === ev && (connId === undefined || e.connId === connId));
  return { client, events, statuses, until, seen };
}
interface Tap { teardown(fn: () => unknown): void }

const increasing = (evs: TEvent[]) => evs.every((e, i) => i === 0 || e.seq! > evs[i - 1]!.seq!);

t.test('SDK against a real T-Server: agent, call, errors, reconnect with replay', async (t) => {
  const { ts } = await startStack(t);
  const ann = desk(t, ts.url, 'sdk-ann');
  const bob = desk(t, ts.url, 'sdk-bob', 600); // reconnects 300-600 ms after losing its link
  const regA = await ann.client.register('5001');
  const regB = await bob.client.register('5002');
  t.equal(regA.event, 'EventRegistered');
  t.equal(regB.thisDN, '5002');

  const login = await ann.client.login('5001', 'agent-ann', { queue: '7000' });
  t.equal(login.event, 'EventAgentLogin');
  t.ok(login.seq! > 0);
  t.equal((await ann.client.ready('5001')).event, 'EventAgentReady');
  const nr = await ann.client.notReady('5001', 'AuxWork', { ReasonCode: 'Break' });
  t.equal(nr.event, 'EventAgentNotReady');

  // A real error rejects with the server's code.
  const err = await ann.client.answer('5001', '0000000000000bad').catch((e: unknown) => e);
  t.ok(err instanceof TandemError);
  t.match((err as TandemError).errorCode, /InvalidConnID|InvalidState/);

  // Internal call 5001 -> 5002, answered and released.
  const dialing = await ann.client.makeCall('5001', '5002', { account: '42' });
  t.equal(dialing.event, 'EventDialing');
  const connId = dialing.connId!;
  await bob.until(bob.seen('EventRinging', connId), 'bob ringing');
  const established = await bob.client.answer('5002', connId);
  t.equal(established.event, 'EventEstablished');
  await ann.until(ann.seen('EventEstablished', connId), 'ann established');
  const released = await ann.client.release('5001', connId);
  t.equal(released.event, 'EventReleased');
  await bob.until(bob.seen('EventReleased', connId), 'bob released');
  t.ok(increasing(ann.events) && increasing(bob.events), 'each desk sees strictly increasing seq');
  t.equal(ann.client.duplicatesDropped, 0);

  // Someone opens with bob's client name: bob's connection is replaced (4000); meanwhile ann calls
  // bob. Bob's SDK reconnects (taking the name back) and replays what it missed, once.
  const before = bob.events.length;
  const intruder = await openClient(t, ts.url, 'sdk-bob');
  await bob.until(() => bob.statuses.some((s) => s.type === 'disconnected'), 'bob disconnected');
  const second = await ann.client.makeCall('5001', '5002');
  await intruder.take((e) => e.event === 'EventRinging' && e.connId === second.connId);
  t.notOk(bob.seen('EventRinging', second.connId)(), 'bob was away when the call rang');
  await bob.until(bob.seen('EventRinging', second.connId), 'bob sees the ringing call he missed');
  await bob.until(() => bob.statuses.some((s) => s.type === 'failover-complete'), 'bob back');
  await intruder.close();
  await ann.client.release('5001', second.connId!);
  await bob.until(bob.seen('EventReleased', second.connId), 'bob released again');
  const after = bob.events.slice(before);
  t.ok(increasing(bob.events), 'still strictly increasing after the replay');
  t.same(after.filter((e) => e.connId === second.connId).map((e) => e.event), ['EventRinging', 'EventReleased'], 'the missed call, each event once');
});

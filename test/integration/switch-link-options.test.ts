// What a client asks for in its Hello, on real gRPC on 127.0.0.1 port 0.
// `batches`: a turn's messages as one gRPC message (LinkUpBatch / LinkDownBatch): what each side sends,
// that a batch runs exactly like its messages sent one by one, and the refusals (nested batch, Hello
// inside, batch before Hello); a client that does not say `batches` gets every message on its own.
// `eventsAsHolderOnly`: live events only while the link holds the lease; what it missed comes as the
// Granted's redelivery.
import t from 'tap';
import pino from 'pino';
import * as grpc from '@grpc/grpc-js';
import { startSwitchServer } from '../../src/processes/switch/start.js';
import { DEFAULT_SWITCH_CONFIG } from '../../src/processes/switch/config.js';
import { MAX_UP_BATCH, openLink, type LinkClient } from '../../src/adapters/switch-client/link-client.js';
import { LINK_PATH, switchService, toBuffer, type LinkUpFrame } from '../../src/wire/switch-service.js';
import { sw } from '../../src/wire/switch-proto.js';

interface Teardown { teardown(fn: () => unknown): void }

async function startSwitch(t: Teardown) {
  const s = await startSwitchServer({ ...DEFAULT_SWITCH_CONFIG, host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
  t.teardown(() => s.close());
  return `127.0.0.1:${s.port}`;
}

async function open(t: Teardown, address: string, name: string): Promise<LinkClient> {
  const l = openLink({ address, serverName: name });
  t.teardown(() => l.close());
  await l.welcome;
  return l;
}

/** Every raw LinkDown a link receives, envelopes included (the client emits only what is inside). */
function rawLinkDowns(address: string, hello: sw.IHello): { got: sw.LinkDown[]; write(m: sw.ILinkUp): void; close(): void } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const stream = client.makeBidiStreamRequest(LINK_PATH, (m: sw.ILinkUp) => toBuffer(sw.LinkUp.encode(m).finish()), (b: Buffer) => sw.LinkDown.decode(b));
  const got: sw.LinkDown[] = [];
  stream.on('data', (m: sw.LinkDown) => got.push(m));
  stream.on('error', () => {});
  stream.write({ hello });
  return { got, write: (m) => stream.write(m), close: () => { stream.cancel(); client.close(); } };
}

async function until(what: string, ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('a LinkUpBatch runs its commands in order, as if sent one by one; the results come back as one LinkDownBatch', async (t) => {
  const address = await startSwitch(t);
  const raw = rawLinkDowns(address, { serverName: 'A', batches: true });
  t.teardown(() => raw.close());
  await until('Welcome', () => raw.got.some((m) => m.welcome));
  t.equal(raw.got.find((m) => m.welcome)!.welcome!.batches, true, 'the switch says it reads batches');
  raw.write({ claim: { epoch: 1 } });
  await until('Granted', () => raw.got.some((m) => m.granted || m.batch?.msgs.some((x) => x.granted)));
  const before = raw.got.length;
  raw.write({ batch: { msgs: [
    { command: { commandId: 'c1', epoch: 1, makeCall: { dn: '5001', to: '5002' } } },
    { command: { commandId: 'c2', epoch: 1, makeCall: { dn: '5003', to: '5004' } } },
  ] } });
  const results = () => raw.got.slice(before).flatMap((m) => (m.batch ? m.batch.msgs : [m])).filter((m) => m.commandResult).map((m) => m.commandResult!);
  await until('two results', () => results().length === 2);
  t.same(results().map((r) => [r.commandId, r.ok]), [['c1', true], ['c2', true]], 'both ran, in order');
  const envelope = raw.got.slice(before).find((m) => m.batch);
  t.ok(envelope, 'events and results of the turn came in one LinkDownBatch');
  t.same(envelope!.batch!.msgs.map((m) => m.msg), ['events', 'commandResult', 'events', 'commandResult'], 'each command\'s events before its result');
});

t.test('a link whose Hello does not say `batches` gets every message on its own', async (t) => {
  const address = await startSwitch(t);
  const raw = rawLinkDowns(address, { serverName: 'A' });
  t.teardown(() => raw.close());
  await until('Welcome', () => raw.got.some((m) => m.welcome));
  raw.write({ claim: { epoch: 1 } });
  await until('Granted', () => raw.got.some((m) => m.granted));
  raw.write({ command: { commandId: 'c1', epoch: 1, makeCall: { dn: '5001', to: '5002' } } });
  await until('result', () => raw.got.some((m) => m.commandResult));
  t.notOk(raw.got.some((m) => m.batch), 'no LinkDownBatch');
  t.ok(raw.got.some((m) => m.events), 'the events as an EventBatch of their own');
});

t.test('refused: a batch inside a batch, Hello inside a batch, a batch before Hello; the link stays open', async (t) => {
  const address = await startSwitch(t);
  // A raw stream that sends a batch first (rawLinkDowns sends Hello first).
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const stream = client.makeBidiStreamRequest(LINK_PATH, (m: sw.ILinkUp) => toBuffer(sw.LinkUp.encode(m).finish()), (b: Buffer) => sw.LinkDown.decode(b));
  const first: sw.LinkDown[] = [];
  stream.on('data', (m: sw.LinkDown) => first.push(m));
  stream.on('error', () => {});
  t.teardown(() => stream.cancel());
  stream.write({ batch: { msgs: [{ snapshotQuery: { requestId: 1 } }] } });
  await until('NotHello', () => first.some((m) => m.error));
  t.match(first[0]!.error, { code: 'NotHello' }, 'a batch before Hello is refused like any message');

  const raw = rawLinkDowns(address, { serverName: 'A', batches: true });
  t.teardown(() => raw.close());
  await until('Welcome', () => raw.got.some((m) => m.welcome));
  raw.write({ batch: { msgs: [{ batch: { msgs: [{ snapshotQuery: { requestId: 1 } }] } }] } });
  raw.write({ batch: { msgs: [{ hello: { serverName: 'A' } }, { snapshotQuery: { requestId: 2 } }] } });
  const all = () => raw.got.flatMap((m) => (m.batch ? m.batch.msgs : [m]));
  await until('the snapshot after the refusals', () => all().some((m) => m.snapshot?.requestId === 2));
  const errors = all().filter((m) => m.error).map((m) => m.error!.message);
  t.match(errors, [/inside a LinkUpBatch/, /Hello inside a LinkUpBatch/], 'each refused with a message that says what to send');
  t.notOk(all().some((m) => m.snapshot?.requestId === 1), 'nothing of the nested batch ran');
});

t.test('the client: a turn\'s commands go out as one LinkUpBatch; a heartbeat goes at once, after what the turn queued', async (t) => {
  // A fake switch that records every LinkUp frame as it arrived.
  const frames: sw.LinkUp[] = [];
  const server = new grpc.Server();
  server.addService(switchService, {
    Link: (stream: grpc.ServerDuplexStream<LinkUpFrame, sw.ILinkDown>) => {
      stream.on('data', (f: LinkUpFrame) => {
        if (!f.ok) return;
        frames.push(f.msg);
        if (f.msg.hello) stream.write({ welcome: { switchName: 'fake', batches: true } });
      });
      stream.on('error', () => {});
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  t.teardown(() => server.forceShutdown());
  const link = await open(t, `127.0.0.1:${port}`, 'A');
  t.equal(frames[0]!.hello!.batches, true, 'Hello says the client reads batches');

  const cmd = (id: string): sw.ILinkUp => ({ command: { commandId: id, epoch: 1, answer: { callId: 's1', dn: '5001' } } });
  link.send(cmd('c1'));
  link.send(cmd('c2'));
  link.send({ heartbeat: { epoch: 1 } });
  link.send(cmd('c3'));
  link.send(cmd('c4'));
  await until('four frames after Hello', () => frames.length === 4);
  const shape = frames.slice(1).map((f) => (f.batch ? f.batch.msgs.map((m) => m.command!.commandId) : f.msg));
  t.same(shape, [['c1', 'c2'], 'heartbeat', ['c3', 'c4']], 'queued commands first, then the heartbeat at once, then the rest of the turn as one');

  link.send(cmd('c5'));
  await until('the lone command', () => frames.length === 5);
  t.equal(frames[4]!.command?.commandId, 'c5', 'a turn with one command sends it as it is, not in a batch');

  for (let i = 0; i < MAX_UP_BATCH + 10; i++) link.send(cmd(`b${i}`));
  await until('two more frames', () => frames.length === 7);
  t.same(frames.slice(5).map((f) => f.batch?.msgs.length), [MAX_UP_BATCH, 10], `a turn of ${MAX_UP_BATCH + 10} commands: batches of at most ${MAX_UP_BATCH}, in order`);
  t.equal(frames[6]!.batch!.msgs[9]!.command!.commandId, `b${MAX_UP_BATCH + 9}`);
});

t.test('eventsAsHolderOnly: no live events until the lease is granted, the redelivery fills the gap, none after deposition', async (t) => {
  const address = await startSwitch(t);
  const caller = await open(t, address, 'caller');
  const a = rawLinkDowns(address, { serverName: 'A', eventsAsHolderOnly: true });
  t.teardown(() => a.close());
  await until('Welcome', () => a.got.some((m) => m.welcome));
  const seqs = () => a.got.flatMap((m) => (m.batch ? m.batch.msgs : [m])).flatMap((m) => m.events?.events ?? []).map((e) => e.seq);
  const lastSeq = async () => (await caller.snapshot()).lastSeq;

  t.match(await caller.inboundCall('4155550100', '5001'), { ok: true });
  t.match(await caller.inboundCall('4155550103', '5004'), { ok: true });
  const before = await lastSeq();
  t.ok(before >= 2, `the call made events (last seq ${before})`);
  await caller.snapshot(); // a round trip through the switch: anything sent to A before it has arrived
  t.same(seqs(), [], 'following: no live events');

  a.write({ claim: { epoch: 1, appliedSeq: 1, redeliver: true } });
  await until('redelivery', () => seqs().length === before - 1);
  t.same(seqs(), Array.from({ length: before - 1 }, (_, i) => i + 2), 'Granted redelivers everything after appliedSeq, in order');
  a.write({ heartbeat: { epoch: 1 } });

  t.match(await caller.inboundCall('4155550101', '5002'), { ok: true });
  const held = await lastSeq();
  await until('live events', () => seqs().at(-1) === held);
  t.same(seqs(), Array.from({ length: held - 1 }, (_, i) => i + 2), 'as holder: live events follow the redelivery, no gap, no duplicate');

  const b = await open(t, address, 'B');
  t.match((await b.claim({ epoch: 2, force: true })).granted, { epoch: 2 });
  await until('Deposed', () => a.got.flatMap((m) => (m.batch ? m.batch.msgs : [m])).some((m) => m.deposed));
  t.match(await caller.inboundCall('4155550102', '5003'), { ok: true });
  await caller.snapshot();
  t.equal(seqs().at(-1), held, 'deposed: no live events again');
});

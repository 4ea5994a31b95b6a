// RequestReplay: a client that missed events gets exactly those back; ReplayGap when the journal no
// longer reaches back (a tiny journal here).
import t from 'tap';
import { openClient, startStack } from '../helpers/tserver-fixture.js';
import type { TEvent } from '../../src/protocol/messages.js';
import { isStateEvent } from '../helpers/ws-client.js';

t.test('replay after a disconnect, then a gap', async (t) => {
  const { ts } = await startStack(t, { config: { core: { journal: { maxEvents: 10, maxAgeMs: 3_600_000 } } } });
  const sup = await openClient(t, ts.url, 'sup');
  await sup.request('RequestRegisterAddress', { thisDN: '5001' });
  let ann = await openClient(t, ts.url, 'ann');
  await ann.request('RequestRegisterAddress', { thisDN: '5001' });
  const login = await sup.request('RequestAgentLogin', { thisDN: '5001', agentId: 'a1', thisQueue: '7000', workMode: 'ManualIn' });
  const seen = await ann.take((e) => e.event === 'EventAgentLogin');
  t.equal(seen.seq, login.seq);
  const lastSeq = seen.seq!;
  await ann.close();

  // Events ann misses.
  const missed: TEvent[] = [];
  missed.push(await sup.request('RequestAgentReady', { thisDN: '5001' }));
  missed.push(await sup.request('RequestAgentNotReady', { thisDN: '5001', workMode: 'AuxWork' }));
  missed.push(await sup.request('RequestAgentReady', { thisDN: '5001' }));
  for (let i = 1; i < missed.length; i++) t.ok(missed[i]!.seq! > missed[i - 1]!.seq!, 'seq strictly increasing');

  ann = await openClient(t, ts.url, 'ann');
  ann.skipAll();
  const ack = await ann.request('RequestReplay', { afterSeq: lastSeq });
  t.equal(ack.event, 'EventACK');
  const replayed = ann.events.filter(isStateEvent);
  t.same(replayed.map((e) => [e.event, e.seq]), missed.map((e) => [e.event, e.seq]), 'exactly the missed events, in order');
  t.ok(replayed.every((e) => e.referenceId === undefined), 'not ann\'s requests: no referenceId');
  // The replay came before the ACK.
  t.ok(ann.events.indexOf(ack) > ann.events.indexOf(replayed[replayed.length - 1]!));

  // Push the journal past its 10 events; replaying from the old seq is a gap.
  for (let i = 0; i < 6; i++) {
    await sup.request('RequestAgentNotReady', { thisDN: '5001', workMode: 'AuxWork' });
    await sup.request('RequestAgentReady', { thisDN: '5001' });
  }
  const gap = await ann.request('RequestReplay', { afterSeq: lastSeq });
  t.match(gap, { event: 'EventError', errorCode: 'ReplayGap' });
  t.type(gap.oldestSeq, 'number');
  t.ok(gap.oldestSeq! > lastSeq + 1);
  t.equal((await ann.request('RequestQueryServer')).event, 'EventServerInfo', 'still usable');
});

import t from 'tap';
import { CommandIds, CommandRecord } from '../../src/processes/switch/command-ids.js';

t.test('a repeated id returns the first result, marked duplicate', async (t) => {
  const ids = new CommandIds(2);
  t.equal(ids.repeat('a'), undefined);
  ids.remember('a', { commandId: 'a', ok: true, callId: 's1', epoch: 1 });
  ids.remember('a', { commandId: 'a', ok: false, errorCode: 'X', epoch: 2 });
  t.same(ids.repeat('a'), { commandId: 'a', ok: true, callId: 's1', epoch: 1, duplicate: true });
  ids.remember('b', { commandId: 'b', ok: true });
  ids.remember('c', { commandId: 'c', ok: true });
  t.equal(ids.size, 2);
  t.equal(ids.repeat('a'), undefined, 'the oldest id was forgotten');
  t.ok(ids.repeat('c'));
});

t.test('the accepted-command record is bounded, newest last, with totals', async (t) => {
  const rec = new CommandRecord(3);
  for (let i = 1; i <= 10; i++) rec.accept({ commandId: `c${i}`, epoch: 1, serverName: 'A', timeMs: i, seqAfter: i });
  rec.refuse();
  const q = rec.query(7);
  t.equal(q.requestId, 7);
  t.same(q.commands!.map((c) => c.commandId), ['c8', 'c9', 'c10']);
  t.equal(q.totalAccepted, 10);
  t.equal(q.totalRefused, 1);
});

// Unopened sockets per remote address: the cap (loopback separately), exact counts, the message.
import t from 'tap';
import { UnopenedSockets } from '../../src/adapters/gateway/unopened.js';

t.test('per-address cap on unopened sockets, loopback with its own cap', async (t) => {
  const u = new UnopenedSockets({ openTimeoutMs: 5_000, maxUnopenedPerAddress: 2, maxUnopenedPerLoopbackAddress: 0 });
  t.equal(u.refusal('10.0.0.5'), undefined);
  u.add('10.0.0.5');
  u.add('10.0.0.5');
  t.match(u.refusal('10.0.0.5'), /2 connections from 10\.0\.0\.5 have not sent RequestOpen yet \(tserver\.maxUnopenedPerAddress 2\): send RequestOpen right after connecting/);
  t.equal(u.refusal('10.0.0.6'), undefined, 'another address is not affected');
  u.remove('10.0.0.5');
  t.equal(u.refusal('10.0.0.5'), undefined, 'one opened (or closed): room again');
  for (let i = 0; i < 1_000; i++) u.add('127.0.0.1');
  t.equal(u.refusal('127.0.0.1'), undefined, 'loopback: no cap by default');
  t.equal(u.total, 1_001);
  u.remove('10.0.0.5');
  u.remove('10.0.0.5');
  t.equal(u.count('10.0.0.5'), 0, 'a second remove of the same address never goes negative');
  t.equal(u.total, 1_000);
});

t.test('a loopback cap when configured', async (t) => {
  const u = new UnopenedSockets({ openTimeoutMs: 0, maxUnopenedPerAddress: 0, maxUnopenedPerLoopbackAddress: 1 });
  u.add('::1');
  t.match(u.refusal('::1'), /tserver\.maxUnopenedPerLoopbackAddress 1/);
  u.add('10.0.0.5');
  u.add('10.0.0.5');
  t.equal(u.refusal('10.0.0.5'), undefined, 'maxUnopenedPerAddress 0 = no cap');
});

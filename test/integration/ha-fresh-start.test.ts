// Both servers of a pair that lived are lost (kill -9 of both). The first one back finds the lease
// free under an epoch > 0: it waits 3 s (freshStartWaitMs) for its peer (which may be frozen and hold
// the newest state), then starts fresh from the switch's snapshot. A desktop that registered with it while
// it waited hears of calls to its DN once it is primary: the registrations are re-run after the
// switch's snapshot made the devices known (chaos: they were re-run before, refused as unknown DNs,
// and those desktops never got another EventRinging).
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { after, mark, roleChanged, startPair } from '../helpers/pair-fixture.js';
import { openClient } from '../helpers/tserver-fixture.js';

t.test('fresh start after both servers were lost: waits for the peer, then registrations made meanwhile work', async (t) => {
  const pair = await startPair(t);
  for (const m of pair.members()) m.proc.kill('SIGKILL');
  await Promise.all(pair.members().map((m) => m.proc.exited));

  const a = await pair.start('A');
  const waiting = await roleChanged(a, 'backup-syncing');
  t.match(String(waiting.reason), /waiting \d+ ms for the peer before a fresh start/);
  const from = mark(a);
  const desk = await openClient(t, a.url, 'desk-fresh');
  const reg = await desk.request('RequestRegisterAddress', { thisDN: '5051' });
  t.equal(reg.event, 'EventRegistered', 'answered while the server waits (as a backup)');
  t.notOk(a.proc.lines.slice(from).some((l) => l.msg === 'role changed' && l.to === 'primary'), 'registered before the fresh start');

  const fresh = await after(a, from, (l) => l.msg === 'role changed' && l.to === 'primary', 10_000, 'fresh start');
  t.match(String(fresh.reason), /fresh start/);
  await after(a, from, (l) => l.msg === 'registrations made while backup re-run through the core', 5_000, 'registrations re-run');

  const caller = await connectLink({ address: pair.sw.address, serverName: 'caller' });
  t.teardown(() => caller.close());
  const r = await caller.inboundCall('4155550101', '5051');
  t.ok(r.ok, `inbound call to 5051 (${r.errorMessage ?? ''})`);
  const ringing = await desk.waitFor((e) => e.event === 'EventRinging' && e.thisDN === '5051', 5_000, 'EventRinging at 5051');
  t.equal(ringing.ani, '4155550101');
});

// `tandem call` end to end against a real switch, watched by a link.
import t from 'tap';
import { spawnTandem, ready } from '../helpers/process.js';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { describeEvent } from '../../src/processes/switch/describe.js';
import type { sw } from '../../src/wire/switch-proto.js';

t.test('tandem call places, hangs up and times out calls; clear errors', async (t) => {
  const proc = spawnTandem(t, ['switch', '--port', '0']);
  const address = `127.0.0.1:${((await ready(proc)).ports as { switch: number }).switch}`;
  const w = await connectLink({ address, serverName: 'watch' });
  t.teardown(() => w.close());
  const seen: sw.ISwitchEvent[] = [];
  w.on('events', (es) => seen.push(...es));
  const waitSeen = async (n: number) => {
    if (seen.length < n) await w.next(() => seen.length >= n, 5000);
    return seen.slice(0, n).map(describeEvent);
  };

  const call = spawnTandem(t, ['call', '--to', '8000', '--from', '4155550100', '--switch', address]);
  t.equal(await call.exited, 0);
  t.same(call.text, ['s1'], 'prints the call id');
  t.same(await waitSeen(1), ['DELIVERED s1 dn=8000 other=4155550100 — 4155550100:CONNECTED 8000:QUEUED']);

  const hang = spawnTandem(t, ['call', '--hangup', 's1', '--switch', address]);
  t.equal(await hang.exited, 0);
  t.same((await waitSeen(3)).slice(1), ['CONNECTION_CLEARED s1 dn=4155550100 other=8000 cause=CallerHangup — 8000:QUEUED', 'CONNECTION_CLEARED s1 dn=8000 cause=Normal — (none)']);

  const timed = spawnTandem(t, ['call', '--to', '5001', '--hangup-after', '50ms', '--switch', address]);
  t.equal(await timed.exited, 0);
  t.same((await waitSeen(6)).slice(3).map((l) => l.split(' —')[0]), ['DELIVERED s2 dn=5001 other=4155550100', 'CONNECTION_CLEARED s2 dn=4155550100 other=5001 cause=CallerHangup', 'CONNECTION_CLEARED s2 dn=5001 cause=Normal']);

  const unknown = spawnTandem(t, ['call', '--to', '1234', '--switch', address]);
  t.equal(await unknown.exited, 1);
  t.match(unknown.text.join('\n'), /UnknownDN: 1234 is not in the dial plan/);

  const badDuration = spawnTandem(t, ['call', '--to', '8000', '--hangup-after', 'soon', '--switch', address]);
  t.equal(await badDuration.exited, 2);
  t.match(badDuration.text.join('\n'), /not a duration/);

  // A switch that is not there: stop one and dial its port.
  const gone = spawnTandem(t, ['switch', '--port', '0']);
  const gonePort = ((await ready(gone)).ports as { switch: number }).switch;
  gone.kill('SIGTERM');
  await gone.exited;
  const unreachable = spawnTandem(t, ['call', '--to', '8000', '--switch', `127.0.0.1:${gonePort}`]);
  t.equal(await unreachable.exited, 1);
  t.match(unreachable.text.join('\n'), /cannot reach the switch at 127\.0\.0\.1:\d+/);
});

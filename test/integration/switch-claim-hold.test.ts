// src/processes/switch/claim-hold.ts through a real switch process: a claim that finds the lease held
// waits CLAIM_HOLD_MS; when the holder's link closes meanwhile (a kill -9: the backup's claim often
// arrives before the dead holder's link close does) it is granted, without a refusal and a second
// claim; a holder that stays is still refused, after the hold; the lease rules are unchanged.
import t from 'tap';
import { connectLink } from '../../src/adapters/switch-client/link-client.js';
import { openSwitchLink, startSwitch } from '../helpers/tserver-fixture.js';
import { CLAIM_HOLD_MS } from '../../src/processes/switch/claim-hold.js';

t.test('a LeaseHeld claim is held: granted when the holder\'s link closes, refused after the hold if it stays', async (t) => {
  const { address } = await startSwitch(t);
  const open = async (name: string) => {
    const l = await openSwitchLink(t, address, name);
    await l.welcome;
    return l;
  };
  const a = await open('A');
  const b = await open('B');
  t.match((await a.claim({ epoch: 1 })).granted, { epoch: 1 });
  const stopA = a.keepHeartbeating(1, 50);
  t.teardown(stopA);

  // The holder stays: refused, once the hold is over (not before).
  const sent = performance.now();
  t.match((await b.claim({ epoch: 2 })).refused, { code: 'LeaseHeld', holder: 'A', currentEpoch: 1 });
  t.ok(performance.now() - sent >= CLAIM_HOLD_MS - 5, `answered after the hold (${Math.round(performance.now() - sent)} ms)`);

  // The holder's link closes while B's claim is held: granted, with no refusal in between.
  const answer = b.claim({ epoch: 2 });
  setTimeout(() => { stopA(); a.close(); }, 10);
  const m = await answer;
  t.notOk(m.refused, 'not refused');
  t.match(m.granted, { epoch: 2 });
  t.match(await b.heartbeat(2), { epoch: 2, holder: true }, 'B holds the lease under epoch 2');

  // A held claim is granted only by the lease's rules: a stale epoch is refused at once, not held.
  const c = await open('C');
  const stale = performance.now();
  t.match((await c.claim({ epoch: 2 })).refused, { code: 'StaleEpoch' });
  t.ok(performance.now() - stale < CLAIM_HOLD_MS, 'StaleEpoch is not held');
});

t.test('a held claim whose claimer closes is dropped; the lease stays with the holder', async (t) => {
  const { proc, address } = await startSwitch(t);
  const a = await openSwitchLink(t, address, 'A');
  const b = await connectLink({ address, serverName: 'B' });
  await Promise.all([a.welcome, b.welcome]);
  t.match((await a.claim({ epoch: 1 })).granted, { epoch: 1 });
  const stopA = a.keepHeartbeating(1, 50);
  t.teardown(stopA);
  void b.claim({ epoch: 2 }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 10));
  b.close();
  await new Promise((r) => setTimeout(r, CLAIM_HOLD_MS + 50));
  t.match(await a.heartbeat(1), { epoch: 1, holder: true }, 'A still holds epoch 1');
  t.equal(proc.child.exitCode, null, 'the switch is up');
});

// commandsInFlight: what a primary re-sends when its switch link comes up (a reclaim after a blip, a
// promotion). Chaos found the need: a promoted backup stalled past its first lease, reclaimed, and
// the commands of requests it had accepted meanwhile were never sent again: each waited the 10 s
// pending timeout and failed (SwitchUnavailable), and a router's retry then found its call gone.
import t from 'tap';
import { commandsInFlight } from '../../src/core/in-flight.js';
import { Rig, answerOf, seqOf } from '../helpers/core-rig.js';

t.test('pending requests and ACD offers whose commands were dropped are re-sent with the same ids, and settle once', async (t) => {
  const rig = new Rig();
  rig.agentReady('5001', 'a1');
  rig.agentReady('5002', 'a2');
  const { callId } = rig.inbound('41000001', '5003'); // rings at 5003: an agent desk will answer it
  const ringing = rig.connIdOf(callId);
  t.same(commandsInFlight(rig.state), [], 'nothing in flight');

  // The link drops every command from here on (not up, or the lease could not be trusted).
  rig.autoRun = false;
  const answer = rig.req('desk5003', { request: 'RequestAnswerCall', thisDN: '5003', connId: ringing });
  const queued = rig.inbound('41000002', '7000'); // the ACD offers it to the longest-idle agent
  const queuedConn = rig.connIdOf(queued.callId);
  t.equal(rig.held.length, 2, 'the answer and the ACD Deflect went out (and were dropped)');
  const agent = rig.state.queueEntries.get(queuedConn!)!.offer!.agentDn;

  const again = commandsInFlight(rig.state);
  t.same(again.map((c) => c.commandId).sort(), [...rig.held.map((c) => c.commandId)].sort(), 'exactly the dropped commands, same ids');
  for (const c of again) t.same(c, rig.held.find((h) => h.commandId === c.commandId), `${c.commandId}: the command as first sent`);

  // The link is up again: re-send them through the switch.
  rig.autoRun = true;
  const events: string[] = [];
  let answered: ReturnType<typeof answerOf>;
  for (const cmd of again) {
    const fired = rig.sw.exec(cmd);
    const step = rig.feed({ kind: 'switchEvents', events: fired.events });
    const res = rig.feed({ kind: 'commandResult', result: fired.result! });
    events.push(...seqOf(step), ...seqOf(res));
    answered ??= answerOf(step, answer.referenceId) ?? answerOf(res, answer.referenceId);
  }
  t.equal(answered?.event, 'EventEstablished', 'the pending request is answered by its event');
  t.ok(events.includes(`${agent}:EventRinging`), 'the queued caller rings at the reserved agent');
  t.same(commandsInFlight(rig.state), [], 'all settled');
  t.equal(rig.state.calls.get(queuedConn)?.parties.find((p) => p.dn === agent)?.state, 'Ringing');

  // Sent once more (a second link blip): the switch answers with the stored results, nothing changes.
  const before = rig.all.events.length;
  for (const cmd of again) {
    const fired = rig.sw.exec(cmd);
    t.equal(fired.result?.duplicate, true, `${cmd.commandId}: a repeat`);
    rig.feed({ kind: 'commandResult', result: fired.result! });
  }
  t.equal(rig.all.events.length, before, 'no event from the repeats');
  t.same(rig.sw.executed.filter((id) => again.some((c) => c.commandId === id)).length, 2, 'each ran exactly once');
});

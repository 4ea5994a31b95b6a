// The chaos drill's loss checker (scripts/lib/chaos-checker.mjs) proven on hand-made evidence: a
// clean run counts nothing, and each kind of loss it exists for (an event lost, duplicated or not
// in the journal; a call lost, ghost or stuck; an agent state lost; a command run twice; a request
// answered twice; two servers commanding in overlapping epochs) is counted exactly.
import t from 'tap';
// @ts-ignore -- plain ESM script without types (the drill runs it straight from scripts/)
import { checkAgents, checkAnswers, checkCalls, checkCommands, checkDesktopEvents } from '../../scripts/lib/chaos-checker.mjs';

type Seen = [number, string, string];
const desk = (dn: string, events: Seen[], baselineSeq = 0, wantReady = true) => ({ dn, name: `chaos-agent-${dn}`, events, baselineSeq, wantReady });
const entry = (seq: number, dn: string, event: string, answer?: { clientName: string; referenceId: number }) => ({ seq, dn, event: { event, seq }, ...(answer ? { answer } : {}) });

const journal = [
  entry(101, '5000', 'EventRinging'),
  entry(102, '5000', 'EventEstablished', { clientName: 'chaos-agent-5000', referenceId: 1 }),
  entry(103, '5001', 'EventAgentReady', { clientName: 'chaos-agent-5001', referenceId: 7 }),
  entry(104, '5000', 'EventReleased', { clientName: 'chaos-agent-5000', referenceId: 2 }),
];

t.test('events: a desktop that saw exactly its journal counts nothing', async (t) => {
  const r = checkDesktopEvents([
    desk('5000', [[101, 'EventRinging', 'c1'], [102, 'EventEstablished', 'c1'], [104, 'EventReleased', 'c1']]),
    desk('5001', [[103, 'EventAgentReady', '']]),
  ], journal);
  t.same({ lost: r.lost, duplicated: r.duplicated, unexpected: r.unexpected, worst: r.worst }, { lost: 0, duplicated: 0, unexpected: 0, worst: [] });
});

t.test('events: a lost event, a duplicate and an unexpected one are each counted once, per desktop', async (t) => {
  const r = checkDesktopEvents([
    // 102 never arrived; 104 arrived twice
    desk('5000', [[101, 'EventRinging', 'c1'], [104, 'EventReleased', 'c1'], [104, 'EventReleased', 'c1']]),
    // 105 is in no journal (a deposed primary's event); 103 under a wrong name
    desk('5001', [[103, 'EventAgentNotReady', ''], [105, 'EventAgentReady', '']]),
  ], journal);
  t.equal(r.lost, 1, 'seq 102 lost');
  t.equal(r.duplicated, 1, 'seq 104 twice');
  t.equal(r.unexpected, 2, 'seq 105 not journalled, seq 103 another event');
  t.same(r.worst.map((w: { name: string }) => w.name), ['chaos-agent-5000', 'chaos-agent-5001']);
});

t.test('events: before the baseline or trimmed from the journal is not judged', async (t) => {
  const r = checkDesktopEvents([desk('5000', [[50, 'EventRinging', 'c0'], [104, 'EventReleased', 'c1']], 102)], journal);
  t.same([r.lost, r.duplicated, r.unexpected], [0, 0, 0], '101/102 before the baseline, 50 older than the journal');
});

t.test('calls: lost (switch only), ghost (primary only), stuck (left after the drain)', async (t) => {
  const clean = checkCalls({ calls: [] }, { calls: {} });
  t.same([clean.lost, clean.ghosts, clean.stuck], [0, 0, 0]);
  const snap = { calls: [
    { callId: 's1', parties: [{ dn: '5000', state: 2 }] },
    { callId: 's2', parties: [{ dn: '41000', state: 3 }, { dn: '5001', state: 3 }] },
  ] };
  const state = { calls: { c1: { connId: 'c1', switchCallId: 's1' }, c9: { connId: 'c9', switchCallId: 's9' } } };
  const r = checkCalls(snap, state);
  t.equal(r.lost, 1, 's2: the switch has it, the primary does not');
  t.equal(r.ghosts, 1, 's9: the primary has it, the switch does not');
  t.equal(r.stuck, 2, 'both switch calls outlived the drain');
  t.same(r.stuckCalls, ['s1 5000:2', 's2 41000:3,5001:3']);
});

t.test('agents: a state other than the one the desktop asked for is lost', async (t) => {
  const desks = [desk('5000', []), desk('5001', [], 0, false), desk('5002', [])];
  const ok = checkAgents(desks, { agents: { 5000: { state: 'Ready' }, 5001: { state: 'NotReady' }, 5002: { state: 'Ready' } } });
  t.same(ok, { lost: 0, wrong: [] });
  const r = checkAgents(desks, { agents: { 5000: { state: 'Busy' }, 5001: { state: 'NotReady' } } });
  t.equal(r.lost, 2);
  t.same(r.wrong, ['5000: Busy (want Ready)', '5002: not logged in (want Ready)']);
});

t.test('commands: one id accepted twice is executed twice', async (t) => {
  const r = checkCommands([
    { commandId: 'd#1', epoch: 1 }, { commandId: 'auto:c1:0', epoch: 1 }, { commandId: 'd#1', epoch: 2 },
  ]);
  t.equal(r.executedTwice, 1);
  t.equal(r.splitBrainWindows, 0);
  t.same(r.examples, ['twice d#1']);
});

t.test('commands: an epoch accepted after a higher one is a split-brain window', async (t) => {
  const clean = checkCommands([{ commandId: 'a', epoch: 1 }, { commandId: 'b', epoch: 2 }, { commandId: 'c', epoch: 2 }, { commandId: 'd', epoch: 3 }]);
  t.same([clean.executedTwice, clean.splitBrainCommands, clean.splitBrainWindows], [0, 0, 0], 'epochs only go up');
  const r = checkCommands([
    { commandId: 'a', epoch: 3 }, { commandId: 'b', epoch: 4 },
    { commandId: 'c', epoch: 3 }, { commandId: 'd', epoch: 3 }, // the old primary still commanding: one window
    { commandId: 'e', epoch: 5 }, { commandId: 'f', epoch: 4 }, // and again one epoch later
  ]);
  t.equal(r.splitBrainCommands, 3);
  t.equal(r.splitBrainWindows, 2, '3<4 and 4<5');
  t.same(r.examples, ['epoch 3 after 4: c', 'epoch 3 after 4: d', 'epoch 4 after 5: f']);
});

t.test('commands: fromIndex skips what earlier cycles counted, but still knows the epochs and ids before it', async (t) => {
  const log = [{ commandId: 'x', epoch: 2 }, { commandId: 'x', epoch: 2 }, { commandId: 'y', epoch: 3 }, { commandId: 'x', epoch: 3 }, { commandId: 'z', epoch: 2 }];
  const r = checkCommands(log, 2);
  t.equal(r.executedTwice, 0, 'x was counted twice at index 1 (before fromIndex); a third run is not a new "twice"');
  t.equal(r.splitBrainWindows, 1, 'z (epoch 2) after epoch 3');
});

t.test('answers: one clientName#referenceId answered twice in the journal', async (t) => {
  t.same(checkAnswers(journal), { answeredTwice: 0, examples: [] });
  const r = checkAnswers([...journal, entry(110, '5000', 'EventReleased', { clientName: 'chaos-agent-5000', referenceId: 2 })]);
  t.equal(r.answeredTwice, 1);
  t.same(r.examples, ['chaos-agent-5000#2 again at seq 110 (EventReleased)']);
});

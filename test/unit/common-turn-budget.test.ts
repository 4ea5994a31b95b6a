// TurnBudget: inline while the turn's budget lasts, then queued in order across turns, the source
// paused above the high-water mark and resumed at the low one; a stream's end waits for its data.
import t from 'tap';
import { TurnBudget } from '../../src/lib/turn-budget.js';

function rig(costMs: number, o: { budgetMs?: number; highWater?: number; lowWater?: number } = {}) {
  let clock = 0;
  const laterQ: (() => void)[] = [];
  const handled: number[] = [];
  const flow: string[] = [];
  const b = new TurnBudget<number>({
    handle: (m) => { handled.push(m); clock += costMs; },
    budgetMs: o.budgetMs ?? 25, highWater: o.highWater ?? 4, lowWater: o.lowWater ?? 1,
    pause: () => flow.push(`pause@${handled.length}`), resume: () => flow.push(`resume@${handled.length}`),
    now: () => clock, later: (fn) => laterQ.push(fn),
  });
  /** One event-loop turn: the callbacks scheduled before it, in order. */
  const turn = () => { const q = laterQ.splice(0); for (const fn of q) fn(); };
  return { b, handled, flow, turn, laterQ };
}

t.test('inline while within the budget: no extra hop at normal load', async (t) => {
  const { b, handled } = rig(1);
  for (let i = 0; i < 5; i++) b.push(i);
  t.same(handled, [0, 1, 2, 3, 4]);
  t.equal(b.deferred, 0);
});

t.test('a backlog is spread over turns of ~budgetMs, in order; the source paused and resumed', async (t) => {
  const { b, handled, flow, turn } = rig(10);
  for (let i = 0; i < 9; i++) b.push(i);
  t.same(handled, [0, 1, 2], '30 ms of work in the first turn (checked before each message)');
  t.equal(b.queued, 6);
  t.same(flow, ['pause@3'], 'paused once 4 were queued');
  turn();
  t.same(handled, [0, 1, 2, 3, 4, 5]);
  t.same(flow, ['pause@3']);
  turn();
  t.same(handled, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  t.same(flow, ['pause@3', 'resume@9'], 'resumed at the low-water mark');
  t.equal(b.deferred, 6);
});

t.test('a message never overtakes a queued one, even when a new turn has budget', async (t) => {
  const { b, handled, turn } = rig(30);
  b.push(1); b.push(2); b.push(3);
  t.same(handled, [1]);
  turn(); // a fresh budget: 2 is handled, 3 waits
  t.same(handled, [1, 2]);
  b.push(4); // arrives in the same turn, behind 3
  turn(); turn();
  t.same(handled, [1, 2, 3, 4]);
});

t.test('the end of the stream is reported after its queued messages', async (t) => {
  const { b, handled, turn } = rig(30);
  b.push(1); b.push(2); b.push(3);
  const order: string[] = [];
  b.onDrained(() => order.push(`closed after ${handled.length}`));
  t.same(order, []);
  turn(); turn();
  t.same(order, ['closed after 3']);
  const idle = rig(1);
  let closed = false;
  idle.b.onDrained(() => { closed = true; });
  t.ok(closed, 'nothing queued: at once');
});

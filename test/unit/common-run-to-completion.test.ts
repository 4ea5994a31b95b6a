// The run-to-completion queue (src/lib/run-to-completion.ts): inputs handled in order, an input raised
// while another is handled waits for it, and what a handler's exception does to the inputs behind it.
import t from 'tap';
import { RunToCompletion } from '../../src/lib/run-to-completion.js';

t.test('each input is handled to its end before the next; reentrant inputs are queued, in order', async (t) => {
  const trace: string[] = [];
  const q: RunToCompletion<string> = new RunToCompletion((x) => {
    trace.push(`start ${x}`);
    if (x === 'a') {
      t.equal(q.submit('b'), false, 'queued behind a');
      t.equal(q.submit('c'), false, 'queued behind b');
    }
    if (x === 'b') t.equal(q.submit('d'), false, 'queued behind c');
    trace.push(`end ${x}`);
  });
  t.equal(q.submit('a'), true, 'the outer call drains');
  t.same(trace, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
  t.equal(q.submit('e'), true, 'idle again: the next call drains');
  t.same(trace.slice(-2), ['start e', 'end e']);
});

t.test('falsy inputs are inputs too', async (t) => {
  const seen: number[] = [];
  const q: RunToCompletion<number> = new RunToCompletion((x) => { seen.push(x); if (x === 0) q.submit(1); });
  q.submit(0);
  t.same(seen, [0, 1]);
});

t.test('a handler that throws: the draining caller gets the exception; the inputs behind it run before the next one', async (t) => {
  const seen: string[] = [];
  const q: RunToCompletion<string> = new RunToCompletion((x) => {
    seen.push(x);
    if (x === 'a') { q.submit('b'); q.submit('c'); throw new Error('boom in a'); }
  });
  t.throws(() => q.submit('a'), /boom in a/);
  t.same(seen, ['a'], 'the drain stopped at the failed input');
  t.equal(q.submit('d'), true, 'not left running: the next call drains');
  t.same(seen, ['a', 'b', 'c', 'd'], 'b and c kept, in order, before d');
});

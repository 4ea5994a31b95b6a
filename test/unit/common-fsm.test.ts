// The guarded state machine helper: exact transition sequences, refusal of a stale caller and of a
// move the table does not allow, listeners, and the structured log line of each change.
import t from 'tap';
import { allBut, sinkLogger, StateMachine, type FsmLevel, type FsmLogger } from '../../src/lib/fsm.js';

type S = 'idle' | 'connecting' | 'up' | 'closed';
const ALL: S[] = ['idle', 'connecting', 'up', 'closed'];

interface Line { level: FsmLevel; fields: Record<string, unknown>; msg: string }

function capture(): FsmLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: FsmLevel) => (fields: Record<string, unknown>, msg: string) => { lines.push({ level, fields, msg }); };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function machine(log = capture()) {
  const m = new StateMachine<S>({
    name: 'test link',
    initial: 'idle',
    allowedFrom: { idle: ['connecting'], connecting: ['idle'], up: ['connecting'], closed: allBut(ALL, 'closed') },
    log,
    level: ({ to }) => (to === 'idle' ? 'warn' : 'info'),
    fields: () => ({ peer: 'B' }),
  });
  return { m, log };
}

t.test('allowed moves change the state, in order, and notify listeners after the change', async (t) => {
  const { m } = machine();
  const seen: string[] = [];
  m.onChange(({ from, to, reason }) => seen.push(`${from}>${to}:${reason}:${m.state}`));
  t.ok(m.transition('idle', 'connecting', 'start'));
  t.ok(m.transition(['connecting'], 'up', 'welcome'));
  t.ok(m.transition(['idle', 'connecting', 'up'], 'closed', 'stop'));
  t.equal(m.state, 'closed');
  t.same(seen, ['idle>connecting:start:connecting', 'connecting>up:welcome:up', 'up>closed:stop:closed']);
});

t.test('a stale caller (the machine is not in the state it saw) is refused, logged at debug, nothing changes', async (t) => {
  const { m, log } = machine();
  const seen: string[] = [];
  m.onChange(({ to }) => seen.push(to));
  m.transition('idle', 'connecting', 'start');
  m.transition('connecting', 'idle', 'stream closed');
  // A close callback from the first stream, after the machine already went back to idle:
  t.notOk(m.transition('connecting', 'idle', 'late close of the old stream'));
  t.equal(m.state, 'idle');
  t.same(seen, ['connecting', 'idle']);
  const refused = log.lines.at(-1)!;
  t.equal(refused.level, 'debug');
  t.match(refused.fields, { machine: 'test link', state: 'idle', expected: ['connecting'], to: 'idle', reason: 'late close of the old stream', peer: 'B' });
});

t.test('a move the table does not allow is refused even when the caller saw the current state', async (t) => {
  const { m, log } = machine();
  t.notOk(m.transition('idle', 'up', 'skipping connecting'));
  t.equal(m.state, 'idle');
  t.equal(log.lines.at(-1)!.level, 'debug');
  t.match(log.lines.at(-1)!.fields, { state: 'idle', to: 'up' });
  // No self-transition unless the table lists it, and nothing leaves a final state.
  m.transition('idle', 'closed', 'stop');
  t.notOk(m.transition('closed', 'closed', 'stop again'));
  t.notOk(m.transition('closed', 'idle', 'revive'));
  t.notOk(m.canEnter('idle'));
  t.ok(m.is('closed'));
  t.notOk(m.is('idle', 'up'));
});

t.test('each change is one structured line: machine, from, to, reason, extra fields, at the chosen level', async (t) => {
  const { m, log } = machine();
  m.transition('idle', 'connecting', 'start');
  m.transition('connecting', 'idle', 'refused');
  t.same(log.lines.map((l) => [l.level, l.fields]), [
    ['info', { machine: 'test link', from: 'idle', to: 'connecting', reason: 'start', peer: 'B' }],
    ['warn', { machine: 'test link', from: 'connecting', to: 'idle', reason: 'refused', peer: 'B' }],
  ]);
  t.match(log.lines[0]!.msg, /idle -> connecting/);
});

t.test('a removed listener is not called again; listeners may start the next transition', async (t) => {
  const { m } = machine();
  const calls: string[] = [];
  const off = m.onChange(({ to }) => calls.push(`a:${to}`));
  m.onChange(({ to }) => { if (to === 'connecting') m.transition('connecting', 'up', 'welcome at once'); });
  m.transition('idle', 'connecting', 'start');
  t.equal(m.state, 'up');
  off();
  m.transition('up', 'closed', 'stop');
  t.same(calls, ['a:connecting', 'a:up']);
});

t.test('a machine without a log sink builds no lines (fields never asked for), transitions and refusals as usual', async (t) => {
  let asked = 0;
  const m = new StateMachine<'a' | 'b'>({ name: 'quiet', initial: 'a', allowedFrom: { a: ['b'], b: ['a'] }, log: sinkLogger(undefined), fields: () => { asked++; return {}; } });
  t.ok(m.transition('a', 'b', 'go'));
  t.notOk(m.transition('a', 'b', 'stale'), 'a stale caller is still refused');
  t.equal(m.state, 'b');
  t.equal(asked, 0, 'no line was built');
  const lines: string[] = [];
  const loud = new StateMachine<'a' | 'b'>({ name: 'loud', initial: 'a', allowedFrom: { a: ['b'], b: ['a'] }, log: sinkLogger((msg) => lines.push(msg)) });
  loud.transition('a', 'b', 'go');
  t.same(lines, ['loud a -> b'], 'with a sink, the line is written');
});

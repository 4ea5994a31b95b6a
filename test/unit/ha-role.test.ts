// The role state machine: exact sequences, stale callers refused, illegal edges thrown, epochs
// never going down, every change logged and reported.
import t from 'tap';
import pino from 'pino';
import { RoleMachine, type RoleChange } from '../../src/ha/role.js';

function machine(epoch = 0) {
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => { logs.push(JSON.parse(s)); } });
  const m = new RoleMachine(log, epoch);
  const changes: RoleChange[] = [];
  m.onChange((c) => changes.push(c));
  return { m, changes, logs };
}

t.test('cold start as backup, primary dies, promotion: exact sequence', async (t) => {
  const { m, changes, logs } = machine();
  t.equal(m.role, 'starting');
  t.ok(m.transition(['starting'], 'backup-syncing', 'peer is primary'));
  m.observeEpoch(3); // learned from Welcome
  t.ok(m.transition(['backup-syncing'], 'backup-in-sync', 'caught up'));
  t.ok(m.transition(['backup-in-sync'], 'promoting', 'primary lost: stream closed'));
  t.ok(m.transition(['promoting'], 'primary', 'switch granted epoch 4', 4));
  t.same(changes.map((c) => [c.from, c.to, c.epoch]), [
    ['starting', 'backup-syncing', 0],
    ['backup-syncing', 'backup-in-sync', 3],
    ['backup-in-sync', 'promoting', 3],
    ['promoting', 'primary', 4],
  ]);
  t.same(changes[3], { from: 'promoting', to: 'primary', epoch: 4, previousEpoch: 3, reason: 'switch granted epoch 4' });
  const info = logs.filter((l) => l.level === 30);
  t.same(info.map((l) => l.msg), ['role starting -> backup-syncing', 'role backup-syncing -> backup-in-sync', 'role backup-in-sync -> promoting', 'role promoting -> primary']);
  t.match(info[3], { from: 'promoting', to: 'primary', epoch: 4, reason: 'switch granted epoch 4' });
  t.ok(m.isPrimary);
});

t.test('graceful handover and rejoin as backup', async (t) => {
  const { m, changes } = machine(5);
  m.transition(['starting'], 'promoting', 'no peer');
  m.transition(['promoting'], 'primary', 'granted', 6);
  t.ok(m.transition(['primary'], 'demoting', 'SIGUSR2'));
  t.ok(m.transition(['demoting'], 'backup-syncing', 'handed over at offset 58'));
  t.ok(m.transition(['backup-syncing'], 'backup-in-sync', 'partial resync, nothing to send'));
  m.observeEpoch(7);
  t.same(changes.map((c) => `${c.from}>${c.to}@${c.epoch}`), [
    'starting>promoting@5', 'promoting>primary@6', 'primary>demoting@6', 'demoting>backup-syncing@6', 'backup-syncing>backup-in-sync@6',
  ]);
  t.equal(m.epoch, 7);
});

t.test('stale callers are refused and change nothing', async (t) => {
  const { m, changes, logs } = machine();
  m.transition(['starting'], 'backup-syncing', 'x');
  // A late "caught up" callback from a previous stream, after the role moved on:
  m.transition(['backup-syncing'], 'promoting', 'primary lost');
  t.notOk(m.transition(['backup-syncing'], 'backup-in-sync', 'late caught-up'));
  t.equal(m.role, 'promoting');
  t.equal(changes.length, 2);
  t.ok(logs.some((l) => l.msg === 'role transition refused: stale caller' && l.to === 'backup-in-sync'));
  // The claim is refused by the switch: back to backup; a late grant is then stale.
  t.ok(m.transition(['promoting'], 'backup-syncing', 'claim refused: LeaseHeld'));
  t.notOk(m.transition(['promoting'], 'primary', 'late grant', 2));
  t.equal(m.role, 'backup-syncing');
});

t.test('illegal edges throw; epochs never go down; primary needs an epoch', async (t) => {
  const { m, changes } = machine(4);
  t.throws(() => m.transition(['starting'], 'primary', 'skip promoting', 5), { code: 'IllegalRoleTransition' });
  t.throws(() => m.transition(['starting'], 'backup-in-sync', 'skip syncing'), { code: 'IllegalRoleTransition' });
  m.transition(['starting'], 'promoting', 'x');
  t.throws(() => m.transition(['promoting'], 'primary', 'no epoch'), /needs the epoch/);
  t.notOk(m.transition(['promoting'], 'primary', 'old epoch', 3), 'a lower epoch is refused');
  t.equal(m.role, 'promoting');
  m.observeEpoch(2);
  t.equal(m.epoch, 4, 'observeEpoch never lowers');
  t.ok(m.transition(['promoting'], 'stopping', 'SIGTERM'));
  t.throws(() => m.transition(['stopping'], 'starting', 'restart in-process'), { code: 'IllegalRoleTransition' });
  t.equal(changes.length, 2);
});

t.test('unsubscribe stops notifications', async (t) => {
  const { m } = machine();
  const seen: string[] = [];
  const off = m.onChange((c) => seen.push(c.to));
  m.transition(['starting'], 'backup-syncing', 'x');
  off();
  m.transition(['backup-syncing'], 'stopping', 'y');
  t.same(seen, ['backup-syncing']);
});

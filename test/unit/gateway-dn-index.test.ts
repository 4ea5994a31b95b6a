import t from 'tap';
import { DnIndex } from '../../src/adapters/gateway/dn-index.js';

t.test('set, replace and clear a client\'s DNs', async (t) => {
  const ix = new DnIndex();
  ix.set('ann', ['5001', '5002']);
  ix.set('bob', ['5002']);
  t.same([...ix.clients('5002')!].sort(), ['ann', 'bob']);
  ix.set('ann', ['5003']);
  t.same([...ix.clients('5002')!], ['bob']);
  t.equal(ix.clients('5001'), undefined, 'an empty DN entry is removed');
  t.same([...ix.dns('ann')], ['5003']);
  ix.set('bob', []);
  t.equal(ix.clients('5002'), undefined);
  t.same([...ix.dns('bob')], []);
  ix.clear();
  t.equal(ix.clients('5003'), undefined);
});

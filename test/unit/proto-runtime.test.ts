import t from 'tap';
import { sw } from '../../src/wire/switch-proto.js';

t.test('uint64 fields decode to plain numbers, defaults included', async (t) => {
  const claim = sw.LinkUp.decode(sw.LinkUp.encode({ claim: { epoch: 7, appliedSeq: 2 ** 40 } }).finish()).claim!;
  t.equal(claim.epoch, 7);
  t.equal(claim.appliedSeq, 2 ** 40);
  const empty = sw.LinkUp.decode(sw.LinkUp.encode({ claim: {} }).finish()).claim!;
  t.equal(empty.epoch, 0);
});

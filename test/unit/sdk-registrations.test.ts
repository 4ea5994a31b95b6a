// register() resolves with the primary's EventRegistered. Without a primary, a backup's answer counts
// only when the client has a lastSeq (mid-failover: the next primary replays what the DN missed); before
// the first primary it does not, else the desktop acted on the DN before the primary sent it its events
// (seen as a lost EventAgentLogin in test/integration/sdk-reported-replay.test.ts when the backup's link
// opened first).
import t from 'tap';
import { Registrations, type RegistrationHost } from '../../src/sdk/registrations.js';
import type { ServerLink } from '../../src/sdk/server-link.js';
import type { TEvent } from '../../src/protocol/messages.js';

/** A link that records its calls and answers each when the test says so. */
function fakeLink(name: string) {
  const calls: { body: Record<string, unknown>; answer: (ev: TEvent) => void }[] = [];
  const link = {
    name,
    isOpen: true,
    call: (body: Record<string, unknown>) => new Promise<TEvent>((resolve) => calls.push({ body, answer: resolve })),
  };
  return { link: link as unknown as ServerLink, calls };
}

const registered = (dn: string, server: string) => ({ event: 'EventRegistered', thisDN: dn, server } as unknown as TEvent);
const tick = () => new Promise((r) => setImmediate(r));

function setup(history: boolean) {
  const a = fakeLink('A'), b = fakeLink('B');
  let primary: ServerLink | null = null;
  const host: RegistrationHost = { closed: () => false, primaryLink: () => primary, hasHistory: () => history, links: [a.link, b.link] };
  const regs = new Registrations(host);
  return { a, b, regs, choose: (l: ServerLink) => { primary = l; regs.primaryChosen(l); } };
}

t.test('before the first primary: the backup answers first, register() waits for the primary', async (t) => {
  const { a, b, regs, choose } = setup(false);
  let result: TEvent | undefined;
  void regs.register('5003').then((ev) => { result = ev; });
  t.same(b.calls.map((c) => c.body), [{ request: 'RequestRegisterAddress', thisDN: '5003' }], 'registered on every open link');
  b.calls[0]!.answer(registered('5003', 'B'));
  await tick();
  t.equal(result, undefined, "the backup's answer does not resolve it: no primary has the DN yet");
  choose(a.link);
  const onPrimary = a.calls.at(-1)!;
  t.same(onPrimary.body, { request: 'RequestRegisterAddress', thisDN: '5003' }, 'asked again of the primary once chosen');
  onPrimary.answer(registered('5003', 'A'));
  await tick();
  t.same(result, registered('5003', 'A'), "resolved with the primary's EventRegistered");
});

t.test('mid-failover (a lastSeq to replay from): a backup\'s answer resolves it', async (t) => {
  const { b, regs } = setup(true);
  let result: TEvent | undefined;
  void regs.register('5004').then((ev) => { result = ev; });
  b.calls[0]!.answer(registered('5004', 'B'));
  await tick();
  t.same(result, registered('5004', 'B'), 'the next primary replays what the DN missed after lastSeq');
});

t.test('with a primary, only its answer counts', async (t) => {
  const { a, b, regs, choose } = setup(true);
  choose(a.link);
  let result: TEvent | undefined;
  void regs.register('5005').then((ev) => { result = ev; });
  b.calls.at(-1)!.answer(registered('5005', 'B'));
  await tick();
  t.equal(result, undefined, "a backup's answer is a confirmation only");
  a.calls.at(-1)!.answer(registered('5005', 'A'));
  await tick();
  t.same(result, registered('5005', 'A'));
});

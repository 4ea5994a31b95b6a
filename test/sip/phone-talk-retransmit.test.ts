// Issue 13 item 2: the agent phone scenario used with NOTIFY talk (phone-talk.xml) takes a copy of the
// NOTIFY that arrives after its ACK — what a switch sends when the phone's 200 to the NOTIFY reached
// it after T1 (500 ms) — answering it 200 instead of failing the call. SIPp plays the switch
// (switch-notify-twice.xml); both scenarios must complete.
import t from 'tap';
import { runSipp } from '../helpers/sipp.js';

t.test('phone-talk.xml answers a retransmitted NOTIFY after the ACK and completes', async (t) => {
  const phone = await runSipp(t, { scenario: 'phone-talk.xml', target: '127.0.0.1:9', timeoutS: 20 });
  // The phone's UAS must hold its port before the INVITE is sent: the "switch" retransmits its INVITE
  // (retrans 500 ms) if the first one found no listener, so no wait is needed here.
  const sw = await runSipp(t, { scenario: 'switch-notify-twice.xml', target: `127.0.0.1:${phone.port}`, timeoutS: 20 });
  await sw.done();
  await phone.done();
  t.pass('the copy was answered 200, then the BYE: both SIPp runs exited 0');
});

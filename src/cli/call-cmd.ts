// `tandem call`: a simulated external caller. Places an inbound call on the switch (or hangs one up)
// through a tool link (Hello + Simulate, never a claim), prints the call id and exits.
import { parseFlags } from './args.js';
import { connectLink, type LinkClient } from '../adapters/switch-client/link-client.js';
import { resolveSecret, SWITCH_SECRET_ENV } from '../lib/peer-auth.js';

const HELP = `usage: tandem call --to <dn> --from <number> [options]
       tandem call --hangup <callId> [options]

Places a simulated inbound call from an external number to a DN of the switch (a route point,
queue or extension) and prints the switch's call id; or hangs up the caller of a call.

options:
  --to <dn>              the dialled DN, e.g. 8000 (route point)
  --from <number>        the caller's number (ANI), e.g. 4155550100 (default 4155550100)
  --hangup-after <d>     the caller hangs up after this long: 30s, 1500ms, 2m (default: never)
  --hangup <callId>      hang up the external caller of this call instead
  --switch <host:port>   the switch (default 127.0.0.1:7200)
  --secret-file <f>      file holding the switch's shared secret (under tandem pair:
                         <log-dir>/switch.secret); or set $${SWITCH_SECRET_ENV}
  --secret <s>           the secret itself (visible in ps: prefer the file)
  -h, --help             this text`;

/** "30s" | "1500ms" | "2m" | "30" (seconds) -> ms. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`"${v}" is not a duration: use e.g. 30s, 1500ms or 2m`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms > 0xffffffff) throw new Error(`duration "${v}" is too long`);
  return Math.round(ms);
}

export async function main(argv: string[]): Promise<number> {
  const values = parseFlags('call', argv, {
    to: { type: 'string' }, from: { type: 'string', default: '4155550100' }, 'hangup-after': { type: 'string' },
    hangup: { type: 'string' }, switch: { type: 'string', default: '127.0.0.1:7200' }, secret: { type: 'string' }, 'secret-file': { type: 'string' },
  }, HELP);
  if (typeof values === 'number') return values;
  if (!values.to && !values.hangup) {
    console.error('tandem call: say which DN to call with --to <dn> (or --hangup <callId>); tandem call --help');
    return 2;
  }
  let hangupAfterMs = 0;
  try {
    if (values['hangup-after']) hangupAfterMs = parseDuration(values['hangup-after']);
  } catch (err) {
    console.error(`tandem call: --hangup-after: ${(err as Error).message}`);
    return 2;
  }

  let secret: string | undefined;
  try {
    secret = resolveSecret({
      flag: values.secret, flagFile: values['secret-file'], env: process.env[SWITCH_SECRET_ENV],
      names: { flag: '--secret', flagFile: '--secret-file', env: SWITCH_SECRET_ENV, config: '', configFile: '' },
    });
  } catch (err) {
    console.error(`tandem call: ${(err as Error).message}`);
    return 2;
  }
  let link: LinkClient;
  try {
    link = await connectLink({ address: values.switch!, serverName: 'caller', secret, timeoutMs: 5_000 });
  } catch (err) {
    const refused = (err as { code?: string }).code === 'Unauthorized';
    console.error(`tandem call: ${refused ? 'the switch at' : 'cannot reach the switch at'} ${values.switch}${refused ? ' refused the link' : ''}: ${(err as Error).message}`);
    return 1;
  }
  try {
    const r = values.hangup
      ? await link.simulate({ callerHangup: { callId: values.hangup } })
      : await link.inboundCall(values.from!, values.to!, hangupAfterMs);
    if (!r.ok) {
      console.error(`tandem call: ${r.errorCode}: ${r.errorMessage}`);
      return 1;
    }
    console.log(r.callId);
    return 0;
  } catch (err) {
    console.error(`tandem call: ${(err as Error).message}`);
    return 1;
  } finally {
    link.close();
  }
}

// `tandem token`: mints an HMAC-signed desktop token (src/auth/hmac-token.ts) with the same key a
// T-Server has in tserver.auth.hmacKeys. An external system can mint the same format itself.
import { parseFlags } from './args.js';
import { readFileSync } from 'node:fs';
import { mintToken, parseDuration } from '../auth/hmac-token.js';

const HELP = `usage: tandem token --key-id <id> --secret-file <file> --client <clientName> [--ttl 8h] [--dns 5001,7000]

Prints a signed token for RequestOpen {clientName, token} on a T-Server whose config has
  "tserver": {"auth": {"mode": "token", "hmacKeys": {"<id>": "<secret>"}}}   (or hmacKeyFiles)
Format: v1.<keyId>.<base64url JSON {sub, iat, exp, dns?}>.<base64url HMAC-SHA256>; see docs/security.md.

options:
  --key-id <id>         which configured key signs it (rotate keys by adding a new id)
  --secret-file <file>  file holding that key's secret (never pass secrets on the command line)
  --client <name>       the clientName the token is for
  --ttl <duration>      how long it is valid: 90s, 30m, 8h, 2d (default 8h)
  --dns <list>          comma-separated DNs the client may register and act on (default: any)
  --json                print {"token", "exp"} as JSON instead of the bare token`;

export async function main(argv: string[]): Promise<number> {
  const values = parseFlags('token', argv, {
    'key-id': { type: 'string' }, 'secret-file': { type: 'string' }, client: { type: 'string' },
    ttl: { type: 'string', default: '8h' }, dns: { type: 'string' }, json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, HELP);
  if (!values) return 2;
  if (values.help) { console.log(HELP); return 0; }
  for (const k of ['key-id', 'secret-file', 'client'] as const) {
    if (!values[k]) { console.error(`tandem token: --${k} is required\n\n${HELP}`); return 2; }
  }
  try {
    const secret = readFileSync(values['secret-file']!, 'utf8').trim();
    if (!secret) throw new Error(`the secret file ${values['secret-file']} is empty`);
    const ttl = parseDuration(values.ttl!);
    if (ttl <= 0) throw new Error('--ttl must be longer than 0');
    const iat = Math.floor(Date.now() / 1000);
    const dns = values.dns?.split(',').map((d) => d.trim()).filter(Boolean);
    const token = mintToken(values['key-id']!, secret, { sub: values.client!, iat, exp: iat + ttl, ...(dns ? { dns } : {}) });
    console.log(values.json ? JSON.stringify({ token, exp: iat + ttl }) : token);
    return 0;
  } catch (err) {
    console.error(`tandem token: ${(err as Error).message}`);
    return 1;
  }
}

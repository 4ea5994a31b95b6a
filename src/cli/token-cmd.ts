// `tandem token`: mints an HS256 JWT for a desktop (src/auth/jwt.ts) with a key a T-Server has in
// tserver.auth.hmacKeys / hmacKeyFiles. An SSO or any JWT library can mint the same token itself.
import { parseFlags } from './args.js';
import { readHmacKeyFile } from '../auth/security-config.js';
import { mintHs256, parseDuration } from '../auth/jwt.js';

const HELP = `usage: tandem token --secret-file <file> --client <clientName> [--key-id <id>] [--ttl 8h] [--dns 5001,7000]

Prints a JWT (HS256) for RequestOpen {clientName, token} on a T-Server whose config has
  "tserver": {"auth": {"mode": "token", "hmacKeyFiles": {"<id>": "<file>"}}}   (or hmacKeys)
Claims: sub (the client name), iat, exp, dns (optional DN scope); header kid = --key-id.
See docs/security.md.

options:
  --secret-file <file>  file holding the key's secret (never pass secrets on the command line)
  --client <name>       the clientName the token is for
  --key-id <id>         the key's id, sent as the "kid" header (needed when the server has more than one key)
  --ttl <duration>      how long it is valid: 90s, 30m, 8h, 2d (default 8h)
  --dns <list>          comma-separated DNs the client may register and act on (default: any)
  --json                print {"token", "exp"} as JSON instead of the bare token`;

export async function main(argv: string[]): Promise<number> {
  const values = parseFlags('token', argv, {
    'key-id': { type: 'string' }, 'secret-file': { type: 'string' }, client: { type: 'string' },
    ttl: { type: 'string', default: '8h' }, dns: { type: 'string' }, json: { type: 'boolean' },
  }, HELP);
  if (typeof values === 'number') return values;
  for (const k of ['secret-file', 'client'] as const) {
    if (!values[k]) { console.error(`tandem token: --${k} is required\n\n${HELP}`); return 2; }
  }
  try {
    const secret = readHmacKeyFile(values['secret-file']!, '--secret-file');
    const ttl = parseDuration(values.ttl!);
    if (ttl <= 0) throw new Error('--ttl must be longer than 0');
    const iat = Math.floor(Date.now() / 1000);
    const dns = values.dns?.split(',').map((d) => d.trim()).filter(Boolean);
    const token = await mintHs256(secret, { sub: values.client!, iat, exp: iat + ttl, ...(dns ? { dns } : {}) }, values['key-id']);
    console.log(values.json ? JSON.stringify({ token, exp: iat + ttl }) : token);
    return 0;
  } catch (err) {
    console.error(`tandem token: ${(err as Error).message}`);
    return 1;
  }
}

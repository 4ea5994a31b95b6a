// Throwaway certificates for TLS tests, made with the openssl CLI at test time (the same commands
// docs/security.md gives operators): a CA, certificates it signs (SAN 127.0.0.1 + localhost,
// usable as server and client), and a second, unrelated CA for "wrong certificate" cases.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Teardown { teardown(fn: () => unknown): void }

export interface CertFiles { cert: string; key: string; ca: string }

export interface TestPki {
  dir: string;
  /** Signs a certificate for `name` with this PKI's CA. */
  issue(name: string): CertFiles;
  caCert: string;
}

function ssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new CA in a temp dir (removed at teardown). */
export function makePki(t: Teardown, caName = 'Tandem Test CA'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  ssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${caName}`]);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  const caCert = join(dir, 'ca.crt');
  return {
    dir, caCert,
    issue(name) {
      ssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      ssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'ext.cnf']);
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), ca: caCert };
    },
  };
}

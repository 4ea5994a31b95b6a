// Authentication of the peer ports (docs/peer-auth.md): the switch link and the sync stream between
// the T-Servers. Either a shared secret (one per run under `tandem pair`, or configured), mutual TLS,
// or both. This module holds what both ports share: the constant-time compare, where a secret comes
// from (flag, environment, file), the gRPC metadata that carries the sync secret, and how a port
// reports its mode (ready line, /healthz, the one start-up warning when it is open to anyone).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

/** What a peer port checks before it reads a message: nothing, a shared secret, a client certificate, or both. */
export type PeerAuthMode = 'none' | 'secret' | 'mtls' | 'mtls+secret';

/** Environment variables `tandem pair` sets for its children (never the command line: `ps` shows it). */
export const SWITCH_SECRET_ENV = 'TANDEM_SWITCH_SECRET';
export const SYNC_SECRET_ENV = 'TANDEM_SYNC_SECRET';

/**
 * The sync stream's credential: gRPC metadata sent with the call, read before any message. A `-bin`
 * key carries any bytes, so a configured secret needs no escaping.
 */
export const SYNC_SECRET_METADATA = 'tandem-sync-secret-bin';

export class PeerSecretError extends Error {
  readonly code = 'BadPeerSecret';
}

/** A fresh per-run secret: 32 random bytes, hex (fits an environment variable and a file as is). */
export function generateSecret(): string {
  return randomBytes(32).toString('hex');
}

// One random key per process: both sides of the compare are HMACed with it, so the compared buffers
// always have the same length and a timing difference says nothing about the secret's bytes.
const COMPARE_KEY = randomBytes(32);
const mac = (s: string | Buffer): Buffer => createHmac('sha256', COMPARE_KEY).update(s).digest();

/** Constant-time comparison; an empty configured secret means "no secret required". */
export function secretMatches(configured: string | undefined, offered: string | Buffer | undefined): boolean {
  if (!configured) return true;
  if (offered === undefined) return false;
  return timingSafeEqual(mac(configured), mac(offered));
}

export function peerAuthMode(secret: string | undefined, tls: { ca?: unknown } | undefined): PeerAuthMode {
  const mtls = !!tls?.ca;
  if (mtls && secret) return 'mtls+secret';
  if (mtls) return 'mtls';
  return secret ? 'secret' : 'none';
}

/** Metadata for a sync call: the secret when there is one. */
export function syncCallMetadata(secret: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (secret) md.set(SYNC_SECRET_METADATA, Buffer.from(secret, 'utf8'));
  return md;
}

/** The sync secret a call offered in its metadata (undefined when none). */
export function offeredSyncSecret(md: grpc.Metadata): Buffer | undefined {
  const v = md.get(SYNC_SECRET_METADATA)[0];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Reads a secret file (trailing newline dropped). Throws PeerSecretError naming the setting. */
export function readSecretFile(path: string, setting: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PeerSecretError(`cannot read the secret file ${path} (${setting}): ${(err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new PeerSecretError(`the secret file ${path} (${setting}) is empty: put the shared secret in it, e.g. openssl rand -hex 32 > ${path}; chmod 600 ${path}`);
  return secret;
}

/** One secret's possible sources, highest precedence first (see resolveSecret). */
export interface SecretSources {
  flag?: string;
  flagFile?: string;
  env?: string;
  configValue?: unknown;
  configFile?: unknown;
  /** Setting names for error messages, e.g. {flag: '--sync-secret', config: 'tserver.syncSecret'}. */
  names: { flag: string; flagFile: string; env: string; config: string; configFile: string };
}

/** Flag, then flag file, then environment, then config value, then config file; undefined = none. */
export function resolveSecret(s: SecretSources): string | undefined {
  if (s.flag !== undefined) return nonEmpty(s.flag, s.names.flag);
  if (s.flagFile !== undefined) return readSecretFile(s.flagFile, s.names.flagFile);
  if (s.env !== undefined && s.env !== '') return s.env;
  if (s.configValue !== undefined) {
    if (typeof s.configValue !== 'string') throw new PeerSecretError(`${s.names.config} must be a string, got ${typeof s.configValue}`);
    if (s.configValue !== '') return s.configValue;
  }
  if (s.configFile !== undefined) {
    if (typeof s.configFile !== 'string' || !s.configFile) throw new PeerSecretError(`${s.names.configFile} must be the path of a file holding the secret`);
    return readSecretFile(s.configFile, s.names.configFile);
  }
  return undefined;
}

function nonEmpty(v: string, setting: string): string {
  if (!v) throw new PeerSecretError(`${setting} is empty: give the shared secret, or leave the flag out`);
  return v;
}

/**
 * The start-up warning of a peer port that accepts anyone (undefined when it does not): one line
 * saying which port, where it listens, and what to set.
 */
export function openPortWarning(port: 'sync' | 'switch', mode: PeerAuthMode, host: string, bound: number): { fields: Record<string, unknown>; msg: string } | undefined {
  if (mode !== 'none') return undefined;
  const fix = port === 'sync'
    ? `set the same sync secret on both servers (${SYNC_SECRET_ENV}, --sync-secret-file or tserver.syncSecret/syncSecretFile), or mutual TLS (tserver.peerTls with a ca)`
    : `set a switch secret (${SWITCH_SECRET_ENV}, --secret-file or switch.secret/secretFile) and the same one on the T-Servers, or mutual TLS (switch.tls with a ca)`;
  return {
    fields: { peerAuth: mode, port, host, listening: bound, docs: 'docs/peer-auth.md' },
    msg: `peer auth is off: any process that reaches ${host}:${bound} can ${port === 'sync' ? 'follow or disturb this server\'s replication' : 'claim the primary lease and run commands'}; ${fix}`,
  };
}

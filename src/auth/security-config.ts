// The T-Server's security settings: their schema (part of the config file's `tserver` section,
// config-schema.ts) and what they become. Each key's type and range is checked once, against the
// schema, when the file is read; here remain what a schema cannot say: reading the key files, the
// kind of key in them, and "token mode needs a token source". Every failure is a ConfigError naming
// the setting. Reference: docs/security.md.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_AUTH, type AuthConfig } from './authenticator.js';
import type { PublicKeyAlg } from './jwt.js';
import { originOf } from './origin.js';
import { mutualTlsFilesSchema, tlsFilesSchema, type TlsFiles } from '../lib/tls.js';
import { closed, ConfigError, flag, names, nonEmpty, text, uint } from '../lib/config-check.js';

export interface SecurityConfig {
  auth: AuthConfig;
  /** Browser origins allowed to open /tlib (besides this server's own); "*" = any. */
  allowedOrigins: string[];
  /** wss: certificate and key for the HTTP/WebSocket port; undefined = plain ws/http. */
  tls?: TlsFiles;
  /** Mutual TLS towards the switch and between the pair's sync ports. */
  peerTls?: TlsFiles;
  /** GET /debug/state answers (to an operator: operator.ts); off by default. `tserver.debugState` / `--debug-state`. */
  debugState: boolean;
}

const Secrets = (what: string) => Type.Record(Type.String(), nonEmpty(what), { expect: 'an object of non-empty strings, e.g. {"k1": "<secret>"}' });

/** `tserver.auth`. */
export const AuthSection = Type.Object({
  mode: names(['none', 'token'] as const, '"token": every RequestOpen must carry a valid token. Default "none".'),
  tokens: Type.Optional(Type.Record(Type.String(), Type.Union([
    nonEmpty('The shared token.'),
    Type.Object({ token: nonEmpty('The shared token.'), dns: Type.Optional(Type.Array(Type.String(), { description: 'DN scope.' })) }, closed),
  ], { expect: 'a non-empty string or {"token": "...", "dns": ["5001"]}' }), { description: 'Shared tokens per client name.', expect: 'an object {"<clientName>": "<token>" | {"token": "...", "dns": ["5001"]}}' })),
  hmacKeys: Type.Optional(Secrets('HS256 signing key by key id.')),
  hmacKeyFiles: Type.Optional(Secrets('A file holding an HS256 key, by key id.')),
  publicKeyFiles: Type.Optional(Secrets('A PEM public key or certificate (RS256 / ES256), by key id.')),
  jwksFile: text('A JSON Web Key Set file saved from the SSO (public keys only).'),
  issuer: Type.Optional(nonEmpty('The "iss" every signed token must carry.')),
  audience: Type.Optional(nonEmpty('The "aud" every signed token must carry.')),
  maxFailures: uint('Failed opens per remote address within failureWindowMs before it is blocked. Default 10.'),
  failureWindowMs: uint('That window. Default 60000.'),
  operators: Type.Optional(Type.Array(nonEmpty('A client name.'), { description: 'Client names whose tokens may read /debug/state.', expect: 'an array of client names, e.g. ["ops"]: their tokens may read /debug/state' })),
}, { ...closed, description: 'Desktop authentication (docs/security.md).' });

/** The security keys of the `tserver` section (spread into TServerSection). */
export const SECURITY_SETTINGS = {
  auth: Type.Optional(AuthSection),
  allowedOrigins: Type.Optional(Type.Array(Type.String(), { description: 'Browser origins allowed to open /tlib besides this server\'s own and the peer\'s (["*"] = any).', expect: 'an array of origins like ["https://desk.example.com"] (or ["*"])' })),
  tls: Type.Optional(tlsFilesSchema('https and wss on the desktop port.')),
  peerTls: Type.Optional(mutualTlsFilesSchema('Mutual TLS towards the switch and between the sync ports (ca required).')),
  debugState: flag('Serve GET /debug/state to operators. Default false.'),
};

const SecuritySettings = Type.Object(SECURITY_SETTINGS);
/** The security keys of a `tserver` section that passed its schema. */
export type SecuritySettings = Static<typeof SecuritySettings>;
export type AuthSettings = Static<typeof AuthSection>;

/** A file's text, or ConfigError naming the setting that points to it. */
function readSettingFile(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${setting} ${path}: ${(err as Error).message}`);
  }
}

/**
 * An HS256 key from its file (`tserver.auth.hmacKeyFiles`, `tandem token --secret-file`): surrounding
 * whitespace dropped, the same way on the side that mints and the side that verifies, so both sign
 * with the same bytes. An empty file is refused: an empty key would be no key.
 */
export function readHmacKeyFile(path: string, setting: string): string {
  const key = readSettingFile(path, setting).trim();
  if (!key) throw new ConfigError(`${setting} ${path} is empty: put the HS256 secret in it, e.g. openssl rand -hex 32 > ${path}; chmod 600 ${path}`);
  return key;
}

/** `tserver.auth` (checked against AuthSection) with its key files read. */
export function parseAuth(v: AuthSettings | undefined): AuthConfig {
  if (v === undefined) return { ...DEFAULT_AUTH };
  const auth: AuthConfig = {
    ...DEFAULT_AUTH,
    mode: v.mode ?? DEFAULT_AUTH.mode,
    tokens: Object.fromEntries(Object.entries(v.tokens ?? {}).map(([name, t]) => [name, typeof t === 'string' ? t : { ...t }])),
    hmacKeys: { ...v.hmacKeys },
    maxFailures: v.maxFailures ?? DEFAULT_AUTH.maxFailures,
    failureWindowMs: v.failureWindowMs ?? DEFAULT_AUTH.failureWindowMs,
    operators: [...(v.operators ?? [])],
    ...(v.issuer !== undefined ? { issuer: v.issuer } : {}),
    ...(v.audience !== undefined ? { audience: v.audience } : {}),
  };
  for (const [id, path] of Object.entries(v.hmacKeyFiles ?? {})) auth.hmacKeys[id] = readHmacKeyFile(path, `tserver.auth.hmacKeyFiles.${id}`);
  if (v.publicKeyFiles !== undefined) {
    auth.publicKeys = Object.fromEntries(Object.entries(v.publicKeyFiles).map(([kid, path]) => [kid, readPublicKey(path, `tserver.auth.publicKeyFiles.${kid}`)]));
  }
  if (v.jwksFile !== undefined) auth.jwks = readJwks(v.jwksFile, 'tserver.auth.jwksFile');
  const signing = Object.keys(auth.hmacKeys).length + Object.keys(auth.publicKeys ?? {}).length + (auth.jwks ? 1 : 0);
  if (auth.mode === 'token' && Object.keys(auth.tokens).length === 0 && signing === 0) {
    throw new ConfigError('tserver.auth.mode is "token" but none of tserver.auth.tokens, hmacKeys, hmacKeyFiles, publicKeyFiles, jwksFile is set: no desktop could ever open; add a token source or set mode "none"');
  }
  return auth;
}

/** A PEM public key (SPKI) or certificate: RSA verifies RS256, EC P-256 verifies ES256. */
function readPublicKey(path: string, setting: string): { key: KeyObject; alg: PublicKeyAlg } {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path));
  } catch (err) {
    throw new ConfigError(`cannot read ${setting} ${path} as a PEM public key or certificate: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType === 'rsa') return { key, alg: 'RS256' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, alg: 'ES256' };
  throw new ConfigError(`${setting} ${path} is a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}: use an RSA key (RS256) or an EC P-256 key (ES256)`);
}

/** A JSON Web Key Set saved from the SSO (its jwks_uri): {"keys": [...]}, RS256 / ES256 public keys. */
function readJwks(path: string, setting: string): JSONWebKeySet {
  const text = readSettingFile(path, setting);
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(text) as JSONWebKeySet;
    createLocalJWKSet(jwks); // throws on a document that is not a key set
  } catch (err) {
    throw new ConfigError(`${setting} ${path} is not a JSON Web Key Set ({"keys": [...]}): ${(err as Error).message}`);
  }
  if (jwks.keys.some((k) => k.kty === 'oct' || 'd' in k)) throw new ConfigError(`${setting} ${path} holds a secret or private key: it must list public keys only (put HS256 secrets in hmacKeyFiles)`);
  return jwks;
}

/** From the checked `tserver` section; the peer's URL (if any) adds the peer's origin to the allowed list. */
export function parseSecurity(t: SecuritySettings | undefined, peerUrl?: string): SecurityConfig {
  const s = t ?? {};
  const allowedOrigins = [...(s.allowedOrigins ?? [])];
  // The web desktop served by the peer connects here too.
  const peerOrigin = peerUrl ? originOf(peerUrl) : undefined;
  if (peerOrigin) allowedOrigins.push(peerOrigin);
  const tls: TlsFiles | undefined = s.tls;
  const peerTls: TlsFiles | undefined = s.peerTls;
  return { auth: parseAuth(s.auth), allowedOrigins, debugState: s.debugState === true, ...(tls ? { tls } : {}), ...(peerTls ? { peerTls } : {}) };
}

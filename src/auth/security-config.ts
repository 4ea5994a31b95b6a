// The T-Server's security settings, read from the config file's `tserver` section (the numeric
// limits live in GatewayLimits with the other gateway limits). Validated once at start; a bad value
// stops the process with a message naming the setting. Reference: docs/security.md.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { DEFAULT_AUTH, type AuthConfig, type SharedToken } from './authenticator.js';
import type { PublicKeyAlg } from './jwt.js';
import { originOf } from './origin.js';
import type { TlsFiles } from '../lib/tls.js';

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

export class SecurityConfigError extends Error {
  readonly code = 'BadConfig';
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function strMap(v: unknown, setting: string): Record<string, string> {
  if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string' || x === '')) {
    throw new SecurityConfigError(`${setting} must be an object of non-empty strings, e.g. {"k1": "<secret>"}`);
  }
  return v as Record<string, string>;
}

function nonNegInt(v: unknown, setting: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new SecurityConfigError(`${setting} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** `"secretFile": "path"` beside or instead of inline secrets keeps them out of the config file. */
function readSecretFile(path: unknown, setting: string): string {
  if (typeof path !== 'string') throw new SecurityConfigError(`${setting} must be a file path`);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new SecurityConfigError(`cannot read ${setting} ${path}: ${(err as Error).message}`);
  }
}

export function parseAuth(v: unknown): AuthConfig {
  if (v === undefined) return { ...DEFAULT_AUTH };
  if (!isObj(v)) throw new SecurityConfigError('tserver.auth must be an object: {"mode": "token", "tokens": {...}, "hmacKeyFiles": {...}, "publicKeyFiles": {...}, "jwksFile": "..."}');
  const auth: AuthConfig = { ...DEFAULT_AUTH, tokens: {}, hmacKeys: {} };
  if (v.mode !== undefined) {
    if (v.mode !== 'none' && v.mode !== 'token') throw new SecurityConfigError(`tserver.auth.mode must be "none" or "token", got ${JSON.stringify(v.mode)}`);
    auth.mode = v.mode;
  }
  if (v.tokens !== undefined) {
    if (!isObj(v.tokens)) throw new SecurityConfigError('tserver.auth.tokens must be an object {"<clientName>": "<token>" | {"token": "...", "dns": [...]}}');
    for (const [name, t] of Object.entries(v.tokens)) {
      if (typeof t === 'string' && t) { auth.tokens[name] = t; continue; }
      if (isObj(t) && typeof t.token === 'string' && t.token && (t.dns === undefined || (Array.isArray(t.dns) && t.dns.every((d) => typeof d === 'string')))) {
        auth.tokens[name] = { token: t.token, ...(t.dns ? { dns: t.dns as string[] } : {}) } satisfies SharedToken;
        continue;
      }
      throw new SecurityConfigError(`tserver.auth.tokens.${name} must be a non-empty string or {"token": "...", "dns": ["5001"]}`);
    }
  }
  if (v.hmacKeys !== undefined) auth.hmacKeys = { ...strMap(v.hmacKeys, 'tserver.auth.hmacKeys') };
  if (v.hmacKeyFiles !== undefined) {
    for (const [id, path] of Object.entries(strMap(v.hmacKeyFiles, 'tserver.auth.hmacKeyFiles'))) auth.hmacKeys[id] = readSecretFile(path, `tserver.auth.hmacKeyFiles.${id}`);
  }
  if (v.publicKeyFiles !== undefined) {
    const keys = Object.entries(strMap(v.publicKeyFiles, 'tserver.auth.publicKeyFiles'));
    auth.publicKeys = Object.fromEntries(keys.map(([kid, path]) => [kid, readPublicKey(path, `tserver.auth.publicKeyFiles.${kid}`)]));
  }
  if (v.jwksFile !== undefined) auth.jwks = readJwks(v.jwksFile, 'tserver.auth.jwksFile');
  for (const claim of ['issuer', 'audience'] as const) {
    if (v[claim] === undefined) continue;
    if (typeof v[claim] !== 'string' || v[claim] === '') throw new SecurityConfigError(`tserver.auth.${claim} must be a non-empty string: the "${claim === 'issuer' ? 'iss' : 'aud'}" every signed token must carry`);
    auth[claim] = v[claim];
  }
  if (v.maxFailures !== undefined) auth.maxFailures = nonNegInt(v.maxFailures, 'tserver.auth.maxFailures');
  if (v.failureWindowMs !== undefined) auth.failureWindowMs = nonNegInt(v.failureWindowMs, 'tserver.auth.failureWindowMs');
  if (v.operators !== undefined) {
    if (!Array.isArray(v.operators) || v.operators.some((o) => typeof o !== 'string' || o === '')) {
      throw new SecurityConfigError('tserver.auth.operators must be an array of client names, e.g. ["ops"]: their tokens may read /debug/state');
    }
    auth.operators = [...(v.operators as string[])];
  }
  const signing = Object.keys(auth.hmacKeys).length + Object.keys(auth.publicKeys ?? {}).length + (auth.jwks ? 1 : 0);
  if (auth.mode === 'token' && Object.keys(auth.tokens).length === 0 && signing === 0) {
    throw new SecurityConfigError('tserver.auth.mode is "token" but none of tserver.auth.tokens, hmacKeys, publicKeyFiles, jwksFile is set: no desktop could ever open');
  }
  return auth;
}

/** A PEM public key (SPKI) or certificate: RSA verifies RS256, EC P-256 verifies ES256. */
function readPublicKey(path: string, setting: string): { key: KeyObject; alg: PublicKeyAlg } {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path));
  } catch (err) {
    throw new SecurityConfigError(`cannot read ${setting} ${path} as a PEM public key or certificate: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType === 'rsa') return { key, alg: 'RS256' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, alg: 'ES256' };
  throw new SecurityConfigError(`${setting} ${path} is a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}: use an RSA key (RS256) or an EC P-256 key (ES256)`);
}

/** A JSON Web Key Set saved from the SSO (its jwks_uri): {"keys": [...]}, RS256 / ES256 public keys. */
function readJwks(path: unknown, setting: string): JSONWebKeySet {
  const text = readSecretFile(path, setting);
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(text) as JSONWebKeySet;
    createLocalJWKSet(jwks); // throws on a document that is not a key set
  } catch (err) {
    throw new SecurityConfigError(`${setting} ${String(path)} is not a JSON Web Key Set ({"keys": [...]}): ${(err as Error).message}`);
  }
  if (jwks.keys.some((k) => k.kty === 'oct' || 'd' in k)) throw new SecurityConfigError(`${setting} ${String(path)} holds a secret or private key: it must list public keys only (put HS256 secrets in hmacKeyFiles)`);
  return jwks;
}

export function parseTlsFiles(v: unknown, setting: string, needCa: boolean): TlsFiles | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v) || typeof v.cert !== 'string' || typeof v.key !== 'string' || (v.ca !== undefined && typeof v.ca !== 'string')) {
    throw new SecurityConfigError(`${setting} must be {"cert": "<pem file>", "key": "<pem file>"${needCa ? ', "ca": "<pem file>"' : ', "ca"?: "<pem file>"'}}`);
  }
  if (needCa && typeof v.ca !== 'string') throw new SecurityConfigError(`${setting}.ca is required: the CA that signed the peers' certificates (mutual TLS)`);
  if (v.serverName !== undefined && typeof v.serverName !== 'string') throw new SecurityConfigError(`${setting}.serverName must be a string`);
  return { cert: v.cert, key: v.key, ...(typeof v.ca === 'string' ? { ca: v.ca } : {}), ...(typeof v.serverName === 'string' ? { serverName: v.serverName } : {}) };
}

/** From the `tserver` section; the peer's URL (if any) adds the peer's origin to the allowed list. */
export function parseSecurity(t: Json | undefined, peerUrl?: string): SecurityConfig {
  const s = t ?? {};
  let allowedOrigins: string[] = [];
  if (s.allowedOrigins !== undefined) {
    if (!Array.isArray(s.allowedOrigins) || s.allowedOrigins.some((o) => typeof o !== 'string')) {
      throw new SecurityConfigError('tserver.allowedOrigins must be an array of origins like ["https://desk.example.com"] (or ["*"])');
    }
    allowedOrigins = [...(s.allowedOrigins as string[])];
  }
  // The web desktop served by the peer connects here too.
  const peerOrigin = peerUrl ? originOf(peerUrl) : undefined;
  if (peerOrigin) allowedOrigins.push(peerOrigin);
  const tls = parseTlsFiles(s.tls, 'tserver.tls', false);
  const peerTls = parseTlsFiles(s.peerTls, 'tserver.peerTls', true);
  if (s.debugState !== undefined && typeof s.debugState !== 'boolean') throw new SecurityConfigError(`tserver.debugState must be true or false, got ${JSON.stringify(s.debugState)}`);
  return { auth: parseAuth(s.auth), allowedOrigins, debugState: s.debugState === true, ...(tls ? { tls } : {}), ...(peerTls ? { peerTls } : {}) };
}

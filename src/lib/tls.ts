// TLS material for every port: the desktop port (https/wss), the switch link and the sync stream
// (gRPC, mutual TLS). Files are read once at start with an error that names the setting; PEM
// contents are never logged.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Type, type Static } from '@sinclair/typebox';
import { closed, text } from './config-check.js';

const TLS_FILES = {
  cert: Type.String({ description: 'PEM certificate file.' }),
  key: Type.String({ description: 'PEM key file.' }),
  serverName: text("Overrides the name expected in the peer's certificate."),
};

/** The `tls` settings of a config section: a certificate and key, and optionally a CA. */
export const tlsFilesSchema = (description: string) => Type.Object({ ...TLS_FILES, ca: text('PEM CA file.') }, { ...closed, description });

/** Mutual TLS (`tserver.peerTls`): the CA that signed the peers' certificates is required. */
export const mutualTlsFilesSchema = (description: string) => Type.Object({
  ...TLS_FILES,
  ca: Type.String({ description: 'PEM CA file.', expect: "the PEM file of the CA that signed the peers' certificates (mutual TLS)" }),
}, { ...closed, description });

/**
 * Paths as configured. `ca` turns on client-certificate checking on a gRPC server; `serverName`
 * (client side) is the name expected in the server's certificate when it differs from the dialed host.
 */
export type TlsFiles = Static<ReturnType<typeof tlsFilesSchema>>;

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  serverName?: string;
}

export class TlsConfigError extends Error {
  readonly code = 'BadTlsConfig';
}

function readPem(path: string, what: string, setting: string): Buffer {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (err) {
    throw new TlsConfigError(`cannot read the ${what} ${path} (${setting}): ${(err as Error).message}`);
  }
  if (!b.includes('-----BEGIN')) throw new TlsConfigError(`${path} (${setting}) is not a PEM ${what}: expected "-----BEGIN ..."`);
  return b;
}

export function loadTls(files: TlsFiles, setting: string): TlsMaterial {
  return {
    cert: readPem(files.cert, 'certificate', `${setting}.cert`),
    key: readPem(files.key, 'private key', `${setting}.key`),
    ...(files.ca ? { ca: readPem(files.ca, 'CA certificate', `${setting}.ca`) } : {}),
    ...(files.serverName ? { serverName: files.serverName } : {}),
  };
}

/** gRPC server credentials: insecure without material; with `ca`, clients must present a certificate signed by it. */
export function grpcServerCredentials(tls: TlsMaterial | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], !!tls.ca);
}

/** gRPC client credentials: our certificate (for mutual TLS) and the CA the server's must chain to. */
export function grpcClientCredentials(tls: TlsMaterial | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key, tls.cert);
}

/** Channel options a TLS client needs (the expected server name, when overridden). */
export function grpcClientOptions(tls: TlsMaterial | undefined): grpc.ChannelOptions {
  return tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {};
}

interface TlsRefusalLog { warn(obj: object, msg: string): void }

/**
 * Logs every TLS handshake a gRPC server refused (no client certificate, one from another CA, a
 * plaintext client): grpc-js drops those silently. It reaches grpc-js's http2 servers through a
 * private field; when a grpc-js version no longer has it, nothing is logged (the peer still is refused).
 */
export function logTlsRefusals(server: grpc.Server, log: TlsRefusalLog, port: string): void {
  type Sock = { remoteAddress?: string; remotePort?: number; _parent?: Sock };
  type Emitter = { on?: (e: string, f: (a: never, b: never) => void) => void };
  const servers = (server as unknown as { http2Servers?: Map<Emitter, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return;
  // A refused socket is often closed by the time the error is reported: remember who connected.
  const peers = new WeakMap<object, string>();
  for (const s of servers.keys()) {
    s.on?.('connection', (sock: Sock) => { peers.set(sock, `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? '?'}`); });
    s.on?.('tlsClientError', (err: Error & { code?: string }, sock: Sock) => {
      const peer = (sock?._parent && peers.get(sock._parent)) ?? (sock && peers.get(sock)) ?? `${sock?.remoteAddress ?? '?'}:${sock?.remotePort ?? '?'}`;
      log.warn({ port, peer, reason: err.message, code: err.code }, 'TLS handshake refused');
    });
  }
}

// The gRPC service definition of the sync stream (proto/sync.proto), hand-bound to the generated
// protobufjs codecs so no runtime proto loading is needed. Two choices that matter:
// - Deserializers never throw: an undecodable message becomes `{ ok: false }` and the handler
//   answers Error{BAD_MESSAGE} instead of grpc-js failing the whole stream with INTERNAL.
// - The primary may write an already-encoded frame (EncodedFrame): a delta batch is serialized
//   once, kept in the backlog, and the same bytes go to the live stream and to a later partial resync.
import * as grpc from '@grpc/grpc-js';
import { sy } from './sync-proto.js';

export const SYNC_STREAM_PATH = '/tandemsync.Sync/Stream';

/** A PrimaryToBackup message serialized ahead of time. */
export class EncodedFrame {
  constructor(readonly bytes: Buffer) {}
}

export type Decoded<T> = { ok: true; msg: T; bytes: number } | { ok: false; error: string; bytes: number };

/** What the primary writes: a message to encode now, or a frame encoded before. */
export type PrimaryFrame = sy.PrimaryToBackup.$Properties | EncodedFrame;

export function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export function encodePrimary(msg: sy.PrimaryToBackup.$Properties): Buffer {
  return toBuffer(sy.PrimaryToBackup.encode(msg).finish());
}

function decoder<T>(decode: (b: Uint8Array) => T): (b: Buffer) => Decoded<T> {
  return (b) => {
    try {
      return { ok: true, msg: decode(b), bytes: b.length };
    } catch (err) {
      return { ok: false, error: (err as Error).message, bytes: b.length };
    }
  };
}

export const decodeBackupToPrimary = decoder((b) => sy.BackupToPrimary.decode(b));
export const decodePrimaryToBackup = decoder((b) => sy.PrimaryToBackup.decode(b));

export const syncServiceDefinition = {
  stream: {
    path: SYNC_STREAM_PATH,
    originalName: 'Stream',
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: sy.BackupToPrimary.$Properties) => toBuffer(sy.BackupToPrimary.encode(m).finish()),
    requestDeserialize: decodeBackupToPrimary,
    responseSerialize: (f: PrimaryFrame) => (f instanceof EncodedFrame ? f.bytes : encodePrimary(f)),
    responseDeserialize: decodePrimaryToBackup,
  },
} satisfies grpc.ServiceDefinition;

/** The primary's side of one sync stream. */
export type PrimaryStream = grpc.ServerDuplexStream<Decoded<sy.BackupToPrimary>, PrimaryFrame>;
/** The backup's side of one sync stream. */
export type BackupStream = grpc.ClientDuplexStream<sy.BackupToPrimary.$Properties, Decoded<sy.PrimaryToBackup>>;

/** Opens the sync stream on a client (the backup); `metadata` carries the sync secret (peer-auth.ts). */
export function openSyncStream(client: grpc.Client, deadline?: number, metadata: grpc.Metadata = new grpc.Metadata()): BackupStream {
  const d = syncServiceDefinition.stream;
  return client.makeBidiStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, metadata, deadline ? { deadline } : {});
}

// The grpc-js service definition of `tandem.switchlink.Switch/Link`, built from the generated
// protobufjs classes (one source of truth: proto/switch.proto). Used by the switch (server) and by
// every link client (T-Server, `tandem call`, tests).
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { sw } from './switch-proto.js';

export const LINK_PATH = '/tandem.switchlink.Switch/Link';

/**
 * What the switch reads off a link: a decoded LinkUp, or a frame that did not decode. A throwing
 * deserializer would make grpc-js end the whole stream with INTERNAL; the switch must instead answer
 * Error{BadMessage} and keep the link, so decoding never throws here.
 */
export type LinkUpFrame = { ok: true; msg: sw.LinkUp } | { ok: false; error: string };

/** grpc-js wants a Buffer; protobufjs gives a Uint8Array over a possibly larger buffer. */
export function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export function decodeLinkUp(bytes: Uint8Array): LinkUpFrame {
  try {
    return { ok: true, msg: sw.LinkUp.decode(bytes) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Client side: a LinkUp message, or raw bytes sent as they are (tests use it to send a malformed
 * frame; nothing else should).
 */
export type LinkUpOut = sw.ILinkUp | Uint8Array;

function serializeLinkUp(m: LinkUpOut): Buffer {
  return m instanceof Uint8Array ? toBuffer(m) : toBuffer(sw.LinkUp.encode(m).finish());
}

/** The client's view of the method (what `Client.makeBidiStreamRequest` needs). */
export const linkClientMethod = {
  path: LINK_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: serializeLinkUp,
  responseDeserialize: (b: Buffer) => sw.LinkDown.decode(b),
  originalName: 'link',
};

/** The server's view: tolerant decoding of LinkUp, encoding of LinkDown. */
export const linkServerMethod = {
  path: LINK_PATH,
  requestStream: true,
  responseStream: true,
  requestDeserialize: decodeLinkUp,
  responseSerialize: (m: sw.ILinkDown) => toBuffer(sw.LinkDown.encode(m).finish()),
  originalName: 'link',
};

/** `server.addService(switchService, { Link: handler })`; the handler gets LinkUpFrame, writes ILinkDown. */
export const switchService: ServiceDefinition = { Link: { ...linkClientMethod, ...linkServerMethod } as MethodDefinition<unknown, unknown> };

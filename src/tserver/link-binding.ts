// Binds the switch-link adapter (switch-link.ts) to a real gRPC stream: one Switch.Link bidi call per
// connection attempt. Kept tiny so the adapter stays testable with a fake transport.
import * as grpc from '@grpc/grpc-js';
import { sw } from '../common/switch-proto.js';
import type { OpenTransport } from './switch-link.js';

const LINK_PATH = '/tandem.switchlink.Switch/Link';

const toBuffer = (u8: Uint8Array) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/** Transports to the switch at host:port (Hello, with name and secret, is the adapter's job). */
export function openSwitchTransport(address: string): OpenTransport {
  // One channel for the life of the process; grpc-js reconnects it underneath.
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
  });
  return (h) => {
    const call = client.makeBidiStreamRequest<sw.ILinkUp, sw.LinkDown>(
      LINK_PATH,
      (m) => toBuffer(sw.LinkUp.encode(m).finish()),
      (b) => sw.LinkDown.decode(b),
      new grpc.Metadata(),
    );
    let ended = false;
    const end = (reason: string) => { if (!ended) { ended = true; h.onClose(reason); } };
    call.on('data', (m: sw.LinkDown) => h.onMessage(m));
    call.on('error', (err: grpc.ServiceError) => end(`${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
    call.on('end', () => end('switch closed the link'));
    call.on('close', () => end('link closed'));
    return {
      send: (m) => { if (!ended) call.write(m); },
      close: () => { if (!ended) { call.cancel(); end('closed by this server'); } },
    };
  };
}

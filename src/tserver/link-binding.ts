// Binds the switch-link adapter (switch-link.ts) to the real gRPC link client: one link per
// connection attempt. Hello is the adapter's job (it knows the name and secret), so the client is
// opened with hello:false. Kept tiny so the adapter stays testable with a fake transport.
import { openLink } from '../switch-link/link-client.js';
import type { OpenTransport } from './switch-link.js';
import type { TlsMaterial } from '../common/tls.js';

/** Transports to the switch at host:port. */
export function openSwitchTransport(address: string, serverName: string, tls?: TlsMaterial): OpenTransport {
  return (h) => {
    const link = openLink({ address, serverName, hello: false, ...(tls ? { tls } : {}) });
    link.on('message', (m) => h.onMessage(m));
    link.on('close', (err) => h.onClose(err ? err.message : 'link closed'));
    return {
      send: (m) => link.send(m),
      close: () => link.close(),
    };
  };
}

// Is an address or host name this machine's own loopback? Used where loopback is trusted more
// (the embedded `tandem pair` on 127.0.0.1, a local reverse proxy): browser origins, the per-address
// cap on unopened sockets, the state dump without token auth.
import { isIP } from 'node:net';

/** 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms (a socket's remoteAddress). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** A URL host name that can only mean this machine: a loopback address or `localhost` (browsers resolve it locally). */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || isLoopbackAddress(h);
}

/** An IP literal (v4 or bracketed v6): a host no DNS answer can rebind. */
export function isIpLiteral(hostname: string): boolean {
  return isIP(hostname.replace(/^\[|\]$/g, '')) !== 0;
}

// A desktop port open beyond this machine with token auth off: anyone who reaches it can open as any
// client name and act on any DN. Allowed (a lab, a trusted LAN), but never silently: the T-Server
// says so in one warn line at start and in /healthz, and `tandem pair` in its start-up banner.
import { isLoopbackHostname } from './loopback.js';

export const DESKTOP_AUTH_SETTING = 'tserver.auth.mode';

/** The warning for a server listening on `host` with desktop token auth on or off; undefined when none is due. */
export function desktopExposureWarning(host: string, authRequired: boolean): string | undefined {
  if (authRequired || isLoopbackHostname(host)) return undefined;
  return `desktop auth is off (${DESKTOP_AUTH_SETTING} "none") on ${host}, which is not loopback: anyone who reaches this port can open as any client name and act on any DN. ` +
    `Set ${DESKTOP_AUTH_SETTING} "token" (docs/security.md) or listen on 127.0.0.1`;
}

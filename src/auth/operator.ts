// Operator endpoints on the HTTP port (today: GET /debug/state, the whole replicated state with every
// call's user data). Same credentials as a desktop, more rights: with token auth, an
// `Authorization: Bearer <token>` whose client name is listed in tserver.auth.operators and which has
// no DN scope (a scoped token must not read every DN's calls). With auth mode "none" there is no
// credential to check: the endpoint then answers only on loopback (curl on the server itself).
import type { Authenticator } from './authenticator.js';
import { isLoopbackAddress } from './loopback.js';

export type OperatorVerdict =
  | { ok: true; who: string }
  | { ok: false; status: 401 | 403; reason: string };

/** `remote` is the caller's IP (the unit of failure counting, as for RequestOpen). */
export async function authorizeOperator(auth: Authenticator, authorization: string | undefined, remote: string | undefined, now = Date.now()): Promise<OperatorVerdict> {
  if (!auth.required) {
    if (isLoopbackAddress(remote)) return { ok: true, who: 'loopback (auth mode none)' };
    return { ok: false, status: 403, reason: 'token auth is off (tserver.auth.mode "none"): this endpoint answers only on loopback; turn token auth on and use an operator token' };
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return { ok: false, status: 401, reason: 'send "Authorization: Bearer <token>" with the token of a client listed in tserver.auth.operators' };
  const id = await auth.identify(m[1], remote ?? 'unknown', now);
  if (!id.ok) return { ok: false, status: id.blocked ? 403 : 401, reason: `token refused (${id.code}: ${id.reason})` };
  if (!auth.cfg.operators.includes(id.clientName)) {
    return { ok: false, status: 403, reason: `client "${id.clientName.slice(0, 64)}" is not an operator: list it in tserver.auth.operators` };
  }
  if (id.dns) return { ok: false, status: 403, reason: 'a token with a DN scope cannot read the whole state: use an operator token without "dns"' };
  return { ok: true, who: id.clientName };
}

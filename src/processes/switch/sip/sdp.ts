// The only SDP edits a signalling-only B2BUA makes (sdp-transform): media direction for hold and
// retrieve, an inactive answer to park a 3PCC leg until its peer answers, and one stable o= line per
// leg (RFC 3264 §8: every offer in a dialog keeps the session id and bumps the version, although the
// media behind it changes from one endpoint to another on transfer). Pure.
import { parse, write, type SessionDescription } from 'sdp-transform';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Our o= line on one leg: fixed session id, version bumped on every SDP sent. */
export interface Origin { sessionId: string; version: number }

export function isSdp(body: string, contentType: string | undefined): boolean {
  return body.trim().length > 0 && (!contentType || /application\/sdp/i.test(contentType)) && /^v=0/m.test(body);
}

function read(sdp: string): SessionDescription | undefined {
  try {
    const s = parse(sdp);
    return Array.isArray(s.media) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The first media stream's direction (sendrecv when none is written). */
export function directionOf(sdp: string): Direction {
  const s = read(sdp);
  return (s?.media[0]?.direction ?? s?.direction ?? 'sendrecv') as Direction;
}

/** Every stream set to `dir` (a session-level direction is removed so it cannot contradict). */
export function withDirection(sdp: string, dir: Direction): string {
  const s = read(sdp);
  if (!s) return sdp;
  delete s.direction;
  for (const m of s.media) if (m.port !== 0) m.direction = dir;
  return write(s);
}

const MIRROR: Record<Direction, Direction> = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };

/** An answer built from `ours` whose direction fits the offer (hold offer sendonly -> recvonly). */
export function answerFitting(ours: string, offer: string): string {
  return withDirection(ours, MIRROR[directionOf(offer)]);
}

/**
 * A valid answer that carries no media (every stream inactive, connection 0.0.0.0): parks a 3PCC leg
 * (RFC 3725 §4) until the other side's offer can be given to it in a re-INVITE.
 */
export function inactiveAnswer(offer: string): string {
  const s = read(offer);
  if (!s) return offer;
  delete s.direction;
  if (s.connection) s.connection = { version: 4, ip: '0.0.0.0' };
  for (const m of s.media) {
    if (m.connection) m.connection = { version: 4, ip: '0.0.0.0' };
    if (m.port !== 0) m.direction = 'inactive';
    delete m.candidates;
  }
  return write(s);
}

/** `sdp` with this leg's o= session id and the next version. */
export function stamp(sdp: string, origin: Origin): string {
  const s = read(sdp);
  if (!s) return sdp;
  origin.version++;
  s.origin = { ...s.origin, username: 'tandem', sessionId: origin.sessionId, sessionVersion: origin.version };
  return write(s);
}

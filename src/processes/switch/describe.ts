// One switch event in the notation of docs/switch.md (`DELIVERED s1 dn=8000 other=4155550100 —
// 4155550100:CONNECTED 8000:QUEUED`): for debug logs, and for tests that assert flows line by line.
import { sw } from '../../wire/switch-proto.js';

export function describeEvent(e: sw.ISwitchEvent): string {
  const parts = [sw.EventType[e.type ?? 0] ?? String(e.type), e.callId ?? '', `dn=${e.dn ?? ''}`];
  if (e.otherDn) parts.push(`other=${e.otherDn}`);
  if (e.type === sw.EventType.ORIGINATED) parts.push(`callType=${sw.CallType[e.callType ?? 0]}`);
  if (e.secondaryCallId) parts.push(`secondary=${e.secondaryCallId}`);
  if (e.cause) parts.push(`cause=${e.cause}`);
  const parties = (e.parties ?? []).map((p) => `${p.dn}:${sw.ConnectionState[p.state ?? 0]}`).join(' ');
  return `${parts.join(' ')} — ${parties || '(none)'}`;
}

// Switch enums (proto numbers) to T-Library words.
import { sw } from '../wire/switch-proto.js';
import type { CallState, CallType, DNType, Party } from './api.js';

export function dnTypeOf(t: sw.DeviceType | null | undefined): DNType {
  switch (t) {
    case sw.DeviceType.ROUTE_POINT:
      return 'RoutePoint';
    case sw.DeviceType.ACD_QUEUE:
      return 'ACDQueue';
    case sw.DeviceType.EXTENSION:
      return 'Extension';
    default:
      return 'External';
  }
}

export function callTypeOf(t: sw.CallType | null | undefined): CallType {
  switch (t) {
    case sw.CallType.INBOUND:
      return 'Inbound';
    case sw.CallType.OUTBOUND:
      return 'Outbound';
    case sw.CallType.CONSULT:
      return 'Consult';
    default:
      return 'Internal';
  }
}

export function callStateOf(s: sw.ConnectionState | null | undefined): CallState {
  switch (s) {
    case sw.ConnectionState.INITIATED:
      return 'Dialing';
    case sw.ConnectionState.ALERTING:
      return 'Ringing';
    case sw.ConnectionState.HELD:
      return 'Held';
    case sw.ConnectionState.QUEUED:
      return 'Queued';
    case sw.ConnectionState.NETWORK:
      return 'NetworkReached';
    default:
      return 'Established';
  }
}

export function partiesOf(conns: sw.IConnection[] | null | undefined): Party[] {
  return (conns ?? []).map((c) => ({ dn: c.dn ?? '', dnType: dnTypeOf(c.deviceType), state: callStateOf(c.state) }));
}

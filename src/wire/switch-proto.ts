// The switch link's generated protobuf types, with uint64 as number (see proto-runtime.ts).
import './proto-runtime.js';
import { tandem } from '../gen/switch.js';

export import sw = tandem.switchlink;

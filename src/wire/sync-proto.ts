// The HA sync stream's generated protobuf types, with uint64 as number (see proto-runtime.ts).
import './proto-runtime.js';
import { tandemsync } from '../gen/sync.js';

export import sy = tandemsync;

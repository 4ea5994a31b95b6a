// The pure CTI core: the only names the adapters (gateway, switch link, sync, timers) import.
export * from './api.js';
export { createState, applyDelta, snapshotDeltas, canonicalState, journalTail, canonicalJson, stateDigest } from './state.js';
export { handle } from './handle.js';
export { CoreBugError } from './errors.js';
export { replay, registeredDNs, describeDN, waitingCallers } from './views.js';
export { nextDeadline } from './housekeeping.js';
export { defaultCoreConfig } from './config.js';
export { agentTransition, type AgentInput, type AgentStep } from './agent-state.js';

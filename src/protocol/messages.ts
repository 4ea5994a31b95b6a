// The desktop protocol (T-Library vocabulary in JSON), typed once from its TypeBox schemas:
// attributes.ts (attribute shapes and value lists), requests.ts (one schema per request),
// events.ts (one schema per event, TEvent their tagged union). This module gathers them for the
// rest of the code. Contract and decisions: docs/protocol.md; JSON Schema: docs/schemas/.
export {
  AGENT_STATES, CALL_STATES, CALL_TYPES, DN_TYPES, ERROR_CODES, MAX_STRING_CHARS, MAX_TOKEN_CHARS, ROLES, WORK_MODES,
  type AgentState, type CallInfo, type CallState, type CallType, type DNRole, type DNType, type ErrorCode, type PartyInfo,
  type Role, type ServerLocation, type UserData, type WorkMode,
} from './attributes.js';
export { BACKUP_ALLOWED, REQUEST_NAMES, REQUESTS, isRequestName, type Request, type RequestName, type RequestOf } from './requests.js';
export {
  AGENT_EVENTS, CALL_EVENTS, DIRECT_ANSWERS, EVENT_NAMES, EVENTS, answerNames, isEventName,
  type AgentEvent, type AgentEventName, type AnswerTo, type CallEvent, type CallEventName, type EventName, type EventOf, type TEvent,
} from './events.js';

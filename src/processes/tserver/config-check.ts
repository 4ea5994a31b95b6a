// Kept for overload-governor.ts, which imports the checker from here; the checker is shared by every
// process and lives in lib/config-check.ts. Import it from there.
export { checkSettings, ConfigError, expectation } from '../../lib/config-check.js';

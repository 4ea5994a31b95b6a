// Flag parsing for the scripts: --help prints the usage (exit 0); an unknown flag, a missing value or a
// stray argument prints what was wrong and the usage (exit 2), never a stack trace.
import { parseArgs } from 'node:util';

/**
 * parseArgs with the scripts' conventions. `options` may omit help (-h/--help is added). Returns
 * parseArgs's values (and positionals when allowPositionals is set).
 */
export function parseScriptArgs(name, usage, { options = {}, allowPositionals = false, args = process.argv.slice(2) } = {}) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals });
  } catch (err) {
    console.error(`${name}: ${err.message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}

// Flag parsing shared by every `tandem` command: `--help` / `-h` prints the command's usage (exit 0);
// a bad flag (unknown, missing its value, a stray argument) prints what was wrong and the usage
// (exit 2). Never a stack trace. A command returns the number it gets instead of its flags.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>['values'];

/** Every command takes it; no command declares it. */
const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

/** The parsed flags, or the exit status after printing the usage (0 for --help, 2 for a bad flag). */
export function parseFlags<const O extends Options>(command: string, argv: string[], options: O, help: string): Values<O> | number {
  const parsed = parseCommand(command, argv, options, help, false);
  return typeof parsed === 'number' ? parsed : parsed.values;
}

/** As parseFlags, for a command that also takes positional arguments (`tandem ctl promote B`). */
export function parseCommand<const O extends Options>(command: string, argv: string[], options: O, help: string, allowPositionals = true): { values: Values<O>; positionals: string[] } | number {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, ...HELP_FLAG }, allowPositionals });
    if ((values as { help?: boolean }).help) { console.log(help); return 0; }
    return { values: values as Values<O>, positionals };
  } catch (err) {
    console.error(`tandem ${command}: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
}

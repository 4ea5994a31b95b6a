// Flag parsing shared by every `tandem` command: a bad flag (unknown, missing its value, a stray
// argument) prints what was wrong and the command's usage, and the command exits 2. Never a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>['values'];

/** The parsed flags, or undefined after printing why they could not be parsed and the usage (exit with status 2). */
export function parseFlags<const O extends Options>(command: string, argv: string[], options: O, help: string): Values<O> | undefined {
  try {
    return parseArgs({ args: argv, options }).values;
  } catch (err) {
    console.error(`tandem ${command}: ${(err as Error).message}\n\n${help}`);
    return undefined;
  }
}

/** As parseFlags, for a command that also takes positional arguments (`tandem ctl promote B`). */
export function parseCommand<const O extends Options>(command: string, argv: string[], options: O, help: string): { values: Values<O>; positionals: string[] } | undefined {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
    return { values: values as Values<O>, positionals };
  } catch (err) {
    console.error(`tandem ${command}: ${(err as Error).message}\n\n${help}`);
    return undefined;
  }
}

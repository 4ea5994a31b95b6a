// Flag parsing shared by every `tandem` command: a bad flag is one line naming the command and how to
// get its options, and the command exits 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>['values'];

/** The parsed flags, or undefined after printing why they could not be parsed (exit with status 2). */
export function parseFlags<const O extends Options>(command: string, argv: string[], options: O, help?: string): Values<O> | undefined {
  try {
    return parseArgs({ args: argv, options }).values;
  } catch (err) {
    console.error(`tandem ${command}: ${(err as Error).message}\n${help ? `\n${help}` : `(tandem ${command} --help for the options)`}`);
    return undefined;
  }
}

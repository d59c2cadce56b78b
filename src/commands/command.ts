import { parseArgs, ParseArgsConfig } from 'util';

/** Parsed flag values of a command. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** A CLI command: its usage line and its implementation. */
export interface Command {
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Extra lines for `--help` (e.g. the presets' defaults). */
  details?: () => string;
  /** Returns the exit code (0 when nothing is returned). */
  run(positionals: string[], values: FlagValues): Promise<number | void> | number | void;
}

/** A user error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

/** A numeric flag, or undefined when absent. */
export function numberFlag(values: FlagValues, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined || typeof raw === 'boolean') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} expects a number, got '${raw}'`);
  return value;
}

/** A comma-separated list flag. */
export function listFlag(values: FlagValues, name: string, fallback: string): string[] {
  const raw = values[name];
  return (typeof raw === 'string' ? raw : fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A copy of `object` without its undefined properties (so that spreads keep defaults). */
export function defined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `reslab <command> --help`: usage, what it does, every flag, and the command's details. */
export function commandHelp(name: string, command: Command): string {
  const flags = Object.entries(command.options)
    .map(([flag, spec]) => `  --${flag}${spec.type === 'string' ? ' VALUE' : ''}`)
    .join('\n');
  return `usage: ${command.usage}\n\n${name}: ${command.summary}\n\nflags:\n${flags}\n  --help, -h${command.details ? `\n\n${command.details()}` : ''}`;
}

type ScriptOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * Flags of a script (the benchmarks): `--help`/`-h` prints `usage` and every flag with its
 * default and exits 0; an unknown flag prints one line and the usage and exits 2 — no stack trace.
 */
export function parseScriptFlags<T extends ScriptOptions>(
  usage: string,
  options: T,
  argv = process.argv.slice(2),
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>['values'] {
  const describe = () =>
    Object.entries(options)
      .map(
        ([flag, spec]) =>
          `  --${flag}${spec.type === 'string' ? ' VALUE' : ''}${spec.default !== undefined ? `  (default ${String(spec.default)})` : ''}`,
      )
      .join('\n');
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: ${usage}\n\nflags:\n${describe()}\n  --help, -h`);
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options, strict: true }).values;
  } catch (error) {
    console.error(`${(error as Error).message.split('\n')[0]}\nusage: ${usage} (--help lists the flags)`);
    process.exit(2);
  }
}

/**
 * Runs a script's `main` (bench scripts): an error prints one `<script>: error: ...` message, without a
 * stack trace (`RESLAB_DEBUG=1` adds it), and exits 1; a {@link UsageError} (a bad flag value) exits 2.
 */
export function runScript(main: () => unknown): void {
  Promise.resolve()
    .then(main)
    .catch((error: unknown) => {
      const name = (process.argv[1] ?? 'script').split('/').pop();
      const usage = error instanceof UsageError;
      console.error(`${name}: ${usage ? '' : 'error: '}${error instanceof Error ? error.message : String(error)}`);
      if (process.env.RESLAB_DEBUG && error instanceof Error) console.error(error.stack);
      process.exit(usage ? 2 : 1);
    });
}

/**
 * Helpers for scripts built on reslab (its benchmarks use them): flags with `--help`, and a main
 * that turns an error into one line and an exit code (2 for a usage error), never a stack trace.
 */
export { parseScriptFlags, runScript, UsageError } from './commands/command';

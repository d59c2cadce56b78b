import { spawnSync } from 'child_process';
import * as path from 'path';

/** A Python script of this folder (bench/*.py), from the compiled dist/bench/. */
export const benchScript = (name: string): string => path.join(__dirname, '..', '..', 'bench', name);

/** Runs a command that prints one JSON object on its last line of output, and parses it; a failure says what failed and why. */
export function runJson<T>(command: string, args: string[], env?: NodeJS.ProcessEnv): T {
  const result = spawnSync(command, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 1 << 24 });
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as T;
}

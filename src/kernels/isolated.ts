import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Runs named cases in child processes, so that native code that corrupts the heap or segfaults
 * kills a child, never the caller, and the caller learns which case did it. A child script calls
 * {@link serveCases}; the parent calls {@link runIsolated}. Used by the kernel self-check and by
 * the test suite's CPU matrix.
 */

/** What a child says of one case it finished. */
export type Finished = { status: string } & Record<string, unknown>;

/** One case's result: as the child reported it, or `crashed`/`hung` as seen from outside. */
export type IsolatedResult<T extends Finished> = { id: string } & (
  T | { status: 'crashed'; signal: string; message?: string } | { status: 'hung' }
);

/** A child that could not start its cases (say, no native backend there). */
export class ChildUnavailable extends Error {}

/** The last line a dying process wrote on stderr that says something (glibc's `free(): invalid next size`, ...). */
export function lastWords(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^at |oneDNN custom operations|absl::InitializeLog|^Node\.js v/.test(l))
    .pop();
}

function signalName(status: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return signal;
  // A shell or glibc abort can surface as 128 + signal number.
  const byNumber = Object.entries(os.constants.signals).find(([, n]) => status !== null && n === status - 128);
  return byNumber ? byNumber[0] : `exit ${status}`;
}

/**
 * Runs `cases` through `script` in as few processes as it can: when one dies in a case, that case
 * is marked crashed (or hung, after `timeoutMs`) and a fresh process goes on with the rest.
 */
export function runIsolated<C extends { id: string }, T extends Finished>(
  script: string,
  cases: C[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): { results: Array<IsolatedResult<T>>; stdout: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-isolated-'));
  const results: Array<IsolatedResult<T>> = [];
  let stdout = '';
  try {
    let pending = cases;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const casesFile = path.join(dir, `cases-${attempt}.json`);
      const resultsFile = path.join(dir, `results-${attempt}.jsonl`);
      fs.writeFileSync(casesFile, JSON.stringify(pending));
      const child = spawnSync(process.execPath, [script, casesFile, resultsFile], {
        env,
        encoding: 'utf8',
        timeout: timeoutMs,
        maxBuffer: 256 * 1024 * 1024,
      });
      stdout += child.stdout ?? '';
      const lines = fs.existsSync(resultsFile)
        ? fs
            .readFileSync(resultsFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
      const ready = lines.find((l) => 'ready' in l);
      if (!ready || ready.ready !== true) {
        const why = ready ? String(ready.why) : (lastWords(child.stderr ?? '') ?? signalName(child.status, child.signal));
        throw new ChildUnavailable(`a child process could not run its cases: ${why}`);
      }
      const finished = new Map(lines.filter((l) => 'status' in l).map((l) => [String(l.id), l as unknown as IsolatedResult<T>]));
      const started = new Set(lines.filter((l) => 'start' in l).map((l) => String(l.start)));
      const next: C[] = [];
      for (const c of pending) {
        const result = finished.get(c.id);
        if (result) results.push(result);
        else if (started.has(c.id) && next.length === 0) {
          const timedOut = (child.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
          results.push(
            timedOut
              ? { id: c.id, status: 'hung' }
              : { id: c.id, status: 'crashed', signal: signalName(child.status, child.signal), message: lastWords(child.stderr ?? '') },
          );
        } else next.push(c);
      }
      if (next.length === pending.length)
        throw new ChildUnavailable(
          `a child process ended before its first case (${signalName(child.status, child.signal)}): ${lastWords(child.stderr ?? '') ?? ''}`,
        );
      pending = next;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { results, stdout };
}

/**
 * The child side: reads the cases `runIsolated` passed, calls `prepare` (undefined when ready, else
 * why not), then `run` on each case, writing a line before and after each with synchronous writes
 * so that the parent knows which case was running if the process dies.
 */
export async function serveCases<C extends { id: string }, T extends Finished>(
  prepare: () => string | undefined,
  run: (c: C) => T | Promise<T>,
): Promise<void> {
  const [casesFile, resultsFile] = process.argv.slice(2);
  const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8')) as C[];
  const fd = fs.openSync(resultsFile, 'a');
  const write = (line: object) => fs.writeSync(fd, `${JSON.stringify(line)}\n`);
  try {
    const why = prepare();
    write(why === undefined ? { ready: true } : { ready: false, why });
    if (why !== undefined) return;
    for (const c of cases) {
      write({ start: c.id });
      write({ ...(await run(c)), id: c.id });
    }
  } finally {
    fs.closeSync(fd);
  }
}

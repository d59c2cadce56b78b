import * as fs from 'fs';
import * as os from 'os';
import type { RunDirectory } from '../runs';

/** Who holds a run directory. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** Random token, so a process only ever removes its own lock. */
  token: string;
}

/** Thrown when another live process holds the run directory. */
export class RunLockedError extends Error {}

/** A lock whose holder stopped refreshing it this long ago is stale (its machine died). */
export const STALE_AFTER_MS = 10 * 60_000;
/** The holder refreshes the lock's modification time this often. */
const HEARTBEAT_MS = 30_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): { owner?: LockOwner; ageMs: number } | undefined {
  try {
    const ageMs = Date.now() - fs.statSync(file).mtimeMs;
    try {
      return { owner: JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner, ageMs };
    } catch {
      return { ageMs }; // torn or empty: judged by its age alone
    }
  } catch {
    return undefined; // gone in the meantime
  }
}

/**
 * Why the lock in `file` no longer protects anyone, or undefined while its holder may be alive:
 * the holder's process is gone (same host), or it stopped refreshing the lock (any host: a
 * machine that died while the run directory sits on a shared file system).
 */
function staleReason(found: { owner?: LockOwner; ageMs: number }): string | undefined {
  const { owner, ageMs } = found;
  if (owner && owner.host === os.hostname() && !alive(owner.pid)) return `process ${owner.pid} on ${owner.host} is gone`;
  if (ageMs > STALE_AFTER_MS) return `its holder stopped refreshing it ${Math.round(ageMs / 1000)} s ago`;
  return undefined;
}

/**
 * An exclusive lock on a run directory (`<runDir>/lock`), so that two processes never train the
 * same run. Created with O_EXCL (atomic on local disks and NFSv3+), refreshed every 30 s; a lock
 * left by a killed process (same host) or not refreshed for 10 minutes (another host) is taken
 * over, by a rename that only one contender can win.
 */
export class RunLock {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly file: string,
    readonly owner: LockOwner,
  ) {
    this.timer = setInterval(() => {
      try {
        const now = new Date();
        fs.utimesSync(file, now, now);
      } catch {
        // The directory went away; release() will find out.
      }
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Takes the lock of `run` or throws {@link RunLockedError} naming its holder. */
  static acquire(run: RunDirectory): RunLock {
    const file = run.lockFile;
    const runDir = run.dir;
    const owner: LockOwner = {
      pid: process.pid,
      host: os.hostname(),
      since: new Date().toISOString(),
      token: Math.random().toString(36).slice(2),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(file, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
        return new RunLock(file, owner);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const found = readOwner(file);
      if (!found) continue;
      const stale = staleReason(found);
      if (!stale) {
        const who = found.owner ? `process ${found.owner.pid} on ${found.owner.host} (since ${found.owner.since})` : 'another process';
        throw new RunLockedError(`${runDir} is being trained by ${who}; wait for it to finish, or delete ${file} if that process is gone`);
      }
      // Stale: move it aside; of two contenders only one rename succeeds, the other retries.
      const aside = `${file}.stale-${process.pid}-${Date.now()}`;
      try {
        fs.renameSync(file, aside);
        fs.rmSync(aside, { force: true });
      } catch {
        // Someone else took it over first.
      }
    }
    throw new RunLockedError(`could not take the lock ${file}: other processes keep taking it`);
  }

  /** Releases the lock if it is still this process's own. */
  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const found = readOwner(this.file);
    if (found?.owner?.token === this.owner.token) fs.rmSync(this.file, { force: true });
  }
}

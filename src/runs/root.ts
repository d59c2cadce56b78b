import * as fs from 'fs';
import * as path from 'path';
import { RunDirectory } from './directory';

/**
 * A runs directory (`runs/`, `--out`): one {@link RunDirectory} per run id, `<root>/<runId>`. The
 * one place that joins a root and a run id; used by the launcher (src/train/launch.ts), the sweep,
 * the report, Fig. 7, the TensorBoard export and the notebook kernel.
 */
export class RunsRoot {
  constructor(readonly dir: string) {}

  /** The directory of run `runId` (which must be a plain name, not a path). */
  run(runId: string): RunDirectory {
    if (!runId || runId === '.' || runId === '..' || /[/\\\0]/.test(runId))
      throw new Error(`a run id is a directory name without separators, got ${JSON.stringify(runId)}`);
    return new RunDirectory(path.join(this.dir, runId));
  }

  /** The runs in it (sub-directories with a metrics.jsonl), by id; throws when the root is missing or not a directory. */
  runs(): RunDirectory[] {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new Error(`runs directory ${this.dir} does not exist or is not a directory`, { cause: error });
      if (code === 'ENOTDIR') throw new Error(`runs directory ${this.dir} is a file, not a directory of runs`, { cause: error });
      throw error;
    }
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => this.run(e.name))
      .filter((run) => fs.existsSync(run.metricsFile))
      .sort((a, b) => a.runId.localeCompare(b.runId));
  }
}

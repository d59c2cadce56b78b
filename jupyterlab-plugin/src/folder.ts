/**
 * A runs directory (a CLI sweep, a Slurm array's shared folder) as a sidebar source: the
 * metrics.jsonl of each run, read through Jupyter's contents API, folded into one payload.
 * Pure: the contents API calls live in folder-watcher.ts.
 */
import { parseMetricsJsonl, RunEvent, RunViewBuilder, RunViewPayload } from 'reslab-protocol';

/** Source keys of runs directories start with this; notebook sources are notebook paths. */
export const FOLDER_PREFIX = 'folder:';

/** The source key of the runs directory at `path` (relative to Jupyter's root). */
export function folderKey(path: string): string {
  return `${FOLDER_PREFIX}${path}`;
}

/** The runs directory of a folder source key, or undefined for a notebook. */
export function folderOf(key: string): string | undefined {
  return key.startsWith(FOLDER_PREFIX) ? key.slice(FOLDER_PREFIX.length) : undefined;
}

/** One run's metrics.jsonl as read from the server. */
export interface RunFile {
  /** The run directory's name (shown in warnings). */
  name: string;
  text: string;
}

/**
 * One payload of every readable run in a folder (curves bounded like a live view's), and one
 * warning per run file that is not a run log (malformed lines, another schema).
 */
export function folderPayload(folder: string, files: RunFile[], updated: number): { payload: RunViewPayload; warnings: string[] } {
  const builder = new RunViewBuilder(folder);
  const warnings: string[] = [];
  for (const file of files) {
    let events: RunEvent[];
    try {
      events = parseMetricsJsonl(file.text, `${folder}/${file.name}/metrics.jsonl`);
    } catch (error) {
      warnings.push(`skipped ${file.name}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    try {
      for (const event of events) builder.push(event);
    } catch (error) {
      warnings.push(`skipped ${file.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { payload: { ...builder.payload(2000, 400), updated }, warnings };
}

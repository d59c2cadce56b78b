import { Contents } from '@jupyterlab/services';
import { folderKey, folderPayload, RunFile } from './folder';
import { RunsModel } from './model';

/** How often an open runs directory is re-read (runs may still be writing). */
export const FOLDER_REFRESH_MS = 3000;

/**
 * The largest metrics.jsonl the sidebar reads (Jupyter's contents API returns a file whole): a
 * paper-scale run logs about 5 MB. A larger one is skipped with a warning, and the other runs show.
 */
export const MAX_RUN_LOG_BYTES = 32 * 2 ** 20;

/**
 * Follows one runs directory through Jupyter's contents API: every few seconds it lists the
 * run directories and re-reads each metrics.jsonl whose size or time changed, so runs that a
 * CLI sweep or a Slurm array is still writing grow in the sidebar.
 */
export class FolderWatcher {
  private readonly cache = new Map<string, { stamp: string; file: RunFile }>();
  /** Run directories skipped for their size, by stamp (warned about once per change). */
  private readonly tooLarge = new Map<string, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private reading = false;
  private failed = false;
  private readOnce = false;

  constructor(
    private readonly contents: Contents.IManager,
    readonly path: string,
    private readonly model: RunsModel,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), FOLDER_REFRESH_MS);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads what changed since the last refresh and hands the folder's runs to the model. */
  async refresh(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const listing = await this.contents.get(this.path, { content: true });
      if (listing.type !== 'directory') throw new Error('is not a directory');
      const runDirs = (listing.content as Contents.IModel[]).filter((item) => item.type === 'directory').map((item) => item.path);
      let changed = false;
      const fresh: string[] = [];
      for (const dir of runDirs) {
        const file = `${dir}/metrics.jsonl`;
        let meta: Contents.IModel;
        try {
          meta = await this.contents.get(file, { content: false });
        } catch {
          continue; // not a run directory
        }
        const stamp = `${meta.last_modified}|${meta.size ?? ''}`;
        if (this.cache.get(dir)?.stamp === stamp) continue;
        if ((meta.size ?? 0) > MAX_RUN_LOG_BYTES) {
          if (this.tooLarge.get(dir) !== stamp) {
            const mb = ((meta.size ?? 0) / 2 ** 20).toFixed(0);
            this.model.warn(
              `${this.path}: skipped ${dir.slice(dir.lastIndexOf('/') + 1)}: its metrics.jsonl is ${mb} MB, more than the sidebar reads (${MAX_RUN_LOG_BYTES / 2 ** 20} MB); \`reslab report\` reads it`,
            );
            this.tooLarge.set(dir, stamp);
          }
          this.cache.delete(dir);
          continue;
        }
        const full = await this.contents.get(file, { content: true, format: 'text', type: 'file' });
        this.cache.set(dir, { stamp, file: { name: dir.slice(dir.lastIndexOf('/') + 1), text: String(full.content) } });
        fresh.push(dir);
        changed = true;
      }
      for (const dir of [...this.cache.keys()]) {
        if (!runDirs.includes(dir)) this.cache.delete(dir);
      }
      if (changed || this.failed || !this.readOnce) {
        const { payload, warnings } = folderPayload(
          this.path,
          [...this.cache.values()].map((c) => c.file),
          Date.now(),
        );
        this.model.ingest(folderKey(this.path), payload);
        // Warn about files that changed just now, not again on every refresh.
        for (const warning of warnings)
          if (fresh.some((dir) => warning.includes(dir.slice(dir.lastIndexOf('/') + 1)))) this.model.warn(`${this.path}: ${warning}`);
      }
      this.failed = false;
      this.readOnce = true;
    } catch (error) {
      if (!this.failed)
        this.model.warn(`could not read runs folder ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
      this.failed = true;
    } finally {
      this.reading = false;
    }
  }
}

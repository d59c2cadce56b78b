import * as fs from 'fs';
import { RunEvent } from 'reslab-protocol';
import { TensorBoardLog } from '../tensorboard/run-log';
import { RunDirectory } from './directory';

/**
 * The listener that writes a run's event stream to its directory: every event appended to
 * metrics.jsonl as it happens, and the TensorBoard log alongside (rebuilt from metrics.jsonl when
 * the run (re)starts, then appended to, so a resumed run's log holds every step exactly once).
 */
export class MetricsLog {
  private tensorBoard: TensorBoardLog | undefined;

  constructor(readonly run: RunDirectory) {}

  /**
   * Records one event; subscribe it to a trainer before any other listener. A failed append (a full
   * disk) leaves the log as it was before the event, never a torn line, and names the file.
   */
  readonly record = (event: RunEvent): void => {
    const file = this.run.metricsFile;
    const before = this.run.metricsBytes();
    try {
      fs.appendFileSync(file, eventLine(event));
    } catch (error) {
      try {
        fs.truncateSync(file, before);
      } catch {
        // the file went away: there is no torn line to remove
      }
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `cannot append to ${file}${code ? ` (${code}${code === 'ENOSPC' ? ': the disk is full' : ''})` : ''}; the log is kept as it was before this event`,
        { cause: error },
      );
    }
    if (event.type === 'run_start') this.tensorBoard = TensorBoardLog.fromRunDir(this.run.dir);
    else this.tensorBoard?.append(event);
  };
}

/** An event as metrics.jsonl holds it: one line of JSON. */
export function eventLine(event: RunEvent): string {
  return `${JSON.stringify(event)}\n`;
}

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

  /** Records one event; subscribe it to a trainer before any other listener. */
  readonly record = (event: RunEvent): void => {
    fs.appendFileSync(this.run.metricsFile, `${JSON.stringify(event)}\n`);
    if (event.type === 'run_start') this.tensorBoard = TensorBoardLog.fromRunDir(this.run.dir);
    else this.tensorBoard?.append(event);
  };
}

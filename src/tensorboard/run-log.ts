/**
 * A run's TensorBoard log, derived from its event stream: the same scalars as metrics.jsonl
 * (running training error, loss, test error, inference-mode training error, learning rate,
 * images/s) and the block-wise probes (‖F(x)‖/‖x‖ and each 3x3 layer's response std, per block
 * and as a histogram over the blocks). `tensorboard --logdir <runs-dir>` shows every run.
 *
 * The file is rebuilt from metrics.jsonl whenever a run (re)starts, then appended to live, so a
 * resumed run's log holds every step exactly once, as its metrics.jsonl does.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RunEvent } from 'reslab-protocol';
import { RunDirectory } from '../runs/directory';
import { fileVersionEvent, summaryEvent, SummaryValue, tfRecord } from './event-file';

/** Event files reslab writes end with this, so that it never touches files of other writers. */
const SUFFIX = '.reslab';

/** The summary values of one run event, or none (run_start, checkpoint, run_end). */
export function summaryValuesOf(event: RunEvent): SummaryValue[] {
  switch (event.type) {
    case 'train':
      return [
        { tag: 'error/train_running_percent', scalar: 100 * event.trainError },
        { tag: 'loss/train', scalar: event.loss },
        { tag: 'optimizer/learning_rate', scalar: event.lr },
        { tag: 'speed/images_per_second', scalar: event.imagesPerSecond },
      ];
    case 'eval':
      return [
        { tag: 'error/test_percent', scalar: 100 * event.testError },
        ...(event.trainEvalError !== undefined ? [{ tag: 'error/train_inference_percent', scalar: 100 * event.trainEvalError }] : []),
      ];
    case 'probe': {
      const values: SummaryValue[] = [];
      for (const block of event.blocks) {
        values.push({ tag: `branch_ratio/${block.block}`, scalar: block.branchRatio });
        block.responseStd.forEach((std, i) => values.push({ tag: `response_std/${block.block}_conv${i + 1}`, scalar: std }));
      }
      const ratios = event.blocks.map((b) => b.branchRatio).filter(Number.isFinite);
      const stds = event.blocks.flatMap((b) => b.responseStd).filter(Number.isFinite);
      if (ratios.length > 0) values.push({ tag: 'blocks/branch_ratio', histogram: ratios });
      if (stds.length > 0) values.push({ tag: 'blocks/response_std', histogram: stds });
      return values;
    }
    default:
      return [];
  }
}

/** The TFRecords of one run event (empty when it carries no summary). */
function recordsOf(event: RunEvent): Buffer {
  const values = summaryValuesOf(event);
  return values.length === 0 ? Buffer.alloc(0) : tfRecord(summaryEvent(event.time / 1000, event.iteration, values));
}

/** reslab's event files in `dir`, oldest first. */
export function tensorBoardFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('events.out.tfevents.') && f.endsWith(SUFFIX))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Appends a run's events to one TensorBoard event file. */
export class TensorBoardLog {
  private constructor(readonly file: string) {}

  /**
   * Writes `events` (a run's metrics.jsonl so far) as a fresh event file in `dir`, replacing
   * reslab's earlier files there, and returns the log to append the rest to.
   */
  static rebuild(dir: string, events: RunEvent[]): TensorBoardLog {
    fs.mkdirSync(dir, { recursive: true });
    const first = events[0]?.time ?? Date.now();
    const name = `events.out.tfevents.${Math.floor(first / 1000)}.${os.hostname().replace(/[^\w.-]/g, '_')}${SUFFIX}`;
    const file = path.join(dir, name);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, Buffer.concat([tfRecord(fileVersionEvent(first / 1000)), ...events.map(recordsOf)]));
    for (const old of tensorBoardFiles(dir)) if (old !== file) fs.rmSync(old, { force: true });
    fs.renameSync(tmp, file);
    return new TensorBoardLog(file);
  }

  /** Rebuilds the log of the run in `runDir` from its metrics.jsonl. */
  static fromRunDir(runDir: string, outDir = runDir): TensorBoardLog {
    return TensorBoardLog.rebuild(outDir, new RunDirectory(runDir).readEvents());
  }

  append(event: RunEvent): void {
    const records = recordsOf(event);
    if (records.length > 0) fs.appendFileSync(this.file, records);
  }
}

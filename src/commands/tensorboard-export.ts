import * as fs from 'fs';
import * as path from 'path';
import { RunDirectory, RunsRoot } from '../runs';
import { TensorBoardLog } from '../tensorboard/run-log';
import { Command, UsageError } from './command';

export const tensorBoardExportCommand: Command = {
  usage: 'reslab tensorboard-export <runs-dir> [--logdir DIR]',
  summary: 'TensorBoard event files for every run of a runs directory (runs written before reslab wrote them, or a read-only share)',
  options: { logdir: { type: 'string' } },
  details: () =>
    'Each run directory with a metrics.jsonl gets its events.out.tfevents.*.reslab file (in place, or in DIR/<run>/ with\n' +
    '--logdir); new runs write theirs while they train. Then: tensorboard --logdir <runs-dir or DIR>',
  run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected the runs directory\nusage: ${tensorBoardExportCommand.usage}`);
    const root = new RunsRoot(positionals[0]);
    const logdir = values.logdir as string | undefined;
    let runs: RunDirectory[];
    try {
      runs = root.runs();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (runs.length === 0) throw new Error(`no runs (directories with a metrics.jsonl) in ${root.dir}`);
    for (const run of runs) {
      const log = TensorBoardLog.fromRunDir(run.dir, logdir ? path.join(logdir, run.runId) : undefined);
      console.log(`${run.runId.padEnd(24)} ${log.file} (${fs.statSync(log.file).size} bytes)`);
    }
    console.error(`${runs.length} run(s); view them with: tensorboard --logdir ${logdir ?? root.dir}`);
  },
};

import * as fs from 'fs';
import * as path from 'path';
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
    const runsDir = positionals[0];
    if (!fs.existsSync(runsDir) || !fs.statSync(runsDir).isDirectory())
      throw new UsageError(`runs directory ${runsDir} does not exist or is not a directory`);
    const logdir = values.logdir as string | undefined;
    const runs = fs
      .readdirSync(runsDir)
      .filter((name) => fs.existsSync(path.join(runsDir, name, 'metrics.jsonl')))
      .sort();
    if (runs.length === 0) throw new Error(`no runs (directories with a metrics.jsonl) in ${runsDir}`);
    for (const name of runs) {
      const log = TensorBoardLog.fromRunDir(path.join(runsDir, name), logdir ? path.join(logdir, name) : undefined);
      console.log(`${name.padEnd(24)} ${log.file} (${fs.statSync(log.file).size} bytes)`);
    }
    console.error(`${runs.length} run(s); view them with: tensorboard --logdir ${logdir ?? runsDir}`);
  },
};

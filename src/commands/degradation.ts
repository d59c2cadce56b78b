import * as path from 'path';
import { verdictLines } from '../experiments/claims';
import { table6Markdown } from '../experiments/figures';
import { gridConfigs, parseShard, runSweep, shardOf } from '../experiments/grid';
import { writeReport } from '../experiments/report';
import { PRESET_DEPTHS, runIdOf } from '../train/config';
import { StopSignal } from '../train/launch';
import { Command, listFlag, numberFlag, UsageError } from './command';
import { runProgress, stopOnSignals } from './progress';
import { datasetFrom, overridesFrom, presetOf, presetTable, runsRootFrom, trainingFlags } from './training-flags';

export const degradationCommand: Command = {
  usage:
    'reslab degradation [--nets plain,resnet] [--depths 8,44] [--seeds 1] [--preset cpu|demo|smoke|paper] [--iterations N] [--width W] [--data-dir DIR | --download] [--out runs/] [--shard i/N|auto] [--report report/]',
  summary: 'the degradation grid {plain, resnet} x depths x seeds; resumable, shardable; writes a report',
  details: presetTable,
  options: {
    ...trainingFlags,
    nets: { type: 'string' },
    depths: { type: 'string' },
    seeds: { type: 'string' },
    shard: { type: 'string' },
    report: { type: 'string' },
  },
  async run(positionals, values) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'\nusage: ${degradationCommand.usage}`);
    const nets = listFlag(values, 'nets', 'plain,resnet') as Array<'plain' | 'resnet'>;
    const preset = presetOf(values, 'cpu');
    const depths = listFlag(values, 'depths', PRESET_DEPTHS[preset].join(',')).map(Number);
    const seedCount = numberFlag(values, 'seeds') ?? 1;
    if (!Number.isInteger(seedCount) || seedCount < 1) throw new UsageError(`--seeds expects a positive count, got ${seedCount}`);
    const seeds = Array.from({ length: seedCount }, (_, i) => i);
    const shard = typeof values.shard === 'string' ? parseShard(values.shard) : undefined;
    const root = runsRootFrom(values);
    // Every run's settings are checked before the data loads or any run directory is created.
    const all = gridConfigs({ nets, depths, seeds, preset, overrides: overridesFrom(values) });
    const mine = shardOf(all, shard);
    if (shard && mine.length === 0) {
      // Array jobs may have more tasks than runs: say so, and succeed (nothing failed).
      console.error(
        `shard ${shard.index}/${shard.count} has no runs: the sweep has only ${all.length} (${all.map(runIdOf).join(', ')}); nothing to do`,
      );
      return 0;
    }
    const data = await datasetFrom(values);
    console.error(
      `degradation sweep: ${nets.join(',')} x depths ${depths.join(',')} x ${seedCount} seed(s), ${preset} preset, data ${data.source}${shard ? `, shard ${shard.index}/${shard.count}` : ''} → ${root.dir}`,
    );
    const stop = new StopSignal();
    const detach = stopOnSignals(stop);
    const launched = await runSweep(mine, data, root, {
      stop,
      perRun: (config, index, total) => {
        const progress = runProgress(`[${index + 1}/${total}] ${runIdOf(config)}`, config.batchSize, values.quiet === true);
        return { listeners: [progress.listener], onStep: progress.onStep };
      },
      onRunEnd: ({ run, alreadyFinished }) => {
        if (alreadyFinished) console.error(`${run.runId}: already finished, skipped`);
      },
    }).finally(detach);
    if (stop.requested || launched.length < mine.length || launched.some((l) => l.end.status !== 'completed')) {
      console.error('sweep stopped; run the same command again to resume');
      return 130;
    }
    const reportDir = values.report as string | undefined;
    if (reportDir) {
      const { rows, verdicts, scale } = writeReport(root.dir, reportDir);
      console.log(table6Markdown(rows));
      console.log(`\n${verdictLines(verdicts, scale).join('\n')}`);
      console.error(`report: ${path.join(reportDir, 'index.html')}`);
    }
  },
};

import { configFromPreset, runIdOf } from '../train/config';
import { launchRun, StopSignal } from '../train/launch';
import { Command, defined, numberFlag, UsageError } from './command';
import { runProgress, stopOnSignals } from './progress';
import { datasetFrom, overridesFrom, presetOf, presetTable, runsRootFrom, trainingFlags } from './training-flags';

export const trainCommand: Command = {
  usage:
    'reslab train <model> [--preset cpu|demo|smoke|paper] [--iterations N] [--width W] [--shortcut A|B|C] [--data-dir DIR | --download] [--out runs/] [--seed S]',
  summary: 'train one CIFAR-10 net; resumes from runs/<id>/checkpoint if present',
  details: presetTable,
  options: { ...trainingFlags, seed: { type: 'string' } },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected one model name, e.g. resnet20\nusage: ${trainCommand.usage}`);
    const config = configFromPreset(positionals[0], presetOf(values, 'cpu'), {
      ...overridesFrom(values),
      ...defined({ seed: numberFlag(values, 'seed') }),
    });
    const root = runsRootFrom(values);
    const data = await datasetFrom(values);
    const run = root.run(runIdOf(config));
    const quiet = values.quiet === true;
    const progress = runProgress(run.runId, config.batchSize, quiet);
    const stop = new StopSignal();
    const detach = stopOnSignals(stop);
    let announced = false;
    const announce = () => {
      if (announced) return;
      announced = true;
      console.error(
        `training ${config.model} (${config.preset} preset, ${config.iterations} iterations) on ${data.source}: ${data.train.count} training, ${data.test.count} test images → ${run.dir}`,
      );
      if (!quiet) console.error(`config: ${JSON.stringify(config)}`);
    };
    try {
      const launched = await launchRun(config, data, root, {
        listeners: [
          (event) => {
            if (event.type === 'run_start') announce();
            progress.listener(event);
          },
        ],
        onStep: progress.onStep,
        stop,
      });
      if (launched.alreadyFinished) {
        console.error(
          `${run.dir} is already finished (iteration ${launched.end.iteration}); nothing to do. Delete it, or use another --out or --seed, to train again.`,
        );
        return 0;
      }
      return launched.end.status === 'stopped' ? 130 : 0;
    } finally {
      detach();
    }
  },
};

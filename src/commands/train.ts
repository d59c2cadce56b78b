import * as path from 'path';
import { completedEnd } from '../experiments/grid';
import { configFromPreset, runIdOf, validateConfigForData } from '../train/config';
import { readRunEvents } from '../runs';
import { Trainer } from '../train/trainer';
import { Command, defined, numberFlag, UsageError } from './command';
import { attach } from './progress';
import { datasetFrom, overridesFrom, presetOf, presetTable, settingsOrUsageError, trainingFlags } from './training-flags';

export const trainCommand: Command = {
  usage:
    'reslab train <model> [--preset cpu|demo|smoke|paper] [--iterations N] [--width W] [--shortcut A|B|C] [--data-dir DIR | --download] [--out runs/] [--seed S]',
  summary: 'train one CIFAR-10 net; resumes from runs/<id>/checkpoint if present',
  details: presetTable,
  options: { ...trainingFlags, seed: { type: 'string' } },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected one model name, e.g. resnet20\nusage: ${trainCommand.usage}`);
    const config = settingsOrUsageError(() =>
      configFromPreset(positionals[0], presetOf(values, 'cpu'), {
        ...overridesFrom(values),
        ...defined({ seed: numberFlag(values, 'seed') }),
      }),
    );
    const data = await datasetFrom(values);
    settingsOrUsageError(() => validateConfigForData(config, data.train.count, data.test.count));
    const runDir = path.join((values.out as string | undefined) ?? 'runs', runIdOf(config));
    const finished = completedEnd(readRunEvents(runDir));
    if (finished) {
      console.error(
        `${runDir} is already finished (iteration ${finished.iteration}); nothing to do. Delete it, or use another --out or --seed, to train again.`,
      );
      return 0;
    }
    let hooks: ReturnType<typeof attach> | undefined;
    const trainer = new Trainer(config, data, { runDir, onStep: (p) => hooks?.progress(p) });
    hooks = attach(trainer, runIdOf(config), values.quiet === true);
    console.error(
      `training ${config.model} (${config.preset} preset, ${config.iterations} iterations) on ${data.source}: ${data.train.count} training, ${data.test.count} test images → ${runDir}`,
    );
    if (values.quiet !== true) console.error(`config: ${JSON.stringify(config)}`);
    try {
      const end = await trainer.run();
      return end.status === 'stopped' ? 130 : 0;
    } finally {
      hooks.detach();
    }
  },
};

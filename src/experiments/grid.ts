import * as fs from 'fs';
import { CifarDataset } from '../data/cifar';
import { modelName } from '../models/zoo';
import { configFromPreset, PresetName, SettingsError, TrainConfig, validateConfigForData } from '../train/config';
import { InvalidRunLogError, RunsRoot } from '../runs';
import { launchRun, Launched, LaunchOptions, StopSignal } from '../train/launch';
import { DivergenceError } from '../train/trainer';

/** A degradation sweep: {plain, resnet} x depths x seeds, all with one preset. */
export interface GridSpec {
  nets: Array<'plain' | 'resnet'>;
  depths: number[];
  seeds: number[];
  preset: PresetName;
  /** Overrides applied to every run (iterations, width, ...). */
  overrides?: Partial<TrainConfig>;
}

/** Which part of a sweep this process runs: shard `index` of `count` (0-based). */
export interface Shard {
  index: number;
  count: number;
}

/**
 * The shard of an array job, from the scheduler's environment (`--shard auto`): Slurm's
 * SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT tasks, or a Kubernetes Indexed Job's
 * JOB_COMPLETION_INDEX. RESLAB_SHARD_COUNT gives the count where the scheduler does not (Kubernetes
 * does not put the completions count in a pod's environment; a Slurm task resubmitted alone, as
 * `--array=3`, counts 1 task): set it to the number of tasks of the whole sweep.
 */
export function shardFromEnvironment(env: NodeJS.ProcessEnv = process.env): Shard {
  const index = env.SLURM_ARRAY_TASK_ID ?? env.JOB_COMPLETION_INDEX;
  const count = env.RESLAB_SHARD_COUNT ?? (env.SLURM_ARRAY_TASK_ID !== undefined ? env.SLURM_ARRAY_TASK_COUNT : undefined);
  if (index === undefined)
    throw new SettingsError(
      '--shard auto needs an array job: SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is not set; give --shard i/N otherwise',
    );
  if (count === undefined)
    throw new SettingsError(
      `--shard auto: the task count is unknown (${env.JOB_COMPLETION_INDEX !== undefined ? 'Kubernetes does not tell a pod its completions' : 'SLURM_ARRAY_TASK_COUNT is not set'}): set RESLAB_SHARD_COUNT to the number of tasks of the sweep`,
    );
  return parseShard(`${index}/${count}`, `--shard auto (task ${index} of ${count})`);
}

/** Parses `i/N` (0 <= i < N); `auto` reads the scheduler's environment (see {@link shardFromEnvironment}). */
export function parseShard(text: string, what = '--shard'): Shard {
  if (text.trim() === 'auto') return shardFromEnvironment();
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count)
    throw new SettingsError(`${what} expects i/N with 0 <= i < N (e.g. 0/4) or auto, got '${text}'`);
  return { index, count };
}

/** Every run of the sweep, in a stable order (net, depth, seed). */
export function gridConfigs(spec: GridSpec): TrainConfig[] {
  if (spec.nets.length === 0 || spec.depths.length === 0 || spec.seeds.length === 0) {
    throw new SettingsError('a sweep needs at least one net, one depth and one seed');
  }
  for (const net of spec.nets) {
    if (net !== 'plain' && net !== 'resnet') throw new SettingsError(`unknown net '${String(net)}': expected plain or resnet`);
  }
  const configs: TrainConfig[] = [];
  for (const net of spec.nets) {
    for (const depth of spec.depths) {
      for (const seed of spec.seeds) {
        const model = modelName({ family: net, depth, dataset: 'cifar' });
        configs.push(configFromPreset(model, spec.preset, { ...spec.overrides, seed }));
      }
    }
  }
  return configs;
}

/** The runs of shard `shard` (round-robin, so each shard gets a mix of cheap and costly runs). */
export function shardOf<T>(items: T[], shard: Shard = { index: 0, count: 1 }): T[] {
  return items.filter((_, i) => i % shard.count === shard.index);
}

export interface SweepOptions {
  stop?: StopSignal;
  /** What each run's launch gets (listeners, progress, replay of finished runs), by its place in the sweep. */
  perRun?: (config: TrainConfig, index: number, total: number) => Omit<LaunchOptions, 'stop'>;
  /** Called after each run, trained or found finished. */
  onRunEnd?: (launched: Launched) => void;
  /**
   * A run whose metrics.jsonl cannot be read (see InvalidRunLogError) is skipped and reported here
   * when this is given, and the sweep goes on; without it the sweep stops with the error.
   */
  onInvalidLog?: (config: TrainConfig, error: InvalidRunLogError) => void;
  /**
   * A run that diverged (NaN loss or weights; its log ends as failed): with this the sweep names it
   * and goes on with the next run (an experiment that counts divergences); without, it stops there.
   */
  onDiverged?: (config: TrainConfig, error: DivergenceError) => void;
}

/**
 * Runs `configs` one after another into `root` (see {@link launchRun}): finished runs are skipped
 * and interrupted ones resumed, so the same command can be repeated (or run by an array-job
 * scheduler, one shard per task) until everything is done. Every config is checked against the
 * data before the first run starts. Stops at a run that did not complete, or when `stop` is requested.
 */
export async function runSweep(
  configs: TrainConfig[],
  data: CifarDataset,
  root: RunsRoot,
  options: SweepOptions = {},
): Promise<Launched[]> {
  for (const config of configs) validateConfigForData(config, data.train.count, data.test.count);
  fs.mkdirSync(root.dir, { recursive: true });
  const launched: Launched[] = [];
  for (const [index, config] of configs.entries()) {
    if (options.stop?.requested) break;
    let result: Launched;
    try {
      result = await launchRun(config, data, root, { ...options.perRun?.(config, index, configs.length), stop: options.stop });
    } catch (error) {
      if (error instanceof DivergenceError && options.onDiverged) {
        options.onDiverged(config, error);
        continue;
      }
      if (!(error instanceof InvalidRunLogError) || !options.onInvalidLog) throw error;
      options.onInvalidLog(config, error);
      continue;
    }
    launched.push(result);
    options.onRunEnd?.(result);
    if (result.end.status !== 'completed') break;
  }
  return launched;
}

import * as fs from 'fs';
import * as path from 'path';
import { CifarDataset } from '../data/cifar';
import { IMAGENET_DEPTHS } from '../models/zoo';
import { RunEndEvent, RunEvent } from 'reslab-protocol';
import { configFromPreset, PresetName, runIdOf, TrainConfig } from '../train/config';
import { readRunEvents } from '../runs';
import { Trainer, TrainerOptions } from '../train/trainer';

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

/** Parses `i/N` (0 <= i < N). */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count) throw new Error(`--shard expects i/N with 0 <= i < N (e.g. 0/4), got '${text}'`);
  return { index, count };
}

/** Every run of the sweep, in a stable order (net, depth, seed). */
export function gridConfigs(spec: GridSpec): TrainConfig[] {
  if (spec.nets.length === 0 || spec.depths.length === 0 || spec.seeds.length === 0) {
    throw new Error('a sweep needs at least one net, one depth and one seed');
  }
  for (const net of spec.nets) {
    if (net !== 'plain' && net !== 'resnet') throw new Error(`unknown net '${String(net)}': expected plain or resnet`);
  }
  const configs: TrainConfig[] = [];
  for (const net of spec.nets) {
    for (const depth of spec.depths) {
      for (const seed of spec.seeds) {
        // 'cifar-' keeps 6n+2 depths that are also ImageNet depths (50, 152) on CIFAR.
        const model = depth in IMAGENET_DEPTHS ? `cifar-${net}${depth}` : `${net}${depth}`;
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

/** The run_end event of a finished run, if it finished. */
export function completedEnd(events: RunEvent[]): RunEndEvent | undefined {
  const last = events[events.length - 1];
  return last && last.type === 'run_end' && last.status === 'completed' ? last : undefined;
}

export interface GridOptions {
  outDir: string;
  data: CifarDataset;
  shard?: Shard;
  trainer?: Omit<TrainerOptions, 'runDir'>;
  /** Called with each trainer before it runs (to attach listeners, stop handlers, ...). */
  onRun?: (trainer: Trainer, index: number, total: number) => void;
  /** Called after each run (or skip). */
  onRunEnd?: (runId: string, end: RunEndEvent, skipped: boolean) => void;
  /** Checked between runs: true stops the sweep. */
  shouldStop?: () => boolean;
}

/**
 * Runs this shard of a sweep into `outDir/<runId>/`. Finished runs are skipped and interrupted
 * ones resumed, so the same command can be repeated (or run by an array-job scheduler, one
 * shard per task) until everything is done.
 */
export async function runGrid(spec: GridSpec, options: GridOptions): Promise<RunEndEvent[]> {
  const configs = shardOf(gridConfigs(spec), options.shard);
  fs.mkdirSync(options.outDir, { recursive: true });
  const ends: RunEndEvent[] = [];
  for (const [index, config] of configs.entries()) {
    if (options.shouldStop?.()) break;
    const runDir = path.join(options.outDir, runIdOf(config));
    const done = completedEnd(readRunEvents(runDir));
    if (done) {
      ends.push(done);
      options.onRunEnd?.(done.runId, done, true);
      continue;
    }
    const trainer = new Trainer(config, options.data, { ...options.trainer, runDir });
    options.onRun?.(trainer, index, configs.length);
    const end = await trainer.run();
    ends.push(end);
    options.onRunEnd?.(end.runId, end, false);
    if (end.status !== 'completed') break;
  }
  return ends;
}

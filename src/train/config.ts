import { ModelId, modelSpec, ModelOptions, parseModelName } from '../models/zoo';
import type { Precision } from '../native/ops';
import { memoryBudget, trainingMemory } from './memory';

/**
 * A setting that cannot be trained: a bad value, or a config that does not fit the data. Thrown
 * before anything is written; the CLI prints it in one line and exits 2.
 */
export class SettingsError extends Error {}

/** Runs `check`, turning what it throws into a {@link SettingsError} (the model builders' own checks). */
function asSettings<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof SettingsError) throw error;
    throw new SettingsError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** Everything that defines a training run; saved as the run's config.json. */
export interface TrainConfig {
  /** Model name, e.g. `resnet56` or `plain20`. */
  model: string;
  modelOptions: ModelOptions;
  /** Preset the config came from (`paper`, `cpu`, `demo`, `smoke`), for labels. */
  preset: string;
  iterations: number;
  batchSize: number;
  /** Learning rate at iteration 0 (after any warm-up). */
  lr: number;
  /** Iterations at which the learning rate is multiplied by `lrFactor`. */
  lrMilestones: number[];
  lrFactor: number;
  /**
   * Warm-up (§4.2, ResNet-110): train at `lr` until the running training error falls below
   * `untilTrainError`, then switch to the main learning rate. Undefined: no warm-up.
   */
  warmup?: { lr: number; untilTrainError: number };
  momentum: number;
  weightDecay: number;
  seed: number;
  /** Random crop + flip (§4.2). */
  augment: boolean;
  /** Running training error is reported over windows of this many iterations. */
  logEvery: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Block-wise probes every this many iterations (0: never). */
  probeEvery: number;
  /** Size of the fixed probe batch (the first training images, not augmented). */
  probeImages: number;
  /** Use only the first N training images (undefined: all). */
  trainLimit?: number;
  /** Evaluate on the first N test images (undefined: all). */
  testLimit?: number;
  /** Also measure inference-mode error on the first N training images at each evaluation (0: no). */
  trainEvalImages: number;
  /**
   * Hold out the last N training images as a validation set, evaluated instead of the test
   * set (the paper's 45k/5k split: 5000). 0: train on everything, evaluate on the test set.
   */
  validationImages: number;
  /**
   * `bfloat16`: bf16 mixed precision (convolutions, batch norms, ReLUs and residual adds in
   * bfloat16; float32 weights, optimizer, statistics, classifier and loss). Absent: float32.
   */
  precision?: Precision;
}

/** The CPU-scale protocol calibrated against an independent PyTorch run: half width, constant lr 0.1
 * (lr drops this early hurt the deeper nets), 1,500 iterations; meant for 10,000+ real images. */
const CPU: Omit<TrainConfig, 'model'> = {
  modelOptions: { width: 0.5 },
  preset: 'cpu',
  iterations: 1500,
  batchSize: 128,
  lr: 0.1,
  lrMilestones: [],
  lrFactor: 0.1,
  momentum: 0.9,
  weightDecay: 1e-4,
  seed: 0,
  augment: true,
  logEvery: 100,
  evalEvery: 250,
  checkpointEvery: 250,
  probeEvery: 100,
  probeImages: 64,
  // The first 10,000 training images: the official data_batch_1 when CIFAR-10 is downloaded.
  trainLimit: 10_000,
  testLimit: 2000,
  trainEvalImages: 2000,
  validationImages: 0,
};

/**
 * Named protocols. `paper` is §4.2 exactly; `cpu` scales it down to CPU hours (the notebooks'
 * committed outputs, the README's evidence); `demo` is the main job (`npm start`: minutes on the
 * bundled 4,000 images, depths 8 and 44); `smoke` only checks that everything runs (CI).
 * All of them: SGD momentum 0.9, weight decay 1e-4, lr 0.1, batch 128 (smoke: 64), the paper's
 * augmentation, the same for plain nets and ResNets.
 */
export const PRESETS: Record<'paper' | 'cpu' | 'demo' | 'smoke', Omit<TrainConfig, 'model'>> = {
  paper: {
    ...CPU,
    modelOptions: { width: 1 },
    preset: 'paper',
    iterations: 64_000,
    lrMilestones: [32_000, 48_000],
    logEvery: 100,
    evalEvery: 1000,
    checkpointEvery: 2000,
    probeEvery: 1000,
    trainLimit: undefined,
    testLimit: undefined,
    trainEvalImages: 0,
  },
  cpu: CPU,
  // Quarter width (4/8/16 filters), 550 iterations: the cheapest protocol found that shows, in
  // under 10 minutes on a 2-core CPU, plain-44 far above plain-8 and ResNet-44 no worse than
  // ResNet-8 in running training error for each of 3 seeds (README, evidence; at 500 one seed
  // still has ResNet-44 1.4 points behind).
  demo: {
    ...CPU,
    modelOptions: { width: 0.25 },
    preset: 'demo',
    iterations: 550,
    logEvery: 25,
    evalEvery: 50,
    checkpointEvery: 110,
    probeEvery: 50,
    trainLimit: undefined,
    testLimit: undefined,
    trainEvalImages: 1000,
  },
  smoke: {
    ...CPU,
    modelOptions: { width: 0.25 },
    preset: 'smoke',
    iterations: 60,
    batchSize: 64,
    logEvery: 10,
    evalEvery: 20,
    checkpointEvery: 60,
    probeEvery: 20,
    trainLimit: 2000,
    testLimit: 500,
    trainEvalImages: 500,
  },
};

/** The depths each preset compares by default (`reslab degradation` without `--depths`). */
export const PRESET_DEPTHS: Record<keyof typeof PRESETS, number[]> = {
  paper: [20, 32, 44, 56, 110],
  cpu: [20, 56],
  demo: [8, 44],
  smoke: [8, 20],
};

export type PresetName = keyof typeof PRESETS;

/** Each config's parsed model name, so that the name is parsed once per config (configs are values: a changed name is parsed again). */
const parsedModels = new WeakMap<TrainConfig, { model: string; id: ModelId }>();

/** The model a config trains, parsed from its `model` name (a {@link SettingsError} if it names none). */
export function modelIdOf(config: TrainConfig): ModelId {
  const cached = parsedModels.get(config);
  if (cached && cached.model === config.model) return cached.id;
  const id = asSettings(() => parseModelName(config.model));
  parsedModels.set(config, { model: config.model, id });
  return id;
}

/** The paper's warm-up of a net (§4.2: ResNet-110 and deeper start at lr/10 until the training error is below 80%), or undefined. */
function paperWarmup(id: ModelId, lr: number): TrainConfig['warmup'] {
  return id.dataset === 'cifar' && id.depth >= 110 ? { lr: lr / 10, untilTrainError: 0.8 } : undefined;
}

/** A full config for `model` from a preset, with overrides. ResNet-110+ get the paper's warm-up. */
export function configFromPreset(model: string, preset: PresetName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const base = PRESETS[preset];
  if (!base) throw new SettingsError(`unknown preset '${String(preset)}': expected one of ${Object.keys(PRESETS).join(', ')}`);
  const id = asSettings(() => parseModelName(model));
  const config: TrainConfig = {
    ...base,
    model,
    warmup: paperWarmup(id, base.lr),
    ...overrides,
    modelOptions: { ...base.modelOptions, ...overrides.modelOptions },
  };
  parsedModels.set(config, { model, id });
  validateConfig(config);
  return config;
}

/** A value as a message shows it: `[0.1]`, `"abc"`, `1e+99`. */
const shown = (value: unknown): string => (typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value)));

/** The most iterations a run may have: 1,500 times the paper's 64,000 (a bound, so that 1e99 is a mistake, not a run). */
export const MAX_ITERATIONS = 100_000_000;

function positiveInteger(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new SettingsError(`${name} must be a positive integer, got ${shown(value)}`);
  if (value > max) throw new SettingsError(`${name} must be at most ${max.toLocaleString('en-US')}, got ${shown(value)}`);
}

function optionalCount(value: unknown, name: string, min: number): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > Number.MAX_SAFE_INTEGER))
    throw new SettingsError(`${name} must be an integer >= ${min}, got ${shown(value)}`);
}

function positiveNumber(value: unknown, name: string): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw new SettingsError(`${name} must be a positive number, got ${shown(value)}`);
}

/** CIFAR-10 labels are 0-9: a classifier of any other size cannot be trained on them. */
const CIFAR10_CLASSES = 10;

/**
 * Throws a clear error for any inconsistent setting: everything that can be checked without the
 * data, so that a bad flag fails before a run directory is created.
 */
export function validateConfig(config: TrainConfig): void {
  const id = modelIdOf(config);
  if (id.dataset !== 'cifar') throw new SettingsError(`${config.model} is an ImageNet model; training runs on CIFAR-10 nets (depth 6n+2)`);
  const spec = asSettings(() => modelSpec(id, config.modelOptions)); // width, shortcut, order, classes: the builders' own checks
  const classes = config.modelOptions.numClasses ?? CIFAR10_CLASSES;
  if (classes !== CIFAR10_CLASSES)
    throw new SettingsError(
      `CIFAR-10 has ${CIFAR10_CLASSES} classes (labels 0-9), so the classifier needs ${CIFAR10_CLASSES} outputs, got ${classes}`,
    );
  positiveInteger(config.iterations, 'iterations', MAX_ITERATIONS);
  positiveInteger(config.batchSize, 'batch size');
  positiveInteger(config.logEvery, 'logEvery');
  positiveInteger(config.evalEvery, 'evalEvery');
  positiveInteger(config.checkpointEvery, 'checkpointEvery');
  optionalCount(config.probeEvery, 'probeEvery', 0);
  positiveInteger(config.probeImages, 'probeImages');
  optionalCount(config.trainLimit, 'the training-set limit', 1);
  optionalCount(config.testLimit, 'the test-set limit', 1);
  optionalCount(config.trainEvalImages, 'trainEvalImages', 0);
  optionalCount(config.validationImages, 'the validation split', 0);
  if (config.trainLimit !== undefined && config.trainLimit - config.validationImages < config.batchSize) {
    throw new SettingsError(
      `a training set of ${config.trainLimit - config.validationImages} images is smaller than one batch of ${config.batchSize}`,
    );
  }
  positiveNumber(config.lr, 'learning rate');
  positiveNumber(config.lrFactor, 'lrFactor');
  const milestones: unknown = config.lrMilestones;
  if (!Array.isArray(milestones) || !milestones.every((m, i) => Number.isInteger(m) && m > 0 && (i === 0 || m > milestones[i - 1]))) {
    throw new SettingsError(`lrMilestones must be increasing positive iterations, e.g. [32000, 48000], got ${shown(milestones)}`);
  }
  if (typeof config.weightDecay !== 'number' || !(config.weightDecay >= 0) || !Number.isFinite(config.weightDecay))
    throw new SettingsError(`weight decay must be a number >= 0, got ${shown(config.weightDecay)}`);
  if (typeof config.momentum !== 'number' || !(config.momentum >= 0 && config.momentum < 1))
    throw new SettingsError(`momentum must be a number in [0, 1), got ${shown(config.momentum)}`);
  if (typeof config.augment !== 'boolean') throw new SettingsError(`augment must be true or false, got ${shown(config.augment)}`);
  if (config.precision !== undefined && config.precision !== 'float32' && config.precision !== 'bfloat16')
    throw new SettingsError(`precision must be "float32" or "bfloat16", got ${shown(config.precision)}`);
  if (config.warmup !== undefined) {
    const { lr, untilTrainError } = (config.warmup ?? {}) as Partial<NonNullable<TrainConfig['warmup']>>;
    if (
      !(typeof lr === 'number' && lr > 0 && Number.isFinite(lr)) ||
      !(typeof untilTrainError === 'number' && untilTrainError > 0 && untilTrainError < 1)
    )
      throw new SettingsError(
        `warmup must be {"lr": a positive number, "untilTrainError": a fraction in (0, 1)}, got ${shown(config.warmup)}`,
      );
  }
  if (typeof config.seed !== 'number' || !Number.isSafeInteger(config.seed))
    throw new SettingsError(`seed must be an integer, got ${shown(config.seed)}`);
  const memory = trainingMemory(spec, config.batchSize, config.probeEvery > 0 ? config.probeImages : 0);
  const budget = memoryBudget();
  if (memory.bytes > budget.bytes)
    throw new SettingsError(
      `this run needs about ${memory.description}, more than ${budget.source}: choose a smaller width, batch size or probe batch (--probe-images)`,
    );
}

/** Checks the config against the data it will train on (sizes); throws before anything is written. */
export function validateConfigForData(config: TrainConfig, trainImages: number, testImages: number): void {
  const usable = Math.min(trainImages, config.trainLimit ?? Infinity) - config.validationImages;
  if (config.probeEvery > 0 && config.probeImages > usable)
    throw new SettingsError(
      `a probe batch of ${config.probeImages} images is more than the ${usable} training images the run has (--probe-images)`,
    );
  if (usable < config.batchSize) {
    throw new SettingsError(
      `batch size ${config.batchSize} is larger than the ${usable} training images available` +
        `${config.validationImages ? ` after the validation split of ${config.validationImages}` : ''}`,
    );
  }
  if (config.validationImages === 0 && testImages < 1) throw new SettingsError('the data has no test images to evaluate on');
}

/** Stable run id within a runs directory: model, shortcut option and order when not the default, width and seed. */
export function runIdOf(config: TrainConfig): string {
  const width = config.modelOptions.width ?? 1;
  const shortcut = config.modelOptions.shortcut && config.modelOptions.shortcut !== 'A' ? `-${config.modelOptions.shortcut}` : '';
  const tags = variantParts(config)
    .map((p) => p.tag)
    .join('');
  return `${config.model}${shortcut}${tags}-w${width}-s${config.seed}`;
}

/** What sets a run apart from its net's defaults: words for labels, a tag for its run id. */
function variantParts(config: TrainConfig): Array<{ words: string; tag: string }> {
  const { order, zeroInitResidual, bottleneckStride } = config.modelOptions;
  const parts: Array<{ words: string; tag: string }> = [];
  if (order === 'pre') parts.push({ words: 'pre-activation', tag: '-pre' });
  if (zeroInitResidual) parts.push({ words: 'zero-init residual', tag: '-zero' });
  if (bottleneckStride === '3x3') parts.push({ words: 'stride on the 3x3', tag: '-s3x3' });
  if (config.precision === 'bfloat16') parts.push({ words: 'bf16 mixed precision', tag: '-bf16' });
  const paper = paperWarmup(modelIdOf(config), PRESETS[config.preset as PresetName]?.lr ?? 0.1);
  const { warmup } = config;
  if (!warmup && paper) parts.push({ words: 'no warm-up', tag: '-nowarm' });
  else if (warmup && (warmup.lr !== paper?.lr || warmup.untilTrainError !== paper.untilTrainError))
    parts.push({
      words: `warm-up at lr ${warmup.lr} until ${Math.round(warmup.untilTrainError * 100)}% error`,
      tag: `-warm${warmup.lr}to${warmup.untilTrainError}`,
    });
  return parts;
}

/** What sets a run apart from its net's defaults, in words (`pre-activation, no warm-up`), or undefined: the run descriptor's `variant`. */
export function variantOf(config: TrainConfig): string | undefined {
  const words = variantParts(config).map((p) => p.words);
  return words.length ? words.join(', ') : undefined;
}

/** Learning rate at `iteration` (after warm-up, if any, is over). */
export function learningRate(config: TrainConfig, iteration: number, warmingUp: boolean): number {
  if (warmingUp && config.warmup) return config.warmup.lr;
  const drops = config.lrMilestones.filter((m) => iteration >= m).length;
  return config.lr * config.lrFactor ** drops;
}

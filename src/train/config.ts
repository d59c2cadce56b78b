import { ModelOptions, parseModelName } from '../models/zoo';

/** Everything that defines a training run; saved as the run's config.json. */
export interface TrainConfig {
  /** Model name, e.g. `resnet56` or `plain20`. */
  model: string;
  modelOptions: ModelOptions;
  /** Preset the config came from (`paper`, `quick`, `demo`), for labels. */
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
}

/** The CPU-scale protocol calibrated against an independent PyTorch run: half width, constant lr 0.1
 * (lr drops this early hurt the deeper nets), 1,500 iterations. */
const QUICK: Omit<TrainConfig, 'model'> = {
  modelOptions: { width: 0.5 },
  preset: 'quick',
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
  testLimit: 2000,
  trainEvalImages: 2000,
  validationImages: 0,
};

/** Named protocols. `paper` is §4.2 exactly; the others scale it down for CPUs. */
export const PRESETS: Record<'paper' | 'quick' | 'demo', Omit<TrainConfig, 'model'>> = {
  paper: {
    ...QUICK,
    modelOptions: { width: 1 },
    preset: 'paper',
    iterations: 64_000,
    lrMilestones: [32_000, 48_000],
    logEvery: 100,
    evalEvery: 1000,
    checkpointEvery: 2000,
    probeEvery: 1000,
    testLimit: undefined,
    trainEvalImages: 0,
  },
  quick: QUICK,
  // The quick protocol for minutes on a laptop CPU with the bundled 4,000-image subset: enough
  // to see plain-56 lag behind plain-20.
  demo: {
    ...QUICK,
    preset: 'demo',
    iterations: 250,
    logEvery: 25,
    evalEvery: 50,
    checkpointEvery: 100,
    probeEvery: 50,
    testLimit: undefined,
    trainEvalImages: 1000,
  },
};

export type PresetName = keyof typeof PRESETS;

/** A full config for `model` from a preset, with overrides. ResNet-110+ get the paper's warm-up. */
export function configFromPreset(model: string, preset: PresetName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown preset '${String(preset)}': expected one of ${Object.keys(PRESETS).join(', ')}`);
  const id = parseModelName(model);
  const warmup = id.dataset === 'cifar' && id.depth >= 110 ? { lr: base.lr / 10, untilTrainError: 0.8 } : undefined;
  const config: TrainConfig = {
    ...base,
    model,
    warmup,
    ...overrides,
    modelOptions: { ...base.modelOptions, ...overrides.modelOptions },
  };
  validateConfig(config);
  return config;
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
}

/** Throws a clear error for any inconsistent setting. */
export function validateConfig(config: TrainConfig): void {
  const id = parseModelName(config.model);
  if (id.dataset !== 'cifar') throw new Error(`${config.model} is an ImageNet model; training runs on CIFAR-10 nets (depth 6n+2)`);
  positiveInteger(config.iterations, 'iterations');
  positiveInteger(config.batchSize, 'batch size');
  positiveInteger(config.logEvery, 'logEvery');
  positiveInteger(config.evalEvery, 'evalEvery');
  positiveInteger(config.checkpointEvery, 'checkpointEvery');
  if (!(config.lr > 0)) throw new Error(`learning rate must be positive, got ${config.lr}`);
  if (config.weightDecay < 0 || !(config.momentum >= 0 && config.momentum < 1)) {
    throw new Error('weight decay must be >= 0 and momentum in [0, 1)');
  }
  if (!Number.isInteger(config.seed)) throw new Error(`seed must be an integer, got ${config.seed}`);
}

/** Stable run id within a runs directory: model, width and seed. */
export function runIdOf(config: TrainConfig): string {
  const width = config.modelOptions.width ?? 1;
  const shortcut = config.modelOptions.shortcut && config.modelOptions.shortcut !== 'A' ? `-${config.modelOptions.shortcut}` : '';
  const order = config.modelOptions.order === 'pre' ? '-pre' : '';
  return `${config.model}${shortcut}${order}-w${width}-s${config.seed}`;
}

/** Learning rate at `iteration` (after warm-up, if any, is over). */
export function learningRate(config: TrainConfig, iteration: number, warmingUp: boolean): number {
  if (warmingUp && config.warmup) return config.warmup.lr;
  const drops = config.lrMilestones.filter((m) => iteration >= m).length;
  return config.lr * config.lrFactor ** drops;
}

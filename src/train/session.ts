import * as tf from '@tensorflow/tfjs';
import { CifarDataset, IMAGE_BYTES, takeFirst } from '../data/cifar';
import { PAPER_AUGMENTATION, TrainingBatches } from '../data/preprocess';
import { ExampleTensors, exampleTensors } from '../data/tensors';
import { summarize } from '../models/summary';
import { buildModel } from '../models/zoo';
import { BlockProbe, EvalEvent, RunDescriptor, TrainEvent } from 'reslab-protocol';
import { createProbe, Probe } from '../probes';
import { RunDirectory, runSplit } from '../runs';
import { CheckpointState, hasCheckpoint, InvalidCheckpointError, loadCheckpoint, RunningWindow, saveCheckpoint } from './checkpoint';
import { learningRate, modelIdOf, TrainConfig, variantOf } from './config';
import { SgdMomentum } from './optimizer';
import { countErrors, releaseNativeNetwork, trainableVariables, trainStep } from './step';
import { precisionName } from '../native/precision';

const EMPTY_WINDOW: RunningWindow = { errors: 0, images: 0, loss: 0, steps: 0, seconds: 0 };

/** What one SGD step reports. */
export interface StepOutcome {
  loss: number;
  lr: number;
  seconds: number;
}

/**
 * Everything one run holds while it trains: the model and its optimizer, the data as the run sees
 * it (src/runs' split), the probe, and the progress a checkpoint must carry for an exact resume
 * (iteration, warm-up phase, the open running-error window, wall time so far). The trainer
 * (./trainer.ts) decides when to log, evaluate, probe and checkpoint; this class does each.
 */
export class TrainingSession {
  readonly model: tf.LayersModel;
  readonly optimizer: SgdMomentum;
  iteration = 0;
  warmingUp: boolean;
  private priorSeconds = 0;
  private readonly started = Date.now();
  private window: RunningWindow = { ...EMPTY_WINDOW };
  private readonly weights: tf.Variable[];
  /** Names of everything a checkpoint holds: all model weights (BN running statistics too), then velocities. */
  private readonly stateNames: string[];
  /** The run's stream of (augmented, unless the config says not) training batches. */
  readonly batches: TrainingBatches;
  private readonly trainImages: number;
  private readonly testSet: ExampleTensors;
  private readonly trainEvalSet: ExampleTensors | undefined;
  private readonly probe: Probe | undefined;
  private readonly imageBuffer: Float32Array;
  private readonly labelBuffer: Int32Array;

  constructor(
    readonly config: TrainConfig,
    data: CifarDataset,
  ) {
    this.model = buildModel(modelIdOf(config), { ...config.modelOptions, seed: config.seed });
    this.optimizer = new SgdMomentum(trainableVariables(this.model), { momentum: config.momentum, weightDecay: config.weightDecay });
    this.weights = this.model.weights.map((w) => w.read() as tf.Variable);
    this.stateNames = [...this.model.weights.map((w) => w.originalName), ...this.optimizer.velocityNames()];
    this.warmingUp = config.warmup !== undefined;
    const { train, evaluation, mean } = runSplit(data, config);
    this.trainImages = train.count;
    this.batches = new TrainingBatches(train, mean, config.batchSize, config.seed, config.augment ? PAPER_AUGMENTATION : null);
    this.testSet = exampleTensors(evaluation, mean);
    this.trainEvalSet = config.trainEvalImages > 0 ? exampleTensors(takeFirst(train, config.trainEvalImages), mean) : undefined;
    if (config.probeEvery > 0) {
      const probeSet = exampleTensors(takeFirst(train, config.probeImages), mean);
      this.probe = createProbe(this.model, probeSet.images, probeSet.labels);
      tf.dispose([probeSet.images, probeSet.labels]);
    }
    this.imageBuffer = new Float32Array(config.batchSize * IMAGE_BYTES);
    this.labelBuffer = new Int32Array(config.batchSize);
  }

  /** The run as events describe it. */
  descriptor(): RunDescriptor {
    const { config } = this;
    const id = modelIdOf(config);
    return {
      model: config.model,
      family: id.family,
      depth: id.depth,
      width: config.modelOptions.width ?? 1,
      shortcut: config.modelOptions.shortcut ?? 'A',
      seed: config.seed,
      iterations: config.iterations,
      batchSize: config.batchSize,
      params: summarize(this.model).params,
      preset: config.preset,
      trainImages: this.trainImages,
      ...(variantOf(config) ? { variant: variantOf(config) } : {}),
      ...(config.precision === 'bfloat16' ? { precision: 'bf16' as const } : {}),
    };
  }

  /** Wall-clock seconds of the run so far, over all its processes. */
  elapsed(): number {
    return this.priorSeconds + (Date.now() - this.started) / 1000;
  }

  /** The learning rate of the next step. */
  learningRate(): number {
    return learningRate(this.config, this.iteration, this.warmingUp);
  }

  /**
   * Restores weights, velocities and progress from the run directory's checkpoint; returns what it
   * recorded of metrics.jsonl (its size, and the checkpoint event's own line), or undefined without
   * one. Throws {@link InvalidCheckpointError}, changing nothing, when the checkpoint cannot belong to this run.
   */
  restore(run: RunDirectory): Pick<CheckpointState, 'metricsBytes' | 'eventLine'> | undefined {
    if (!hasCheckpoint(run)) return undefined;
    const shapes = [...this.weights, ...this.optimizer.variables].map((t) => t.shape);
    const { state, values } = loadCheckpoint(
      run,
      shapes.map((shape, i) => ({ name: this.stateNames[i], shape })),
    );
    if (state.iteration > this.config.iterations)
      throw new InvalidCheckpointError(
        `the checkpoint in ${run.checkpointDir} is at iteration ${state.iteration}, beyond this run's ${this.config.iterations}: it is not this run's. Nothing was changed; delete it to start the run over`,
      );
    const [saved, wanted] = [state.precision ?? 'float32', this.config.precision ?? 'float32'];
    if (saved !== wanted)
      throw new InvalidCheckpointError(
        `the checkpoint in ${run.checkpointDir} was trained in ${precisionName(saved)}, this run asks for ${precisionName(wanted)}. Nothing was changed; resume with --precision ${precisionName(saved)}, or delete the checkpoint to start over`,
      );
    const restored = values.map((v, i) => tf.tensor(v, shapes[i]));
    this.weights.forEach((variable, i) => variable.assign(restored[i]));
    this.optimizer.setVelocities(restored.slice(this.weights.length));
    tf.dispose(restored); // the variables keep their own references
    this.iteration = state.iteration;
    this.warmingUp = state.warmingUp;
    this.priorSeconds = state.wallSeconds;
    if (state.window) this.window = state.window;
    return { metricsBytes: state.metricsBytes, eventLine: state.eventLine };
  }

  /** One SGD step on the next batch; the running-error window takes its errors and loss. */
  step(): StepOutcome {
    const { config } = this;
    const stepStart = Date.now();
    const lr = this.learningRate();
    this.batches.write(this.iteration, this.imageBuffer, this.labelBuffer);
    const images = tf.tensor4d(this.imageBuffer, [config.batchSize, 32, 32, 3]);
    const labels = tf.tensor1d(this.labelBuffer, 'int32');
    const result = trainStep(this.model, this.optimizer, images, labels, lr, this.config.precision);
    tf.dispose([images, labels]);
    if (!Number.isFinite(result.loss)) return { loss: result.loss, lr, seconds: 0 };
    this.iteration += 1;
    const seconds = (Date.now() - stepStart) / 1000;
    const w = this.window;
    this.window = {
      errors: w.errors + result.errors,
      images: w.images + config.batchSize,
      loss: w.loss + result.loss,
      steps: w.steps + 1,
      seconds: w.seconds + seconds,
    };
    return { loss: result.loss, lr, seconds };
  }

  /**
   * Closes the running-error window into the fields of a train event and opens a new one; ends
   * ResNet-110's warm-up once training error is below its threshold (§4.2).
   */
  closeWindow(lr: number): Pick<TrainEvent, 'trainError' | 'loss' | 'lr' | 'window' | 'imagesPerSecond'> {
    const w = this.window;
    const trainError = w.errors / w.images;
    if (this.warmingUp && this.config.warmup && trainError < this.config.warmup.untilTrainError) this.warmingUp = false;
    this.window = { ...EMPTY_WINDOW };
    return { trainError, loss: w.loss / w.steps, lr, window: w.steps, imagesPerSecond: w.images / Math.max(w.seconds, 1e-6) };
  }

  /**
   * What is not finite among weights, BN running statistics and velocities (undefined if all
   * are): checked before evaluating or keeping them, since a finite loss can hide NaN running
   * variances (a diverging step's batch statistics).
   */
  nonFiniteState(): string | undefined {
    return this.withVelocities((velocities) => nonFiniteState([...this.weights, ...velocities], this.stateNames));
  }

  /** Test error (and inference-mode training error, if configured) now. */
  evaluate(): Pick<EvalEvent, 'testError' | 'trainEvalError' | 'testImages'> {
    const { model, testSet, trainEvalSet } = this;
    const testError = countErrors(model, testSet.images, testSet.labels) / testSet.count;
    const trainEvalError = trainEvalSet ? countErrors(model, trainEvalSet.images, trainEvalSet.labels) / trainEvalSet.count : undefined;
    return { testError, ...(trainEvalError === undefined ? {} : { trainEvalError }), testImages: testSet.count };
  }

  /** Block-wise responses now, if the run probes. */
  probeBlocks(): BlockProbe[] | undefined {
    return this.probe?.();
  }

  /** Writes the checkpoint: weights, velocities and progress, with the size of metrics.jsonl once `eventLine` (the checkpoint event) is appended. */
  saveCheckpoint(run: RunDirectory, metricsBytes: number, eventLine: string): void {
    this.withVelocities((velocities) =>
      saveCheckpoint(run, [...this.weights, ...velocities], this.stateNames, {
        iteration: this.iteration,
        metricsBytes,
        eventLine,
        warmingUp: this.warmingUp,
        ...(this.config.precision === 'bfloat16' ? { precision: this.config.precision } : {}),
        wallSeconds: this.elapsed(),
        window: this.window,
      }),
    );
  }

  dispose(): void {
    tf.dispose([this.testSet.images, this.testSet.labels]);
    if (this.trainEvalSet) tf.dispose([this.trainEvalSet.images, this.trainEvalSet.labels]);
    this.probe?.dispose();
    this.optimizer.dispose();
    releaseNativeNetwork(this.model);
    this.model.dispose();
  }

  private withVelocities<T>(use: (velocities: tf.Tensor[]) => T): T {
    const velocities = this.optimizer.velocityTensors();
    try {
      return use(velocities);
    } finally {
      tf.dispose(velocities);
    }
  }
}

/**
 * Names the tensors (weights, BN running statistics, velocities) holding NaN or infinite values,
 * with their counts; undefined when everything is finite. A few kernel calls per tensor, one read.
 */
export function nonFiniteState(tensors: tf.Tensor[], names: string[]): string | undefined {
  const counts = tf.tidy(() => tf.stack(tensors.map((t) => tf.logicalNot(tf.isFinite(t)).sum().cast('float32'))).dataSync());
  const bad = names.map((name, i) => ({ name, count: counts[i] })).filter((b) => b.count > 0);
  if (bad.length === 0) return undefined;
  const total = bad.reduce((sum, b) => sum + b.count, 0);
  const listed = bad
    .slice(0, 3)
    .map((b) => `${b.name} (${b.count})`)
    .join(', ');
  return `${total} non-finite values in ${bad.length} tensors (${listed}${bad.length > 3 ? ', ...' : ''})`;
}

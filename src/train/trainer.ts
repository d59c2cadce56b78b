import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend';
import { CifarDataset, IMAGE_BYTES, takeFirst } from '../data/cifar';
import { PAPER_AUGMENTATION, TrainingBatches } from '../data/preprocess';
import { exampleTensors } from '../data/tensors';
import { summarize } from '../models/summary';
import { buildModel, parseModelName } from '../models/zoo';
import { RunDescriptor, RunEndEvent, RunEvent, SCHEMA_VERSION } from 'reslab-protocol';
import { MetricsLog, RunDirectory, runSplit } from '../runs';
import { hasCheckpoint, loadCheckpoint, RunningWindow, saveCheckpoint, tidyCheckpoints } from './checkpoint';
import { RunLock } from './run-lock';
import { learningRate, runIdOf, TrainConfig, validateConfig, validateConfigForData } from './config';
import { createProbe, Probe } from '../probes';
import { SgdMomentum } from './optimizer';
import { countErrors, releaseNativeNetwork, stepEngine, trainableVariables, trainStep } from './step';

/** Progress of every step, for progress bars (not part of the event stream). */
export interface StepProgress {
  iteration: number;
  iterations: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  elapsedSeconds: number;
}

export interface TrainerOptions {
  /** Directory of this run (config.json, metrics.jsonl, checkpoint/); none: nothing is written. */
  runDir?: string;
  onStep?: (progress: StepProgress) => void;
}

/** Thrown when the loss stops being finite; the last good checkpoint is kept. */
export class DivergenceError extends Error {}

/**
 * Trains one CIFAR net by the paper's protocol (or a scaled preset) and emits ONE stream of
 * {@link RunEvent}s: run_start, train (running error), eval, probe, checkpoint, run_end.
 * With a run directory it writes config.json, appends every event to metrics.jsonl and keeps a
 * resumable checkpoint; `run()` resumes from it exactly.
 */
export class Trainer {
  readonly runId: string;
  private readonly listeners: Array<(event: RunEvent) => void> = [];
  private stopRequested: string | undefined;
  /** The run directory, when there is one; its {@link MetricsLog} is the stream's first listener. */
  private readonly runDirectory: RunDirectory | undefined;

  constructor(
    readonly config: TrainConfig,
    readonly data: CifarDataset,
    readonly options: TrainerOptions = {},
  ) {
    validateConfig(config);
    this.runId = runIdOf(config);
    if (options.runDir) {
      this.runDirectory = new RunDirectory(options.runDir);
      this.listeners.push(new MetricsLog(this.runDirectory).record);
    }
  }

  /** Subscribes to the event stream; returns an unsubscribe function. */
  on(listener: (event: RunEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Asks the run to stop after the current step; it writes a checkpoint and ends with status `stopped`. */
  stop(reason = 'stop requested'): void {
    this.stopRequested = reason;
  }

  private emit(event: RunEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /**
   * Runs (or resumes) training to the configured number of iterations. The run directory is locked
   * for the whole run: a second process on the same run fails with {@link RunLockedError}.
   */
  async run(): Promise<RunEndEvent> {
    // Everything that can fail on the settings fails before the run directory is touched.
    validateConfigForData(this.config, this.data.train.count, this.data.test.count);
    const dir = this.options.runDir;
    if (!dir) return this.train();
    fs.mkdirSync(dir, { recursive: true });
    const lock = RunLock.acquire(dir);
    try {
      tidyCheckpoints(dir); // only the lock holder may touch the checkpoints
      return await this.train();
    } finally {
      if (fs.existsSync(dir)) tidyCheckpoints(dir);
      lock.release();
    }
  }

  private async train(): Promise<RunEndEvent> {
    const { config } = this;
    this.runDirectory?.claim(config);
    const started = Date.now();
    const id = parseModelName(config.model);
    const model = buildModel(config.model, { ...config.modelOptions, seed: config.seed });
    const optimizer = new SgdMomentum(trainableVariables(model), { momentum: config.momentum, weightDecay: config.weightDecay });
    // Everything a checkpoint holds: all model weights (BN running statistics too) and velocities.
    const weights = model.weights.map((w) => w.read() as tf.Variable);
    const stateNames = [...model.weights.map((w) => w.originalName), ...optimizer.velocityNames()];

    const { train: trainSplit, evaluation: evalSplit, mean } = runSplit(this.data, config);
    const batches = new TrainingBatches(trainSplit, mean, config.batchSize, config.seed, config.augment ? PAPER_AUGMENTATION : undefined);
    const testSet = exampleTensors(evalSplit, mean);
    const trainEvalSet = config.trainEvalImages > 0 ? exampleTensors(takeFirst(trainSplit, config.trainEvalImages), mean) : undefined;
    let probe: Probe | undefined;
    if (config.probeEvery > 0) {
      const probeSet = exampleTensors(takeFirst(trainSplit, config.probeImages), mean);
      probe = createProbe(model, probeSet.images, probeSet.labels);
      tf.dispose([probeSet.images, probeSet.labels]);
    }

    let iteration = 0;
    let warmingUp = config.warmup !== undefined;
    let priorSeconds = 0;
    let window: RunningWindow = { errors: 0, images: 0, loss: 0, steps: 0, seconds: 0 };
    const runDir = this.options.runDir;
    if (runDir && hasCheckpoint(runDir)) {
      const shapes = [...weights, ...optimizer.variables].map((t) => t.shape);
      const { state, values } = loadCheckpoint(
        runDir,
        shapes.map((shape, i) => ({ name: stateNames[i], shape })),
      );
      const restored = values.map((v, i) => tf.tensor(v, shapes[i]));
      weights.forEach((variable, i) => variable.assign(restored[i]));
      optimizer.setVelocities(restored.slice(weights.length));
      tf.dispose(restored); // the variables keep their own references
      iteration = state.iteration;
      warmingUp = state.warmingUp;
      priorSeconds = state.wallSeconds;
      if (state.window) window = state.window;
      // Events after the checkpoint are regenerated: drop them so no line is duplicated.
      this.runDirectory?.truncateMetrics(state.metricsBytes);
    } else {
      this.runDirectory?.truncateMetrics(0); // started before but no checkpoint yet: start over
    }

    const run: RunDescriptor = {
      model: config.model,
      family: id.family,
      depth: id.depth,
      width: config.modelOptions.width ?? 1,
      shortcut: config.modelOptions.shortcut ?? 'A',
      seed: config.seed,
      iterations: config.iterations,
      batchSize: config.batchSize,
      params: summarize(model).params,
      preset: config.preset,
      trainImages: trainSplit.count,
    };
    const base = () => ({ runId: this.runId, time: Date.now() });
    this.emit({
      ...base(),
      type: 'run_start',
      schema: SCHEMA_VERSION,
      run,
      iteration,
      backend: selectBackend().kind,
      engine: stepEngine(model),
    });

    const imageBuffer = new Float32Array(config.batchSize * IMAGE_BYTES);
    const labelBuffer = new Int32Array(config.batchSize);
    const elapsed = () => priorSeconds + (Date.now() - started) / 1000;

    // Weights, BN running statistics and velocities must all be finite before they are evaluated or
    // kept: a finite loss can hide NaN running variances (a diverging step's batch statistics).
    const assertFiniteState = (before: string, velocities: tf.Tensor[]) => {
      const problem = nonFiniteState([...weights, ...velocities], stateNames);
      if (!problem) return;
      const kept = runDir && hasCheckpoint(runDir) ? ` The last good checkpoint in ${runDir} is kept.` : '';
      const message = `${problem} at iteration ${iteration} (lr ${learningRate(config, iteration, warmingUp)}), found before ${before}: training diverged.${kept}`;
      finish('failed', message);
      throw new DivergenceError(message);
    };
    const withVelocities = <T>(use: (velocities: tf.Tensor[]) => T): T => {
      const velocities = optimizer.velocityTensors();
      try {
        return use(velocities);
      } finally {
        tf.dispose(velocities);
      }
    };
    const checkpoint = () => {
      if (!runDir) return;
      withVelocities((velocities) => {
        assertFiniteState('writing a checkpoint', velocities);
        this.emit({ ...base(), type: 'checkpoint', iteration });
        const metricsBytes = this.runDirectory?.metricsBytes() ?? 0;
        saveCheckpoint(runDir, [...weights, ...velocities], stateNames, {
          iteration,
          metricsBytes,
          warmingUp,
          wallSeconds: elapsed(),
          window,
        });
      });
    };
    const evaluate = () => {
      withVelocities((velocities) => assertFiniteState('evaluating', velocities));
      const testErrors = countErrors(model, testSet.images, testSet.labels);
      const trainEvalError = trainEvalSet ? countErrors(model, trainEvalSet.images, trainEvalSet.labels) / trainEvalSet.count : undefined;
      this.emit({
        ...base(),
        type: 'eval',
        iteration,
        testError: testErrors / testSet.count,
        ...(trainEvalError === undefined ? {} : { trainEvalError }),
        testImages: testSet.count,
      });
    };
    const finish = (status: RunEndEvent['status'], message?: string): RunEndEvent => {
      const event: RunEndEvent = { ...base(), type: 'run_end', iteration, status, ...(message ? { message } : {}), wallSeconds: elapsed() };
      this.emit(event);
      return event;
    };

    try {
      if (iteration === 0 && !this.stopRequested) {
        evaluate();
        if (probe) this.emit({ ...base(), type: 'probe', iteration, blocks: probe() });
      }
      while (iteration < config.iterations) {
        if (this.stopRequested) {
          checkpoint();
          return finish('stopped', this.stopRequested);
        }
        const stepStart = Date.now();
        const lr = learningRate(config, iteration, warmingUp);
        batches.write(iteration, imageBuffer, labelBuffer);
        const images = tf.tensor4d(imageBuffer, [config.batchSize, 32, 32, 3]);
        const labels = tf.tensor1d(labelBuffer, 'int32');
        const result = trainStep(model, optimizer, images, labels, lr);
        tf.dispose([images, labels]);
        if (!Number.isFinite(result.loss)) {
          const kept = runDir && hasCheckpoint(runDir) ? ` The last good checkpoint in ${runDir} is kept.` : '';
          const message = `the loss became ${result.loss} at iteration ${iteration + 1} (lr ${lr}): training diverged.${kept}`;
          finish('failed', message);
          throw new DivergenceError(message);
        }
        iteration += 1;
        const seconds = (Date.now() - stepStart) / 1000;
        window = {
          errors: window.errors + result.errors,
          images: window.images + config.batchSize,
          loss: window.loss + result.loss,
          steps: window.steps + 1,
          seconds: window.seconds + seconds,
        };
        this.options.onStep?.({
          iteration,
          iterations: config.iterations,
          loss: result.loss,
          lr,
          imagesPerSecond: config.batchSize / Math.max(seconds, 1e-6),
          elapsedSeconds: elapsed(),
        });
        if (iteration % config.logEvery === 0 || iteration === config.iterations) {
          const trainError = window.errors / window.images;
          this.emit({
            ...base(),
            type: 'train',
            iteration,
            trainError,
            loss: window.loss / window.steps,
            lr,
            window: window.steps,
            imagesPerSecond: window.images / Math.max(window.seconds, 1e-6),
          });
          // §4.2: ResNet-110 warms up at lr 0.01 until training error is below 80%.
          if (warmingUp && config.warmup && trainError < config.warmup.untilTrainError) warmingUp = false;
          window = { errors: 0, images: 0, loss: 0, steps: 0, seconds: 0 };
        }
        if (probe && iteration % config.probeEvery === 0) {
          this.emit({ ...base(), type: 'probe', iteration, blocks: probe() });
        }
        if (iteration % config.evalEvery === 0 || iteration === config.iterations) evaluate();
        if (iteration % config.checkpointEvery === 0 || iteration === config.iterations) checkpoint();
        // Let signal handlers and I/O run between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.runDirectory) await model.save(`file://${this.runDirectory.modelDir}`);
      return finish('completed');
    } finally {
      tf.dispose([testSet.images, testSet.labels]);
      if (trainEvalSet) tf.dispose([trainEvalSet.images, trainEvalSet.labels]);
      probe?.dispose();
      optimizer.dispose();
      releaseNativeNetwork(model);
      model.dispose();
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

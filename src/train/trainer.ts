import * as fs from 'fs';
import { RunEndEvent, RunEvent, SCHEMA_VERSION } from 'reslab-protocol';
import { selectBackend } from '../backend';
import { CifarDataset } from '../data/cifar';
import { dataFingerprint, eventLine, MetricsLog, RunDirectory } from '../runs';
import { hasCheckpoint, InvalidCheckpointError, tidyCheckpoints } from './checkpoint';
import { runIdOf, SettingsError, TrainConfig, validateConfig, validateConfigForData } from './config';
import { RunLock } from './run-lock';
import { TrainingSession } from './session';
import { precisionProblem, stepEngine } from './step';

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
    const precisionRefused = precisionProblem(config.precision ?? 'float32');
    if (precisionRefused) throw new SettingsError(`--precision bf16 cannot run here: ${precisionRefused}`);
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
    const run = this.runDirectory;
    if (!run) return this.train();
    fs.mkdirSync(run.dir, { recursive: true });
    const lock = RunLock.acquire(run);
    try {
      tidyCheckpoints(run); // only the lock holder may touch the checkpoints
      return await this.train();
    } finally {
      if (fs.existsSync(run.dir)) tidyCheckpoints(run);
      lock.release();
    }
  }

  private async train(): Promise<RunEndEvent> {
    const { config } = this;
    this.runDirectory?.claim(config, dataFingerprint(this.data, config));
    const session = new TrainingSession(config, this.data);
    try {
      this.resume(session);
      this.emit({
        ...this.stamp(),
        type: 'run_start',
        schema: SCHEMA_VERSION,
        run: session.descriptor(),
        iteration: session.iteration,
        backend: selectBackend().kind,
        engine: stepEngine(session.model, config.precision),
      });
      if (session.iteration === 0 && !this.stopRequested) {
        this.evaluate(session);
        this.probe(session);
      }
      const due = (every: number) => session.iteration % every === 0 || session.iteration === config.iterations;
      while (session.iteration < config.iterations) {
        if (this.stopRequested) {
          this.checkpoint(session);
          return this.finish(session, 'stopped', this.stopRequested);
        }
        const { loss, lr, seconds } = session.step();
        if (!Number.isFinite(loss)) this.diverged(session, `the loss became ${loss} at iteration ${session.iteration + 1} (lr ${lr})`);
        this.options.onStep?.({
          iteration: session.iteration,
          iterations: config.iterations,
          loss,
          lr,
          imagesPerSecond: config.batchSize / Math.max(seconds, 1e-6),
          elapsedSeconds: session.elapsed(),
        });
        if (due(config.logEvery)) this.emit({ ...this.stamp(), type: 'train', iteration: session.iteration, ...session.closeWindow(lr) });
        if (config.probeEvery > 0 && session.iteration % config.probeEvery === 0) this.probe(session);
        if (due(config.evalEvery)) this.evaluate(session);
        if (due(config.checkpointEvery)) this.checkpoint(session);
        await new Promise((resolve) => setImmediate(resolve)); // let signal handlers and I/O run between steps
      }
      if (this.runDirectory) await session.model.save(`file://${this.runDirectory.modelDir}`);
      return this.finish(session, 'completed');
    } finally {
      session.dispose();
    }
  }

  /**
   * Resumes from the run directory's checkpoint; events after it are regenerated, so metrics.jsonl
   * is cut back to it. A log shorter than the checkpoint says is not cut (a checkpoint that does not
   * fit its log is not trusted), except for the checkpoint's own event, which a kill right after
   * the checkpoint was written kept from the log: it is appended.
   */
  private resume(session: TrainingSession): void {
    const run = this.runDirectory;
    if (!run) return;
    const restored = session.restore(run);
    if (!restored) return run.truncateMetrics(0); // no checkpoint yet: start over
    const { metricsBytes, eventLine: line } = restored;
    const size = run.metricsBytes();
    if (line && size === metricsBytes - Buffer.byteLength(line)) fs.appendFileSync(run.metricsFile, line);
    else if (size < metricsBytes)
      throw new InvalidCheckpointError(
        `the checkpoint in ${run.checkpointDir} recorded ${metricsBytes} bytes of ${run.metricsFile}, which has ${size}: they do not belong together. Nothing was changed; delete the checkpoint to start the run over`,
      );
    run.truncateMetrics(metricsBytes);
  }

  private stamp(): { runId: string; time: number } {
    return { runId: this.runId, time: Date.now() };
  }

  /** Ends the run as failed and throws {@link DivergenceError}; the last good checkpoint stays. */
  private diverged(session: TrainingSession, what: string): never {
    const run = this.runDirectory;
    const kept = run && hasCheckpoint(run) ? ` The last good checkpoint in ${run.dir} is kept.` : '';
    const message = `${what}: training diverged.${kept}`;
    this.finish(session, 'failed', message);
    throw new DivergenceError(message);
  }

  /** Weights, BN statistics and velocities must be finite before they are evaluated or kept. */
  private assertFinite(session: TrainingSession, before: string): void {
    const problem = session.nonFiniteState();
    if (problem)
      this.diverged(session, `${problem} at iteration ${session.iteration} (lr ${session.learningRate()}), found before ${before}`);
  }

  private evaluate(session: TrainingSession): void {
    this.assertFinite(session, 'evaluating');
    this.emit({ ...this.stamp(), type: 'eval', iteration: session.iteration, ...session.evaluate() });
  }

  private probe(session: TrainingSession): void {
    const blocks = session.probeBlocks();
    if (blocks) this.emit({ ...this.stamp(), type: 'probe', iteration: session.iteration, blocks });
  }

  private checkpoint(session: TrainingSession): void {
    if (!this.runDirectory) return;
    this.assertFinite(session, 'writing a checkpoint');
    // The checkpoint first, then its event: the log never names a checkpoint that is not on disk.
    const event: RunEvent = { ...this.stamp(), type: 'checkpoint', iteration: session.iteration };
    const line = eventLine(event);
    session.saveCheckpoint(this.runDirectory, this.runDirectory.metricsBytes() + Buffer.byteLength(line), line);
    this.emit(event);
  }

  private finish(session: TrainingSession, status: RunEndEvent['status'], message?: string): RunEndEvent {
    const event: RunEndEvent = {
      ...this.stamp(),
      type: 'run_end',
      iteration: session.iteration,
      status,
      ...(message ? { message } : {}),
      wallSeconds: session.elapsed(),
    };
    this.emit(event);
    return event;
  }
}

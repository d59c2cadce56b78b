import { RunEndEvent, RunEvent } from 'reslab-protocol';
import { CifarDataset } from '../data/cifar';
import { RunDirectory, RunsRoot } from '../runs';
import { runIdOf, TrainConfig, validateConfigForData } from './config';
import { StepProgress, Trainer } from './trainer';

/**
 * Launching a run, in one place for every caller (`reslab train`, the sweep, the notebook kernel):
 * the config is checked against the data, a finished run is not trained again, an unfinished one
 * is locked and trained or resumed from its checkpoint. Nobody else constructs a {@link Trainer}
 * for a run directory.
 */

/**
 * A request to stop, made by whoever owns the interrupt (a signal handler, a notebook's interrupt
 * button) and honoured by the running trainer (it checkpoints after the current step) and by the
 * sweep (it starts no further run).
 */
export class StopSignal {
  private reason: string | undefined;
  private readonly handlers = new Set<(reason: string) => void>();

  /** Why a stop was requested, or undefined. */
  get requested(): string | undefined {
    return this.reason;
  }

  request(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    for (const handler of this.handlers) handler(reason);
  }

  /** Calls `handler` on the request (at once if it was made already); returns the unsubscribe function. */
  subscribe(handler: (reason: string) => void): () => void {
    if (this.reason !== undefined) handler(this.reason);
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
}

export interface LaunchOptions {
  /** Receive every event of the run (a progress line, a live view). */
  listeners?: Array<(event: RunEvent) => void>;
  /** Every step's progress (progress bars; not part of the event stream). */
  onStep?: (progress: StepProgress) => void;
  stop?: StopSignal;
  /** A run that finished before is not trained again; with this, its events are replayed to the listeners (to show it). */
  replayFinished?: boolean;
}

/** What a launch did. */
export interface Launched {
  run: RunDirectory;
  end: RunEndEvent;
  /** The run had finished before: nothing was trained. */
  alreadyFinished: boolean;
}

/**
 * Trains `config` into `root/<run id>`, or resumes it, or (when it finished before) says so
 * without touching it. Throws on a setting the data cannot honour before anything is written, and
 * {@link RunLockedError} when another process holds the run.
 */
export async function launchRun(config: TrainConfig, data: CifarDataset, root: RunsRoot, options: LaunchOptions = {}): Promise<Launched> {
  validateConfigForData(config, data.train.count, data.test.count);
  const run = root.run(runIdOf(config));
  const finished = run.completed();
  if (finished) {
    if (options.replayFinished) for (const event of run.readEvents()) for (const listener of options.listeners ?? []) listener(event);
    return { run, end: finished, alreadyFinished: true };
  }
  const trainer = new Trainer(config, data, { runDir: run.dir, onStep: options.onStep });
  for (const listener of options.listeners ?? []) trainer.on(listener);
  const unsubscribe = options.stop?.subscribe((reason) => trainer.stop(reason));
  try {
    return { run, end: await trainer.run(), alreadyFinished: false };
  } finally {
    unsubscribe?.();
  }
}

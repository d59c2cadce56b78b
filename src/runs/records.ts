import { EvalEvent, ProbeEvent, RunDescriptor, RunEndEvent, RunEvent, TrainEvent } from 'reslab-protocol';
import { RunsRoot } from './root';

/** One run's curves, read from its metrics.jsonl. */
export interface RunRecord {
  runId: string;
  run: RunDescriptor;
  train: TrainEvent[];
  eval: EvalEvent[];
  probes: ProbeEvent[];
  end?: RunEndEvent;
}

/**
 * Collects the events of one run into curves (a resumed run's events are already de-duplicated:
 * resuming truncates the log to its checkpoint). A log whose training or evaluation iterations
 * repeat or go backwards, or that ends twice, was written by two processes at once: refused.
 */
export function recordOf(events: RunEvent[], source = 'metrics.jsonl'): RunRecord | undefined {
  const start = events.find((e) => e.type === 'run_start');
  if (!start || start.type !== 'run_start') return undefined;
  for (const type of ['train', 'eval', 'probe'] as const) {
    const iterations = events.filter((e) => e.type === type).map((e) => (e as TrainEvent | EvalEvent | ProbeEvent).iteration);
    const bad = iterations.findIndex((it, i) => i > 0 && it <= iterations[i - 1]);
    if (bad > 0) {
      throw new Error(`${source}: ${type} events at iteration ${iterations[bad - 1]} then ${iterations[bad]}: the log repeats or goes back (two processes wrote this run?); it cannot be reported`);
    }
  }
  const ends = events.filter((e): e is RunEndEvent => e.type === 'run_end');
  if (ends.length > 1 || (ends.length === 1 && events[events.length - 1] !== ends[0])) {
    throw new Error(`${source}: the run ends ${ends.length} times (two processes wrote this run?); it cannot be reported`);
  }
  return {
    runId: start.runId,
    run: start.run,
    train: events.filter((e): e is TrainEvent => e.type === 'train'),
    eval: events.filter((e): e is EvalEvent => e.type === 'eval'),
    probes: events.filter((e): e is ProbeEvent => e.type === 'probe'),
    end: ends[ends.length - 1],
  };
}

/** Every run under `runsDir` (one sub-directory each), sorted by family, depth, seed. */
export function loadRuns(runsDir: string): RunRecord[] {
  const records: RunRecord[] = [];
  for (const run of new RunsRoot(runsDir).runs()) {
    const record = recordOf(run.readEvents(), run.metricsFile);
    if (record) records.push(record);
  }
  return records.sort((a, b) => a.run.family.localeCompare(b.run.family) || a.run.depth - b.run.depth || a.run.seed - b.run.seed);
}

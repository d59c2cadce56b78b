/**
 * The one schema of what flows from a training run to its consumers: metrics.jsonl on disk,
 * reports, the tslab kernel extension and the JupyterLab plugin. Dependency-free, so the plugin
 * can import it too. Bump SCHEMA_VERSION (and the MIME type) on any incompatible change.
 */

export const SCHEMA_VERSION = 1;

/** Events of one run, one JSON object per line in metrics.jsonl. */
export type RunEvent = RunStartEvent | TrainEvent | EvalEvent | ProbeEvent | CheckpointEvent | RunEndEvent;

interface EventBase {
  /** Stable id of the run, e.g. `plain56-w0.5-s0`. */
  runId: string;
  /** Wall-clock time (ms since the epoch) when the event was made. */
  time: number;
}

/** What a run is: enough to label it, group it and compare it with the paper. */
export interface RunDescriptor {
  model: string;
  family: 'resnet' | 'plain';
  depth: number;
  width: number;
  shortcut: string;
  seed: number;
  iterations: number;
  batchSize: number;
  params: number;
  preset: string;
  /** Training images the run samples from (absent in runs written before it was recorded). */
  trainImages?: number;
}

export interface RunStartEvent extends EventBase {
  type: 'run_start';
  schema: number;
  run: RunDescriptor;
  /** Iteration the run starts from: 0, or the checkpoint's when resumed. */
  iteration: number;
  backend: string;
  /** How steps run, e.g. `native step (oneDNN kernels)` or `tfjs autodiff (layer class Dropout (drop))`. */
  engine?: string;
}

/** Running training statistics over the last `window` iterations. */
export interface TrainEvent extends EventBase {
  type: 'train';
  iteration: number;
  /** Fraction of misclassified training examples in the window (augmented, training mode). */
  trainError: number;
  loss: number;
  lr: number;
  window: number;
  imagesPerSecond: number;
}

/** Evaluation in inference mode. */
export interface EvalEvent extends EventBase {
  type: 'eval';
  iteration: number;
  testError: number;
  /** Error on a fixed subset of training images in inference mode, when measured. */
  trainEvalError?: number;
  testImages: number;
}

/** Block-wise statistics on a fixed probe batch (see src/probes). */
export interface ProbeEvent extends EventBase {
  type: 'probe';
  iteration: number;
  blocks: BlockProbe[];
}

export interface BlockProbe {
  /** Layer-name prefix of the block, e.g. `stage2_block3`. */
  block: string;
  /** Std of each 3x3 conv's response after BN, before addition/ReLU (paper Fig. 7), in order. */
  responseStd: number[];
  inputNorm: number;
  branchNorm: number;
  outputNorm: number;
  /** ||F(x)|| / ||x||. */
  branchRatio: number;
  gradNorm: number;
  deadReluFraction: number;
}

export interface CheckpointEvent extends EventBase {
  type: 'checkpoint';
  iteration: number;
}

export interface RunEndEvent extends EventBase {
  type: 'run_end';
  iteration: number;
  status: 'completed' | 'stopped' | 'failed';
  message?: string;
  wallSeconds: number;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks every field of a {@link RunDescriptor} (numbers are finite numbers, names are strings), so
 * that nothing but text and numbers ever reaches HTML, SVG or Plotly; returns a message or undefined.
 */
export function runDescriptorProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'run descriptor is not an object';
  const run = value as Record<string, unknown>;
  if (run.family !== 'resnet' && run.family !== 'plain')
    return `run descriptor family ${JSON.stringify(run.family)} is not 'resnet' or 'plain'`;
  for (const key of ['model', 'shortcut', 'preset']) {
    if (typeof run[key] !== 'string') return `run descriptor ${key} is not a string`;
  }
  for (const key of ['depth', 'width', 'seed', 'iterations', 'batchSize', 'params']) {
    if (!isFiniteNumber(run[key])) return `run descriptor ${key} is not a number (got ${JSON.stringify(run[key])?.slice(0, 40)})`;
  }
  if (run.trainImages !== undefined && !isFiniteNumber(run.trainImages)) return 'run descriptor trainImages is not a number';
  return undefined;
}

const EVENT_TYPES = new Set(['run_start', 'train', 'eval', 'probe', 'checkpoint', 'run_end']);

/** Checks that a parsed value is a {@link RunEvent}; returns an error message or undefined. */
export function validateEvent(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'event is not an object';
  const event = value as Record<string, unknown>;
  if (typeof event.type !== 'string' || !EVENT_TYPES.has(event.type)) return `unknown event type ${JSON.stringify(event.type)}`;
  if (typeof event.runId !== 'string' || event.runId.length === 0) return 'event has no runId';
  if (event.type !== 'run_start' && (typeof event.iteration !== 'number' || !Number.isFinite(event.iteration))) {
    return `${event.type} event has no numeric iteration`;
  }
  if (typeof event.iteration === 'number' && event.iteration < 0) return `${event.type} event has a negative iteration ${event.iteration}`;
  if (event.type === 'run_start') {
    if (event.schema !== SCHEMA_VERSION) return `run_start has schema ${JSON.stringify(event.schema)}, expected ${SCHEMA_VERSION}`;
    const problem = runDescriptorProblem(event.run);
    if (problem) return `run_start: ${problem}`;
    if (!isFiniteNumber(event.iteration)) return 'run_start has no numeric iteration';
  }
  return undefined;
}

/** Parses metrics.jsonl text; throws on a malformed line, naming it. A torn last line is skipped. */
export function parseMetricsJsonl(text: string, source = 'metrics.jsonl'): RunEvent[] {
  const lines = text.split('\n');
  const events: RunEvent[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // A process killed mid-write leaves a partial last line: it is not data.
      if (index === lines.length - 1) return;
      throw new Error(`${source}:${index + 1}: not valid JSON`);
    }
    const problem = validateEvent(parsed);
    if (problem) throw new Error(`${source}:${index + 1}: ${problem}`);
    events.push(parsed as RunEvent);
  });
  return events;
}

/** MIME type of the live run view (kernel extension → JupyterLab plugin). */
export const RUN_VIEW_MIME = 'application/vnd.reslab.run.v1+json';

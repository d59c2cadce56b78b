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
  /**
   * What sets the run apart from its net's defaults, in words (`pre-activation`, `zero-init
   * residual`, `no warm-up`); absent for the paper's nets as they are.
   */
  variant?: string;
  /** The precision the run trains in: `bf16` for mixed precision; absent for float32 (and in runs written before it was recorded). */
  precision?: 'fp32' | 'bf16';
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

/** Longest text a field may hold: run ids, names and messages are bounded, so no log can make a view unbounded. */
export const MAX_TEXT = { id: 256, name: 128, message: 4000 } as const;

/** How a field is checked: a finite number, a count (an integer >= 0), a fraction in [0, 1], or text of at most n characters. */
type FieldKind = 'number' | 'count' | 'fraction' | { text: number } | { oneOf: readonly string[] };

const shown = (value: unknown) => (JSON.stringify(value) ?? String(value)).slice(0, 40);

/** The problem with `value` as a field of kind `kind`, or undefined. */
function fieldProblem(name: string, value: unknown, kind: FieldKind): string | undefined {
  if (kind === 'number' || kind === 'count' || kind === 'fraction') {
    if (!isFiniteNumber(value)) return `${name} is not a number (got ${shown(value)})`;
    if (kind === 'count' && !(Number.isInteger(value) && value >= 0)) return `${name} is not a count (got ${shown(value)})`;
    if (kind === 'fraction' && !(value >= 0 && value <= 1)) return `${name} is not a fraction in [0, 1] (got ${shown(value)})`;
    return undefined;
  }
  if ('oneOf' in kind)
    return kind.oneOf.includes(value as string) ? undefined : `${name} is not one of ${kind.oneOf.join(', ')} (got ${shown(value)})`;
  if (typeof value !== 'string') return `${name} is not a string (got ${shown(value)})`;
  return value.length > kind.text ? `${name} is longer than ${kind.text} characters` : undefined;
}

/** Checks the `fields` of `record` (optional ones may be absent); the first problem, named `<prefix> <field>`. */
function fieldsProblem(
  prefix: string,
  record: Record<string, unknown>,
  fields: Record<string, FieldKind>,
  optional: Record<string, FieldKind> = {},
): string | undefined {
  for (const [name, kind] of Object.entries(fields)) {
    const problem = fieldProblem(`${prefix}${name}`, record[name], kind);
    if (problem) return problem;
  }
  for (const [name, kind] of Object.entries(optional)) {
    if (record[name] === undefined) continue;
    const problem = fieldProblem(`${prefix}${name}`, record[name], kind);
    if (problem) return problem;
  }
  return undefined;
}

const DESCRIPTOR: Record<string, FieldKind> = {
  model: { text: MAX_TEXT.name },
  family: { oneOf: ['resnet', 'plain'] },
  depth: 'count',
  width: 'number',
  shortcut: { text: MAX_TEXT.name },
  seed: 'number',
  iterations: 'count',
  batchSize: 'count',
  params: 'count',
  preset: { text: MAX_TEXT.name },
};

/**
 * Checks every field of a {@link RunDescriptor} (numbers are finite numbers, names are bounded
 * text), so that nothing but text and numbers ever reaches HTML, SVG or Plotly; returns a message or undefined.
 */
export function runDescriptorProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'run descriptor is not an object';
  return fieldsProblem('run descriptor ', value as Record<string, unknown>, DESCRIPTOR, {
    trainImages: 'count',
    variant: { text: MAX_TEXT.name },
    precision: { oneOf: ['fp32', 'bf16'] },
  });
}

const BLOCK: Record<string, FieldKind> = {
  block: { text: MAX_TEXT.name },
  inputNorm: 'number',
  branchNorm: 'number',
  outputNorm: 'number',
  branchRatio: 'number',
  gradNorm: 'number',
  deadReluFraction: 'fraction',
};

/** The most blocks a probe may have (ResNet-1202 has 600) and responses a block may have. */
const MAX_BLOCKS = 10_000;
const MAX_RESPONSES = 16;

/** The problem with a {@link BlockProbe} (every field), named `blocks[index]`, or undefined. */
export function blockProblem(value: unknown, index: number): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `blocks[${index}] is not an object`;
  const block = value as Record<string, unknown>;
  const problem = fieldsProblem(`blocks[${index}].`, block, BLOCK);
  if (problem) return problem;
  const responses = block.responseStd;
  if (!Array.isArray(responses) || responses.length > MAX_RESPONSES || !responses.every(isFiniteNumber))
    return `blocks[${index}].responseStd is not a list of at most ${MAX_RESPONSES} finite numbers`;
  return undefined;
}

/** Every field of every event type, by type: required, then optional. */
const EVENT_FIELDS: Record<RunEvent['type'], [Record<string, FieldKind>, Record<string, FieldKind>?]> = {
  run_start: [{ iteration: 'count', backend: { text: MAX_TEXT.name } }, { engine: { text: MAX_TEXT.message } }],
  train: [{ iteration: 'count', trainError: 'fraction', loss: 'number', lr: 'number', window: 'count', imagesPerSecond: 'number' }],
  eval: [{ iteration: 'count', testError: 'fraction', testImages: 'count' }, { trainEvalError: 'fraction' }],
  probe: [{ iteration: 'count' }],
  checkpoint: [{ iteration: 'count' }],
  run_end: [
    { iteration: 'count', status: { oneOf: ['completed', 'stopped', 'failed'] }, wallSeconds: 'number' },
    { message: { text: MAX_TEXT.message } },
  ],
};

/**
 * Checks that a parsed value is a {@link RunEvent}, every field of it (numbers finite where the
 * schema has numbers, errors fractions, counts integers, text bounded); returns the first problem,
 * naming the field, or undefined. Every consumer gets events through it: the report, the notebook
 * kernel's view, the sidebar.
 */
export function validateEvent(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'event is not an object';
  const event = value as Record<string, unknown>;
  if (typeof event.type !== 'string' || !(event.type in EVENT_FIELDS)) return `unknown event type ${shown(event.type)}`;
  const type = event.type as RunEvent['type'];
  if (typeof event.runId !== 'string' || event.runId.length === 0) return 'event has no runId';
  if (event.runId.length > MAX_TEXT.id) return `runId is longer than ${MAX_TEXT.id} characters`;
  const base = fieldProblem('time', event.time, 'number');
  if (base) return `${type} event: ${base}`;
  const [required, optional] = EVENT_FIELDS[type];
  const problem = fieldsProblem('', event, required, optional);
  if (problem) return `${type} event: ${problem}`;
  if (type === 'run_start') {
    if (event.schema !== SCHEMA_VERSION) return `run_start has schema ${shown(event.schema)}, expected ${SCHEMA_VERSION}`;
    const descriptor = runDescriptorProblem(event.run);
    if (descriptor) return `run_start: ${descriptor}`;
  }
  if (type === 'probe') {
    const blocks = event.blocks;
    if (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS) return `probe event: blocks is not a list of at most ${MAX_BLOCKS} blocks`;
    for (let b = 0; b < blocks.length; b++) {
      const bad = blockProblem(blocks[b], b);
      if (bad) return `probe event: ${bad}`;
    }
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

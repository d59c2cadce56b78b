/**
 * The live run view: what the kernel extension sends to the front end under RUN_VIEW_MIME, and
 * the builder that folds the event stream into it. Dependency-free (shared with the plugin).
 */
import {
  BlockProbe,
  blockProblem,
  MAX_TEXT,
  RUN_VIEW_MIME,
  RunDescriptor,
  runDescriptorProblem,
  RunEvent,
  SCHEMA_VERSION,
  validateEvent,
} from './events';

/** A downsampled curve: parallel arrays. */
export interface Curve {
  iteration: number[];
  value: number[];
}

/** Block-wise probe history: `values[b][k]` is block b at `iteration[k]`. */
export interface ProbeHistory {
  blocks: string[];
  iteration: number[];
  branchRatio: number[][];
  outputNorm: number[][];
  /** The latest probe of every block. */
  latest: BlockProbe[];
}

/** One run in the live view. */
export interface RunView {
  runId: string;
  run: RunDescriptor;
  status: 'running' | 'completed' | 'stopped' | 'failed';
  message?: string;
  iteration: number;
  imagesPerSecond?: number;
  trainError: Curve;
  testError: Curve;
  trainEvalError: Curve;
  loss: Curve;
  probes?: ProbeHistory;
}

/** The payload of one display / update_display message. */
export interface RunViewPayload {
  schema: number;
  title: string;
  backend?: string;
  /** Wall-clock ms when the payload was made; the front end keeps the newest per display. */
  updated: number;
  runs: RunView[];
}

export { RUN_VIEW_MIME };

/**
 * Keeps at most `max` points, evenly spaced by index, always including the first and the last
 * point (the latest value must never be dropped).
 */
export function downsample(curve: Curve, max: number): Curve {
  const n = curve.iteration.length;
  if (n <= max) return { iteration: [...curve.iteration], value: [...curve.value] };
  const iteration: number[] = [];
  const value: number[] = [];
  const step = (n - 1) / (max - 1);
  let last = -1;
  for (let k = 0; k < max; k++) {
    const i = k === max - 1 ? n - 1 : Math.round(k * step);
    if (i === last) continue;
    iteration.push(curve.iteration[i]);
    value.push(curve.value[i]);
    last = i;
  }
  return { iteration, value };
}

/** Rounds to 5 significant digits: plenty for plots, and it keeps payloads small. */
function round(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(5)) : value;
}

function emptyCurve(): Curve {
  return { iteration: [], value: [] };
}

function push(curve: Curve, iteration: number, value: number | undefined): void {
  if (value === undefined || !Number.isFinite(value)) return;
  curve.iteration.push(iteration);
  curve.value.push(round(value));
}

/**
 * A run view with every curve cut to at most `maxPoints` points and its probe history to
 * `maxProbes` columns (evenly spaced, the latest always kept): what the kernel sends and what a
 * front end keeps of whatever it receives.
 */
export function boundRunView(view: RunView, maxPoints: number, maxProbes: number): RunView {
  let probes: ProbeHistory | undefined;
  if (view.probes) {
    const columns = downsample({ iteration: view.probes.iteration, value: view.probes.iteration.map((_, k) => k) }, maxProbes);
    probes = {
      blocks: view.probes.blocks,
      iteration: columns.iteration,
      branchRatio: view.probes.branchRatio.map((row) => columns.value.map((k) => row[k])),
      outputNorm: view.probes.outputNorm.map((row) => columns.value.map((k) => row[k])),
      latest: view.probes.latest,
    };
  }
  return {
    ...view,
    trainError: downsample(view.trainError, maxPoints),
    testError: downsample(view.testError, maxPoints),
    trainEvalError: downsample(view.trainEvalError, maxPoints),
    loss: downsample(view.loss, maxPoints),
    ...(probes ? { probes } : {}),
  };
}

/** Folds run events into the view state; `payload()` makes a bounded snapshot. */
export class RunViewBuilder {
  private readonly runs = new Map<string, RunView>();

  constructor(
    readonly title = 'reslab',
    readonly backend?: string,
  ) {}

  /**
   * Adds one event; events of unknown runs before their run_start are ignored. A malformed event
   * (say, a string where the schema has a number) is an error: nothing but validated text and
   * numbers reaches a view.
   */
  push(event: RunEvent): void {
    const problem = validateEvent(event);
    if (problem) throw new Error(`invalid run event: ${problem}`);
    if (event.type === 'run_start') {
      const existing = this.runs.get(event.runId);
      if (existing) {
        // A resumed run: keep the curves up to the resume point.
        existing.status = 'running';
        return;
      }
      this.runs.set(event.runId, {
        runId: event.runId,
        run: event.run,
        status: 'running',
        iteration: event.iteration,
        trainError: emptyCurve(),
        testError: emptyCurve(),
        trainEvalError: emptyCurve(),
        loss: emptyCurve(),
      });
      return;
    }
    const view = this.runs.get(event.runId);
    if (!view) return;
    switch (event.type) {
      case 'train':
        view.iteration = event.iteration;
        view.imagesPerSecond = event.imagesPerSecond;
        push(view.trainError, event.iteration, event.trainError);
        push(view.loss, event.iteration, event.loss);
        break;
      case 'eval':
        push(view.testError, event.iteration, event.testError);
        push(view.trainEvalError, event.iteration, event.trainEvalError);
        break;
      case 'probe': {
        const history = view.probes ?? {
          blocks: event.blocks.map((b) => b.block),
          iteration: [],
          branchRatio: event.blocks.map(() => []),
          outputNorm: event.blocks.map(() => []),
          latest: [],
        };
        history.iteration.push(event.iteration);
        event.blocks.forEach((b, i) => {
          history.branchRatio[i]?.push(round(b.branchRatio));
          history.outputNorm[i]?.push(round(b.outputNorm));
        });
        history.latest = event.blocks;
        view.probes = history;
        break;
      }
      case 'run_end':
        view.status = event.status;
        view.iteration = event.iteration;
        if (event.message) view.message = event.message;
        break;
      case 'checkpoint':
        break;
    }
  }

  /** A snapshot with every curve cut to at most `maxPoints` points and probe history to `maxProbes` columns. */
  payload(maxPoints = 400, maxProbes = 100): RunViewPayload {
    const runs = [...this.runs.values()].map((view) => boundRunView(view, maxPoints, maxProbes));
    return { schema: SCHEMA_VERSION, title: this.title, ...(this.backend ? { backend: this.backend } : {}), updated: Date.now(), runs };
  }
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number' && !Number.isNaN(v));
}

function curveProblem(value: unknown, where: string): string | undefined {
  if (typeof value !== 'object' || value === null) return `${where} is not a curve`;
  const curve = value as Record<string, unknown>;
  if (!isNumberArray(curve.iteration) || !isNumberArray(curve.value)) return `${where} needs numeric iteration and value arrays`;
  if (curve.iteration.length !== curve.value.length)
    return `${where} has ${curve.iteration.length} iterations but ${curve.value.length} values`;
  return undefined;
}

/** Checks the block-wise history of a run view: every field the views read, with matching sizes. */
function probesProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const probes = value as Record<string, unknown>;
  const { blocks, iteration, branchRatio, outputNorm, latest } = probes;
  if (!Array.isArray(blocks) || !blocks.every((b) => typeof b === 'string')) return 'needs block names (strings)';
  if (!isNumberArray(iteration)) return 'needs numeric iterations';
  for (const [name, rows] of [
    ['branchRatio', branchRatio],
    ['outputNorm', outputNorm],
  ] as const) {
    if (
      !Array.isArray(rows) ||
      rows.length !== blocks.length ||
      !rows.every((row) => isNumberArray(row) && row.length === iteration.length)
    ) {
      return `${name} must be one row of ${iteration.length} numbers per block (${blocks.length} blocks)`;
    }
  }
  if (!Array.isArray(latest)) return 'has no latest per-block values';
  for (const [b, block] of (latest as unknown[]).entries()) {
    const problem = blockProblem(block, b);
    if (problem) return `latest ${problem}`;
  }
  return undefined;
}

/** Checks a payload received by a front end; returns a message saying what is wrong, or undefined. */
export function validateRunViewPayload(value: unknown): string | undefined {
  const problem = runViewPayloadProblem(value);
  if (problem) return problem;
  const runs = (value as { runs: unknown[] }).runs;
  for (const [i, run] of runs.entries()) {
    const runProblem = runViewProblem(run, i);
    if (runProblem) return runProblem;
  }
  return undefined;
}

/**
 * What is wrong with a payload as a whole (not an object, another schema version, no runs array,
 * no time, an oversized title), or undefined: its runs are checked one by one ({@link runViewProblem}),
 * so that a front end can keep the good runs of a payload with one bad run.
 */
export function runViewPayloadProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'payload is not an object';
  const payload = value as Record<string, unknown>;
  if (payload.schema !== SCHEMA_VERSION)
    return `unsupported schema version ${JSON.stringify(payload.schema)} (this viewer reads version ${SCHEMA_VERSION})`;
  if (!Array.isArray(payload.runs)) return 'payload has no runs array';
  if (typeof payload.updated !== 'number' || !Number.isFinite(payload.updated)) return 'payload has no numeric updated time';
  for (const key of ['title', 'backend'])
    if (payload[key] !== undefined && (typeof payload[key] !== 'string' || (payload[key] as string).length > MAX_TEXT.message))
      return `payload ${key} is not text of at most ${MAX_TEXT.message} characters`;
  return undefined;
}

/** What is wrong with the `i`-th run of a payload, or undefined when it is a valid RunView. */
export function runViewProblem(run: unknown, i: number): string | undefined {
  if (typeof run !== 'object' || run === null) return `runs[${i}] is not an object`;
  const view = run as Record<string, unknown>;
  if (typeof view.runId !== 'string' || view.runId.length > MAX_TEXT.id)
    return `runs[${i}] has no runId of at most ${MAX_TEXT.id} characters`;
  const descriptorProblem = runDescriptorProblem(view.run);
  if (descriptorProblem) return `runs[${i}] (${view.runId}): ${descriptorProblem}`;
  if (typeof view.iteration !== 'number' || !Number.isFinite(view.iteration)) return `runs[${i}] (${view.runId}) has no numeric iteration`;
  if (!['running', 'completed', 'stopped', 'failed'].includes(view.status as string))
    return `runs[${i}] (${view.runId}) has no status of running, completed, stopped or failed`;
  if (view.imagesPerSecond !== undefined && !(typeof view.imagesPerSecond === 'number' && Number.isFinite(view.imagesPerSecond)))
    return `runs[${i}] (${view.runId}) imagesPerSecond is not a finite number`;
  if (view.message !== undefined && (typeof view.message !== 'string' || view.message.length > MAX_TEXT.message))
    return `runs[${i}] (${view.runId}) message is not text of at most ${MAX_TEXT.message} characters`;
  for (const key of ['trainError', 'testError', 'trainEvalError', 'loss']) {
    const problem = curveProblem(view[key], `runs[${i}].${key}`);
    if (problem) return problem;
  }
  if (view.probes !== undefined) {
    const problem = probesProblem(view.probes);
    if (problem) return `runs[${i}].probes ${problem}`;
  }
  return undefined;
}

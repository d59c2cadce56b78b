/**
 * reslab-kernel: live training views in tslab notebooks.
 *
 *   import { train, degradation } from 'reslab-kernel';
 *   await train('resnet20', { preset: 'demo' });          // one run, live
 *   await degradation({ depths: [20, 56], preset: 'demo' }); // the whole grid, live
 *
 * The view is a Jupyter display (display_data, then update_display_data with the same
 * display_id) carrying three representations: the reslab MIME type (rendered live by the
 * JupyterLab plugin), static HTML with SVG charts (plain JupyterLab, nbconvert, GitHub), and
 * text. Outside tslab the same calls print a compact progress line instead.
 */
import {
  selectBackend,
  bundledDataDir,
  CifarDataset,
  configFromPreset,
  describeBackend,
  GridSpec,
  gridConfigs,
  launchRun,
  loadCifar10,
  PlotlyFigure,
  PRESET_DEPTHS,
  PresetName,
  runSweep,
  runIdOf,
  RunsRoot,
  StopSignal,
  Trainer,
  TrainConfig,
} from 'reslab';
import { RUN_VIEW_MIME, RunEndEvent, RunEvent, RunViewBuilder, RunViewPayload } from 'reslab-protocol';
import { figureBundle, figureHtml, figureSvg } from './figure';
import { guardTslabIopub } from './iopub-guard';
import { staticHtml, textSummary } from './static';

export { staticHtml, textSummary, figureBundle, figureHtml, figureSvg, guardTslabIopub };

/** Where view updates go. */
export interface ViewSink {
  show(payload: RunViewPayload, final: boolean): void;
}

/** The Jupyter display message tslab sends (its internal writer; public API sends one MIME type only). */
interface DisplayData {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id: string };
}
type WriteDisplayData = (data: DisplayData, update: boolean) => void;

/** True inside a tslab kernel. */
export function inTslab(): boolean {
  return (globalThis as { __tslab__?: unknown }).__tslab__ !== undefined;
}

// Inside tslab, iopub sends are serialised so that no output and no `status: idle` is lost (see iopub-guard.ts).
if (inTslab()) guardTslabIopub();

function tslabWriter(): WriteDisplayData | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData?: WriteDisplayData | null };
    return jupyter.lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

let displayCounter = 0;

function newDisplayId(): string {
  return `reslab-${process.pid}-${Date.now()}-${++displayCounter}`;
}

interface PublicDisplay {
  raw(type: string, value: unknown): void;
  html(value: string): void;
  markdown(value: string): void;
}

function tslabPublic(): { display: PublicDisplay; newDisplay(): PublicDisplay } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('tslab') as { display: PublicDisplay; newDisplay(): PublicDisplay };
}

/**
 * Shows a display bundle (several MIME types) once. Outside tslab it prints the text/plain part.
 */
export function showBundle(data: Record<string, unknown>): void {
  if (!inTslab()) {
    console.log(String(data['text/plain'] ?? ''));
    return;
  }
  const write = tslabWriter();
  if (write) write({ data, metadata: {}, transient: { display_id: newDisplayId() } }, false);
  else tslabPublic().display.html(String(data['text/html'] ?? data['text/plain'] ?? ''));
}

/** Shows a reslab figure (Figure 1, 6, 7, ... as Plotly specs): interactive where a Plotly renderer exists, static SVG everywhere. */
export function showFigure(figure: PlotlyFigure): void {
  showBundle(figureBundle(figure));
}

/** Shows Markdown (e.g. Table 6 from `table6Markdown`), or prints it outside tslab. */
export function showMarkdown(markdown: string): void {
  showBundle({ 'text/markdown': markdown, 'text/plain': markdown });
}

/**
 * Sends the view as one display that later messages update in place. The bundle holds the
 * reslab MIME type plus HTML and text fallbacks. If tslab's internal writer is unavailable the
 * public API is used, which sends only the reslab MIME type.
 */
export class TslabSink implements ViewSink {
  private readonly id = newDisplayId();
  private shown = false;
  /** Messages and bytes sent, for measurements. */
  readonly sent = { messages: 0, bytes: 0 };

  show(payload: RunViewPayload): void {
    const data = { [RUN_VIEW_MIME]: payload, 'text/html': staticHtml(payload), 'text/plain': textSummary(payload) };
    this.sent.messages += 1;
    this.sent.bytes += Buffer.byteLength(JSON.stringify(data));
    const write = tslabWriter();
    if (write) {
      write({ data, metadata: {}, transient: { display_id: this.id } }, this.shown);
    } else {
      this.fallback ??= tslabPublic().newDisplay();
      this.fallback.raw(RUN_VIEW_MIME, payload);
    }
    this.shown = true;
  }

  private fallback?: PublicDisplay;
}

/** Plain Node.js: one compact line per update on stderr (rewritten in place on a terminal). */
export class TextSink implements ViewSink {
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  show(payload: RunViewPayload, final: boolean): void {
    const running = payload.runs.filter((r) => r.status === 'running');
    const lines = textSummary({ ...payload, runs: final ? payload.runs : running.length ? running : payload.runs.slice(-1) });
    if (this.stream.isTTY && !final) this.stream.write(`\r\x1b[K${lines.split('\n').pop()}`);
    else this.stream.write(`${this.stream.isTTY ? '\r\x1b[K' : ''}${lines}\n`);
  }
}

export interface LiveViewOptions {
  title?: string;
  /** At most one update per this many ms (latest state wins). Default 250 (4 per second). */
  minIntervalMs?: number;
  /** Points kept per curve (the last point is always kept). Default 400. */
  maxPoints?: number;
  /** Probe columns kept in the block heatmap. Default 100. */
  maxProbes?: number;
  /** Where updates go; default: a tslab display inside tslab, else text on stderr. */
  sink?: ViewSink;
}

function checkedOption(name: string, value: number, least: number, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < least || (integer && !Number.isInteger(value))) {
    throw new Error(
      `LiveView option ${name} expects ${integer ? 'an integer' : 'a number'} of at least ${least}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * A live view of one or more runs: feed it run events (or attach trainers); it updates the
 * display at most a few times per second with a bounded payload.
 */
export class LiveView {
  readonly sink: ViewSink;
  private readonly builder: RunViewBuilder;
  private readonly minIntervalMs: number;
  private readonly maxPoints: number;
  private readonly maxProbes: number;
  private lastSent = 0;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  constructor(options: LiveViewOptions = {}) {
    this.builder = new RunViewBuilder(options.title ?? 'reslab', describeBackend(selectBackend()));
    this.minIntervalMs = checkedOption('minIntervalMs', options.minIntervalMs ?? 250, 0, false);
    this.maxPoints = checkedOption('maxPoints', options.maxPoints ?? 400, 2, true);
    this.maxProbes = checkedOption('maxProbes', options.maxProbes ?? 100, 1, true);
    this.sink = options.sink ?? (inTslab() ? new TslabSink() : new TextSink());
  }

  /** Adds an event; the display follows within `minIntervalMs`. */
  push(event: RunEvent): void {
    this.builder.push(event);
    this.dirty = true;
    const wait = this.lastSent + this.minIntervalMs - Date.now();
    if (event.type === 'run_start' || event.type === 'run_end' || wait <= 0) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), wait);
    }
  }

  /** Subscribes to a trainer's events; returns the unsubscribe function. */
  attach(trainer: Trainer): () => void {
    return trainer.on((event) => this.push(event));
  }

  /** The current bounded payload. */
  payload(): RunViewPayload {
    return this.builder.payload(this.maxPoints, this.maxProbes);
  }

  /** Sends the current state now if anything changed. */
  flush(final = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty && !final) return;
    this.dirty = false;
    this.lastSent = Date.now();
    this.sink.show(this.payload(), final);
  }

  /** Final update (static rendering of the end state). */
  close(): void {
    this.flush(true);
  }
}

/** Options of {@link train} and {@link degradation}. */
export interface RunOptions {
  preset?: PresetName;
  /** Overrides of the preset (iterations, width, ...). */
  overrides?: Partial<TrainConfig>;
  /** CIFAR-10 directory; default: the bundled subset. */
  dataDir?: string;
  /** Runs directory; default `runs`. */
  out?: string;
  view?: LiveViewOptions;
}

let active: Promise<unknown> = Promise.resolve();

/** Resolves when no training started by this module is running (e.g. after an interrupt). */
export function whenIdle(): Promise<void> {
  return active.then(
    () => undefined,
    () => undefined,
  );
}

function dataset(dir: string | undefined): CifarDataset {
  return loadCifar10(dir ?? bundledDataDir());
}

/**
 * Requests `stop` on the notebook's interrupt (SIGINT): the run writes a checkpoint after its
 * current step and the kernel stays alive. tslab runs our handler next to its own, which ends the
 * waiting cell; registering after the first await keeps Node from exiting on SIGINT.
 */
async function withInterrupt<T>(stop: StopSignal, work: () => Promise<T>): Promise<T> {
  await new Promise((resolve) => setImmediate(resolve));
  const onSigint = () => stop.request('interrupted');
  process.on('SIGINT', onSigint);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function track<T>(promise: Promise<T>): Promise<T> {
  active = promise;
  return promise;
}

/**
 * Trains one CIFAR net with a live view; resumes from `out/<run id>` if a checkpoint exists. A run
 * that finished before is not trained again: the view shows it from its files.
 */
export function train(model: string, options: RunOptions = {}): Promise<RunEndEvent> {
  const config = configFromPreset(model, options.preset ?? 'demo', options.overrides);
  const root = new RunsRoot(options.out ?? 'runs');
  const finished = root.run(runIdOf(config)).completed() !== undefined;
  const view = new LiveView({
    title: `reslab: ${config.model} (${config.preset})${finished ? ': finished before, shown from its files' : ''}`,
    ...options.view,
  });
  const stop = new StopSignal();
  return track(
    withInterrupt(stop, async () => {
      try {
        const launched = await launchRun(config, dataset(options.dataDir), root, {
          listeners: [(event) => view.push(event)],
          stop,
          replayFinished: true,
        });
        return launched.end;
      } finally {
        view.close();
      }
    }),
  );
}

/** Runs the degradation grid {plain, resnet} x depths x seeds with one live view of all runs (finished ones shown from their files). */
export function degradation(
  options: RunOptions & Partial<Pick<GridSpec, 'nets' | 'depths'>> & { seeds?: number } = {},
): Promise<RunEndEvent[]> {
  const spec: GridSpec = {
    nets: options.nets ?? ['plain', 'resnet'],
    depths: options.depths ?? PRESET_DEPTHS[options.preset ?? 'demo'],
    seeds: Array.from({ length: options.seeds ?? 1 }, (_, i) => i),
    preset: options.preset ?? 'demo',
    overrides: options.overrides,
  };
  return sweep(gridConfigs(spec), {
    ...options,
    view: { title: `reslab: degradation ${spec.nets.join('/')} x ${spec.depths.join(',')} (${spec.preset})`, ...options.view },
  });
}

/** Whether a run finished before (an unreadable log is not: the sweep names it when it gets there). */
function finishedBefore(root: RunsRoot, config: TrainConfig): boolean {
  try {
    return root.run(runIdOf(config)).completed() !== undefined;
  } catch {
    return false;
  }
}

/**
 * Trains any set of runs (e.g. `configFromPreset` with other shortcuts, orders or warm-ups) one
 * after another with one live view of all of them; finished runs are shown from their files.
 */
export function sweep(configs: TrainConfig[], options: Omit<RunOptions, 'preset' | 'overrides'> = {}): Promise<RunEndEvent[]> {
  const root = new RunsRoot(options.out ?? 'runs');
  const finished = configs.filter((c) => finishedBefore(root, c)).length;
  const before = finished === 0 ? '' : `: ${finished === configs.length ? 'all' : finished} finished before, shown from their files`;
  const view = new LiveView({ ...options.view, title: `${options.view?.title ?? `reslab: ${configs.length} runs`}${before}` });
  const stop = new StopSignal();
  const listeners = [(event: RunEvent) => view.push(event)];
  return track(
    withInterrupt(stop, async () => {
      try {
        const launched = await runSweep(configs, dataset(options.dataDir), root, {
          stop,
          perRun: () => ({ listeners, replayFinished: true }),
          // One run's unreadable log never hides the others: it is named, and the sweep goes on.
          onInvalidLog: (config, error) => console.error(`reslab: ${runIdOf(config)} is not shown: ${error.message}`),
          // A diverged run is a result (its log ends as failed, the view shows it so): the next run goes on.
          onDiverged: (config, error) => console.error(`reslab: ${runIdOf(config)}: ${error.message}`),
        });
        return launched.map((l) => l.end);
      } finally {
        view.close();
      }
    }),
  );
}

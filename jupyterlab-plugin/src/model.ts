/**
 * The sidebar's state as plain TypeScript (no JupyterLab, no DOM): which runs each notebook's
 * kernel has shown, payload validation, and the chart data the view draws. Unit-tested in Node.
 */
import {
  boundRunView,
  RunView,
  RunViewPayload,
  validateRunViewPayload,
  depthColour,
  errorLines,
  PAPER_TABLE6,
  Panel,
  panelsOf,
  plotlyErrorTrace,
  runLabel as labelOf,
} from 'reslab-protocol';
import { folderKey } from './folder';

export { RUN_VIEW_MIME } from 'reslab-protocol';
export type { RunView, RunViewPayload };

/** A Plotly trace or layout, as plain data. */
export type PlotData = Record<string, unknown>;

/** A chart: traces and layout. */
export interface Chart {
  data: PlotData[];
  layout: PlotData;
}

const MAX_WARNINGS = 5;
/** Points kept per curve on ingest: a payload of a million points is drawn from this many. */
export const MAX_POINTS = 2000;
/** Payload times further ahead than this are not trusted for ordering. */
const MAX_CLOCK_SKEW_MS = 60_000;
/** Probe columns kept per run on ingest. */
const MAX_PROBE_COLUMNS = 400;

/**
 * Text for Plotly: it reads tags in names and titles (`<a href>`, `<span style>`), so every
 * string that comes from a payload is passed as entities and shows as typed.
 */
export function plotlyText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The largest of many numbers without spreading them into arguments (no stack limit). */
function maxOf(values: number[], start: number): number {
  let max = start;
  for (const v of values) if (v > max) max = v;
  return max;
}

/**
 * TensorBoard's smoothing: an exponential moving average with weight `weight` in [0, 1),
 * divided by 1 - weight^n so that the first points are not pulled towards zero. Non-finite
 * values pass through unchanged and do not enter the average.
 */
export function debiasedEma(values: number[], weight: number): number[] {
  if (!(weight > 0)) return values.slice();
  let average = 0;
  let count = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    average = average * weight + (1 - weight) * v;
    count += 1;
    return average / (1 - weight ** count);
  });
}

/** The most smoothing the slider offers (TensorBoard's maximum is 0.999; curves here are short). */
export const MAX_SMOOTHING = 0.99;

/** What the sidebar shows: the active notebook, one source (a notebook or a folder), or all of them. */
export type Scope = 'active' | 'all' | { source: string };

/** The sidebar's settings, kept in JupyterLab's state database across page reloads. */
export interface SidebarState {
  logScale: boolean;
  smoothing: number;
  heatmapMetric: 'branchRatio' | 'outputNorm';
  scope: Scope;
  /** Runs hidden from the charts, as `runKey`s. */
  hidden: string[];
  /** Runs directories opened in the sidebar (paths under Jupyter's root). */
  folders: string[];
}

/** A run with the source it came from (a notebook path or a folder key). */
export interface SourcedRun {
  source: string;
  view: RunView;
  /** Unique across sources: source and run id. */
  key: string;
}

/** The key of a run of a source (unique across notebooks and folders). */
export function runKey(source: string, runId: string): string {
  return `${source}\u0000${runId}`;
}

/** Runs of one notebook, newest payload per run. */
interface NotebookRuns {
  runs: Map<string, RunView>;
  /** Payload time per run: an older payload never overwrites a newer one. */
  updated: Map<string, number>;
  /** Set when the kernel restarted: earlier runs are kept and marked. */
  restartedAt?: number;
}

/** Sidebar state: runs per notebook, the active notebook, options, warnings. */
export class RunsModel {
  private readonly notebooks = new Map<string, NotebookRuns>();
  private readonly listeners = new Set<() => void>();
  private active: string | undefined;
  /** Visible warnings about ignored payloads (newest last). */
  readonly warnings: string[] = [];
  logScale = false;
  /** The run whose block-wise statistics the heatmap shows (default: the newest with probes). */
  selectedRun: string | undefined;
  /** Metric of the heatmap. */
  heatmapMetric: 'branchRatio' | 'outputNorm' = 'branchRatio';
  /** Debiased EMA weight of the training-error curves (0: raw). */
  smoothing = 0;
  scope: Scope = 'active';
  private readonly hidden = new Set<string>();
  /** Opened runs directories, in the order they were opened. */
  readonly folders: string[] = [];

  /** Calls `listener` after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private notebook(key: string): NotebookRuns {
    let entry = this.notebooks.get(key);
    if (!entry) {
      entry = { runs: new Map(), updated: new Map() };
      this.notebooks.set(key, entry);
    }
    return entry;
  }

  /** Records a warning shown in the panel (bounded). */
  warn(message: string): void {
    // Warnings quote payload text: keep them short enough to read.
    this.warnings.push(message.length > 300 ? `${message.slice(0, 300)}…` : message);
    if (this.warnings.length > MAX_WARNINGS) this.warnings.splice(0, this.warnings.length - MAX_WARNINGS);
    this.changed();
  }

  /**
   * Takes one reslab MIME payload seen in notebook `key` (display_data / update_display_data).
   * A malformed or unknown-version payload is ignored with a warning; returns whether it was used.
   */
  ingest(key: string, data: unknown): boolean {
    const problem = validateRunViewPayload(data);
    if (problem) {
      this.warn(`ignored a reslab payload in ${key}: ${problem}`);
      return false;
    }
    const payload = data as RunViewPayload;
    const entry = this.notebook(key);
    // A payload time beyond a minute of clock skew in the future (a wrong clock, or a crafted
    // payload) orders before everything: it must not pin its run against every later update.
    const updated = payload.updated > Date.now() + MAX_CLOCK_SKEW_MS ? Number.NEGATIVE_INFINITY : payload.updated;
    for (const run of payload.runs) {
      const previous = entry.updated.get(run.runId) ?? -Infinity;
      if (updated < previous) continue;
      entry.runs.set(run.runId, boundRunView(run, MAX_POINTS, MAX_PROBE_COLUMNS));
      entry.updated.set(run.runId, updated);
    }
    this.changed();
    return true;
  }

  /** The notebook whose runs are shown (JupyterLab's current notebook). */
  setActive(key: string | undefined): void {
    if (this.active === key) return;
    this.active = key;
    this.selectedRun = undefined;
    this.changed();
  }

  get activeNotebook(): string | undefined {
    return this.active;
  }

  /** The kernel of notebook `key` restarted: its runs stay visible, marked as from before. */
  kernelRestarted(key: string): void {
    this.notebook(key).restartedAt = Date.now();
    this.changed();
  }

  restartedAt(key = this.active): number | undefined {
    return key ? this.notebooks.get(key)?.restartedAt : undefined;
  }

  /** Sources that have runs (notebook paths and folder keys), and opened folders still empty. */
  sources(): string[] {
    const keys = [...this.notebooks.entries()].filter(([, entry]) => entry.runs.size > 0).map(([key]) => key);
    for (const folder of this.folders) if (!keys.includes(folderKey(folder))) keys.push(folderKey(folder));
    return keys;
  }

  /** The sources the current scope covers. */
  private scopeSources(): string[] {
    if (this.scope === 'all') return this.sources();
    if (this.scope === 'active') return this.active ? [this.active] : [];
    return [this.scope.source];
  }

  /** Runs in scope, each with its source: plain before ResNet, then by depth, id and source. */
  sourcedRuns(): SourcedRun[] {
    const runs: SourcedRun[] = [];
    for (const source of this.scopeSources()) {
      for (const view of this.notebooks.get(source)?.runs.values() ?? []) runs.push({ source, view, key: runKey(source, view.runId) });
    }
    return runs.sort(
      (a, b) =>
        a.view.run.family.localeCompare(b.view.run.family) ||
        a.view.run.depth - b.view.run.depth ||
        a.view.runId.localeCompare(b.view.runId) ||
        a.source.localeCompare(b.source),
    );
  }

  /** Runs in scope: plain before ResNet, then by depth and id. */
  runs(): RunView[] {
    return this.sourcedRuns().map((r) => r.view);
  }

  /** Runs in scope that the run picker has not hidden: what the charts draw. */
  visibleRuns(): SourcedRun[] {
    return this.sourcedRuns().filter((r) => !this.hidden.has(r.key));
  }

  isHidden(key: string): boolean {
    return this.hidden.has(key);
  }

  /** Shows or hides a run in the charts (the run picker). */
  setHidden(key: string, hidden: boolean): void {
    if (hidden) this.hidden.add(key);
    else this.hidden.delete(key);
    this.changed();
  }

  setScope(scope: Scope): void {
    this.scope = scope;
    this.selectedRun = undefined;
    this.changed();
  }

  setSmoothing(weight: number): void {
    this.smoothing = Number.isFinite(weight) ? Math.min(MAX_SMOOTHING, Math.max(0, weight)) : 0;
    this.changed();
  }

  /** Adds a runs directory as a source (its runs arrive through {@link ingest} with its folder key). */
  openFolder(path: string): void {
    if (!this.folders.includes(path)) this.folders.push(path);
    this.changed();
  }

  /** Removes a runs directory and its runs. */
  closeFolder(path: string): void {
    const i = this.folders.indexOf(path);
    if (i >= 0) this.folders.splice(i, 1);
    this.notebooks.delete(folderKey(path));
    if (typeof this.scope === 'object' && this.scope.source === folderKey(path)) this.scope = 'active';
    this.changed();
  }

  /** The settings to keep across reloads. */
  state(): SidebarState {
    return {
      logScale: this.logScale,
      smoothing: this.smoothing,
      heatmapMetric: this.heatmapMetric,
      scope: this.scope,
      hidden: [...this.hidden],
      folders: [...this.folders],
    };
  }

  /** Restores saved settings; anything malformed (an older or edited state) falls back to the default. */
  restore(value: unknown): void {
    if (typeof value !== 'object' || value === null) return;
    const state = value as Partial<Record<keyof SidebarState, unknown>>;
    if (typeof state.logScale === 'boolean') this.logScale = state.logScale;
    if (typeof state.smoothing === 'number') this.smoothing = Math.min(MAX_SMOOTHING, Math.max(0, state.smoothing));
    if (state.heatmapMetric === 'branchRatio' || state.heatmapMetric === 'outputNorm') this.heatmapMetric = state.heatmapMetric;
    const scope = state.scope as { source?: unknown } | string | undefined;
    if (scope === 'active' || scope === 'all') this.scope = scope;
    else if (typeof scope === 'object' && scope !== null && typeof scope.source === 'string') this.scope = { source: scope.source };
    if (Array.isArray(state.hidden)) for (const key of state.hidden) if (typeof key === 'string') this.hidden.add(key);
    if (Array.isArray(state.folders))
      for (const path of state.folders) if (typeof path === 'string' && !this.folders.includes(path)) this.folders.push(path);
    this.changed();
  }

  setLogScale(on: boolean): void {
    this.logScale = on;
    this.changed();
  }

  selectRun(runId: string | undefined): void {
    this.selectedRun = runId;
    this.changed();
  }

  setHeatmapMetric(metric: 'branchRatio' | 'outputNorm'): void {
    this.heatmapMetric = metric;
    this.changed();
  }

  /** The run the heatmap shows. */
  heatmapRun(): RunView | undefined {
    const withProbes = this.visibleRuns()
      .map((r) => r.view)
      .filter((r) => r.probes && r.probes.iteration.length > 0);
    return withProbes.find((r) => r.runId === this.selectedRun) ?? withProbes[withProbes.length - 1];
  }
}

/** Display name of a run among the runs `shown` with it: `plain-56`, `ResNet-110 (seed 1)` (reslab-protocol's runLabel). */
export function runLabel(run: RunView, shown: RunView[] = [run]): string {
  return labelOf(
    run.run,
    shown.map((r) => r.run),
  );
}

/**
 * Training (thin, dashed) and test (bold, solid) error of every run, as in the paper's figures
 * and reslab's report (ERROR_CURVES): plain nets and ResNets in separate panels stacked like
 * Fig. 6's, one colour per depth, the paper's Table 6 test error of a ResNet's depth as a dotted
 * reference line with its value. With `smoothing`, the training error is drawn smoothed over its
 * faint raw curve.
 */
export function errorChart(runs: RunView[], logScale: boolean, smoothing = 0, label?: (run: RunView) => string): Chart {
  const families = panelsOf(runs);
  const axisOf = (family: Panel) => {
    const i = families.indexOf(family) + 1;
    return i === 1 ? { x: 'x', y: 'y', xKey: 'xaxis', yKey: 'yaxis' } : { x: `x${i}`, y: `y${i}`, xKey: `xaxis${i}`, yKey: `yaxis${i}` };
  };
  const data: PlotData[] = [];
  for (const line of errorLines(runs, { label })) {
    const trace = { ...plotlyErrorTrace(line, axisOf(line.panel)), name: plotlyText(`${line.label} ${line.kind}`) };
    if (line.kind === 'test') {
      data.push({ ...trace, hovertemplate: '%{y:.1f}% at %{x}<extra>%{fullData.name}</extra>' });
      continue;
    }
    // The raw training curve stays, faint, beneath the smoothed one (as in TensorBoard).
    if (smoothing > 0)
      data.push({ ...trace, name: plotlyText(`${line.label} train (raw)`), showlegend: false, opacity: 0.25, hoverinfo: 'skip' });
    data.push({
      ...trace,
      y: smoothing > 0 ? debiasedEma(line.y, smoothing) : line.y,
      hovertemplate:
        smoothing > 0
          ? `%{y:.1f}% at %{x} (smoothed ${smoothing})<extra>%{fullData.name}</extra>`
          : '%{y:.1f}% at %{x}<extra>%{fullData.name}</extra>',
    });
  }
  const maxIteration = maxOf(
    runs.map((r) => maxOf(r.trainError.iteration, r.iteration)),
    1,
  );
  const references = [
    ...new Set(runs.filter((r) => r.run.family === 'resnet' && PAPER_TABLE6[r.run.depth] !== undefined).map((r) => r.run.depth)),
  ];
  const resnetAxes = axisOf('resnet');
  const panels: PlotData = {};
  families.forEach((family) => {
    const axes = axisOf(family);
    panels[axes.xKey] = { title: { text: 'iteration' }, ...(axes.x !== 'x' ? { matches: 'x' } : {}) };
    panels[axes.yKey] = { title: { text: `${family === 'plain' ? 'plain' : 'ResNet'}: error (%)` }, type: logScale ? 'log' : 'linear' };
  });
  const legendEntries = data.filter((t) => t.showlegend !== false).length;
  return {
    data,
    layout: {
      margin: { l: 52, r: 8, t: 60, b: 40 },
      // The legend sits above the plots: the chart grows with it, so that many runs never squeeze the curves.
      height: 80 + 240 * Math.max(1, families.length) + 18 * Math.min(40, legendEntries),
      ...(families.length > 1 ? { grid: { rows: families.length, columns: 1, pattern: 'independent', roworder: 'top to bottom' } } : {}),
      ...panels,
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: { size: 10 } },
      shapes: references.map((depth) => ({
        type: 'line',
        xref: resnetAxes.x,
        yref: resnetAxes.y,
        x0: 0,
        x1: maxIteration,
        y0: PAPER_TABLE6[depth],
        y1: PAPER_TABLE6[depth],
        line: { color: depthColour(depth), dash: 'dot', width: 1 },
      })),
      annotations: references.map((depth) => ({
        xref: resnetAxes.x,
        yref: resnetAxes.y,
        x: maxIteration,
        y: logScale ? Math.log10(PAPER_TABLE6[depth]) : PAPER_TABLE6[depth],
        xanchor: 'right',
        yanchor: 'bottom',
        showarrow: false,
        text: `paper ResNet-${depth}: ${PAPER_TABLE6[depth]}%`,
        font: { size: 10, color: depthColour(depth) },
      })),
    },
  };
}

/**
 * Block-wise statistics of one run: a heatmap (blocks x probe iterations) of ||F(x)||/||x|| or
 * the output norm, with the latest per-block values as bars beside it.
 */
export function heatmapChart(run: RunView, metric: 'branchRatio' | 'outputNorm'): Chart | undefined {
  const probes = run.probes;
  if (!probes || probes.iteration.length === 0) return undefined;
  const z = metric === 'branchRatio' ? probes.branchRatio : probes.outputNorm;
  const latest = probes.latest.map((b) => (metric === 'branchRatio' ? b.branchRatio : b.outputNorm));
  const blocks = probes.blocks.map(plotlyText);
  const title = metric === 'branchRatio' ? '‖F(x)‖/‖x‖' : '‖output‖';
  return {
    data: [
      {
        type: 'heatmap',
        x: probes.iteration,
        y: blocks,
        z,
        colorscale: 'Viridis',
        showscale: false,
        hovertemplate: `%{y} @ %{x}: %{z:.3f}<extra>${title}</extra>`,
      },
      {
        type: 'bar',
        orientation: 'h',
        x: latest,
        y: probes.latest.map((b) => plotlyText(b.block)),
        xaxis: 'x2',
        yaxis: 'y',
        marker: { color: depthColour(run.run.depth) },
        hovertemplate: '%{y}: %{x:.3f}<extra>latest</extra>',
      },
    ],
    layout: {
      margin: { l: 96, r: 8, t: 20, b: 36 },
      height: Math.max(180, 14 * probes.blocks.length + 60),
      title: { text: plotlyText(`${title} per block (${runLabel(run)})`), font: { size: 12 } },
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: { domain: [0, 0.72], title: { text: 'iteration' } },
      xaxis2: { domain: [0.76, 1], title: { text: 'latest' } },
      yaxis: { autorange: 'reversed', tickfont: { size: 9 } },
      showlegend: false,
    },
  };
}

/**
 * The sidebar's state as plain TypeScript (no JupyterLab, no DOM): which runs each notebook's
 * kernel has shown, payload validation, the runs in scope and the options. The charts it draws
 * are ./charts.ts. Unit-tested in Node.
 */
import { boundRunView, RunView, RunViewPayload, runViewPayloadProblem, runViewProblem } from 'reslab-protocol';
import { folderKey } from './folder';

export { RUN_VIEW_MIME } from 'reslab-protocol';
export type { RunView, RunViewPayload };

const MAX_WARNINGS = 5;
/** Points kept per curve on ingest: a payload of a million points is drawn from this many. */
export const MAX_POINTS = 2000;
/** Payload times further ahead than this are not trusted for ordering. */
const MAX_CLOCK_SKEW_MS = 60_000;
/** Probe columns kept per run on ingest. */
const MAX_PROBE_COLUMNS = 400;

/** The most smoothing the slider offers (TensorBoard's maximum is 0.999; curves here are short). */
export const MAX_SMOOTHING = 0.99;

/** What the sidebar shows: the active notebook, one source (a notebook or a folder), or all of them. */
export type Scope = 'active' | 'all' | { source: string };

/** The sidebar's settings, kept in JupyterLab's state database across page reloads. */
export interface SidebarState {
  logScale: boolean;
  smoothing: number;
  /** Seeds of one net: their mean with a band (default), or one line each. */
  seeds: 'mean' | 'each';
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
  /** Seeds of one net drawn as their mean with a band from the lowest to the highest, or one line each. */
  seeds: 'mean' | 'each' = 'mean';
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
   * A malformed or unknown-version payload is ignored with a warning; returns whether it was used
   * (false too when every run of it was bad). One bad run of a payload is ignored with a warning of its own, and the payload's other runs are
   * taken: one run's data never hides the others.
   */
  ingest(key: string, data: unknown): boolean {
    const problem = runViewPayloadProblem(data);
    if (problem) {
      this.warn(`ignored a reslab payload in ${key}: ${problem}`);
      return false;
    }
    const payload = data as RunViewPayload;
    const entry = this.notebook(key);
    // A payload time beyond a minute of clock skew in the future (a wrong clock, or a crafted
    // payload) orders before everything: it must not pin its run against every later update.
    const updated = payload.updated > Date.now() + MAX_CLOCK_SKEW_MS ? Number.NEGATIVE_INFINITY : payload.updated;
    let taken = 0;
    for (const [i, run] of payload.runs.entries()) {
      const runProblem = runViewProblem(run, i);
      if (runProblem) {
        this.warn(`ignored a reslab run in ${key}: ${runProblem}`);
        continue;
      }
      taken++;
      const previous = entry.updated.get(run.runId) ?? -Infinity;
      if (updated < previous) continue;
      entry.runs.set(run.runId, boundRunView(run, MAX_POINTS, MAX_PROBE_COLUMNS));
      entry.updated.set(run.runId, updated);
    }
    this.changed();
    return taken > 0 || payload.runs.length === 0;
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
      seeds: this.seeds,
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
    if (state.seeds === 'mean' || state.seeds === 'each') this.seeds = state.seeds;
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

  /** Individual seeds on (one line per run) or off (a mean with a band per net). */
  setSeeds(seeds: 'mean' | 'each'): void {
    this.seeds = seeds;
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

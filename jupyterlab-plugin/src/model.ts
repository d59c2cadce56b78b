/**
 * The sidebar's state as plain TypeScript (no JupyterLab, no DOM): which runs each notebook's
 * kernel has shown, payload validation, and the chart data the view draws. Unit-tested in Node.
 */
import { boundRunView, RunView, RunViewPayload, validateRunViewPayload } from 'reslab/dist/src/protocol/view';
import { depthColour, PAPER_TABLE6 } from 'reslab/dist/src/protocol/paper';
import { runLabel as labelOf } from 'reslab/dist/src/protocol/labels';

export { RUN_VIEW_MIME } from 'reslab/dist/src/protocol/view';
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

  /** Runs of the active notebook: plain before ResNet, then by depth and id. */
  runs(): RunView[] {
    const entry = this.active ? this.notebooks.get(this.active) : undefined;
    if (!entry) return [];
    return [...entry.runs.values()].sort(
      (a, b) => a.run.family.localeCompare(b.run.family) || a.run.depth - b.run.depth || a.runId.localeCompare(b.runId),
    );
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
    const withProbes = this.runs().filter((r) => r.probes && r.probes.iteration.length > 0);
    return withProbes.find((r) => r.runId === this.selectedRun) ?? withProbes[withProbes.length - 1];
  }
}

/** Display name of a run: `plain-56`, `ResNet-110 (seed 1)`. */
export function runLabel(run: RunView): string {
  return labelOf(run.run);
}

const toPercent = (values: number[]) => values.map((v) => v * 100);

/**
 * Training (thin) and test (bold) error of every run, like the paper's figures: plain nets
 * dashed, ResNets solid, one colour per depth; the paper's Table 6 test error of a ResNet's
 * depth as a dotted reference line with its value.
 */
export function errorChart(runs: RunView[], logScale: boolean): Chart {
  const data: PlotData[] = [];
  for (const run of runs) {
    const colour = depthColour(run.run.depth);
    const dash = run.run.family === 'plain' ? 'dash' : 'solid';
    data.push({
      type: 'scatter', mode: 'lines', name: plotlyText(`${runLabel(run)} train`), legendgroup: run.runId,
      x: run.trainError.iteration, y: toPercent(run.trainError.value), line: { color: colour, dash, width: 1 },
      hovertemplate: '%{y:.1f}% at %{x}<extra>%{fullData.name}</extra>',
    });
    data.push({
      type: 'scatter', mode: 'lines', name: plotlyText(`${runLabel(run)} test`), legendgroup: run.runId,
      x: run.testError.iteration, y: toPercent(run.testError.value), line: { color: colour, dash, width: 2.5 },
      hovertemplate: '%{y:.1f}% at %{x}<extra>%{fullData.name}</extra>',
    });
  }
  const maxIteration = maxOf(runs.map((r) => maxOf(r.trainError.iteration, r.iteration)), 1);
  const references = [...new Set(runs.filter((r) => r.run.family === 'resnet' && PAPER_TABLE6[r.run.depth] !== undefined).map((r) => r.run.depth))];
  return {
    data,
    layout: {
      margin: { l: 48, r: 8, t: 60, b: 40 },
      height: 340,
      xaxis: { title: { text: 'iteration' } },
      yaxis: { title: { text: 'error (%)' }, type: logScale ? 'log' : 'linear' },
      // Legend above the plot: it never covers the axis title, also in the narrow sidebar.
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: { size: 10 } },
      shapes: references.map((depth) => ({
        type: 'line', x0: 0, x1: maxIteration, y0: PAPER_TABLE6[depth], y1: PAPER_TABLE6[depth],
        line: { color: depthColour(depth), dash: 'dot', width: 1 },
      })),
      annotations: references.map((depth) => ({
        x: maxIteration, y: logScale ? Math.log10(PAPER_TABLE6[depth]) : PAPER_TABLE6[depth], xanchor: 'right', yanchor: 'bottom', showarrow: false,
        text: `paper ResNet-${depth}: ${PAPER_TABLE6[depth]}%`, font: { size: 10, color: depthColour(depth) },
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
      { type: 'heatmap', x: probes.iteration, y: blocks, z, colorscale: 'Viridis', showscale: false, hovertemplate: `%{y} @ %{x}: %{z:.3f}<extra>${title}</extra>` },
      { type: 'bar', orientation: 'h', x: latest, y: probes.latest.map((b) => plotlyText(b.block)), xaxis: 'x2', yaxis: 'y', marker: { color: depthColour(run.run.depth) }, hovertemplate: '%{y}: %{x:.3f}<extra>latest</extra>' },
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

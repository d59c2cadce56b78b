/**
 * Error curves as every view draws them (the report's figures, the notebook's static fallback, the
 * JupyterLab sidebar): one line per run and kind, in the panel of its family, with the paper's
 * encoding (ERROR_CURVES: training dashed and thin, test solid and bold, one colour per depth).
 * Dependency-free (shared with the plugin).
 */
import { RunDescriptor } from './events';
import { runLabel } from './labels';
import { depthColour, ERROR_CURVES } from './paper';
import type { Curve } from './view';

/** The MIME type of a Plotly figure (plotly.js's own), rendered by the plugin, JupyterLab and nbviewer. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** A run's error curves (fractions), as the report's records and the live view's runs both have them. */
export interface RunCurves {
  runId: string;
  run: Pick<RunDescriptor, 'family' | 'depth' | 'seed'>;
  trainError: Curve;
  testError: Curve;
}

export type ErrorKind = 'train' | 'test';
export type Panel = 'plain' | 'resnet';

/** One line of an error chart. */
export interface ErrorLine {
  runId: string;
  /** The run's label, e.g. `ResNet-20 (seed 1)` (see runLabel: the same rule in every view). */
  label: string;
  /** One legend group per run: two runs may share a label (widths, sources), never a group. */
  group: string;
  kind: ErrorKind;
  panel: Panel;
  colour: string;
  dash: 'dash' | 'solid';
  width: number;
  x: number[];
  /** Error in percent. */
  y: number[];
}

/** The panels a set of runs needs, plain nets first (Fig. 6: left plain, middle ResNet). */
export function panelsOf(runs: Array<Pick<RunCurves, 'run'>>): Panel[] {
  return (['plain', 'resnet'] as const).filter((family) => runs.some((r) => r.run.family === family));
}

/**
 * The lines of `runs`: training then test error of each run (or only the `kinds` asked for),
 * labelled by runLabel unless `label` says otherwise (the sidebar adds the source when comparing).
 */
export function errorLines<R extends RunCurves>(
  runs: R[],
  options: { kinds?: readonly ErrorKind[]; label?: (run: R) => string } = {},
): ErrorLine[] {
  const shown = runs.map((r) => r.run);
  const kinds = options.kinds ?? ['train', 'test'];
  return runs.flatMap((r) => {
    const label = options.label?.(r) ?? runLabel(r.run, shown);
    return kinds.map((kind) => {
      const curve = kind === 'train' ? r.trainError : r.testError;
      const style = ERROR_CURVES[kind];
      return {
        runId: r.runId,
        label,
        group: `${label}\u0000${r.runId}`,
        kind,
        panel: r.run.family,
        colour: depthColour(r.run.depth),
        dash: style.dash,
        width: style.width,
        x: curve.iteration,
        y: curve.value.map((v) => v * 100),
      };
    });
  });
}

/** A line as a Plotly scatter trace on axes `x`/`y`, named `<label> <kind>`. */
export function plotlyErrorTrace(line: ErrorLine, axes: { x: string; y: string }): Record<string, unknown> {
  return {
    type: 'scatter',
    mode: 'lines',
    name: `${line.label} ${line.kind}`,
    legendgroup: line.group,
    x: line.x,
    y: line.y,
    line: { color: line.colour, dash: line.dash, width: line.width },
    xaxis: axes.x,
    yaxis: axes.y,
  };
}

/** Table 6's test error: `7.51` for one seed, `7.51 ± 0.16` (mean ± sample std) for several. */
export function testErrorText(error: { mean: number; std: number }, seeds: number): string {
  return seeds > 1 ? `${error.mean.toFixed(2)} ± ${error.std.toFixed(2)}` : error.mean.toFixed(2);
}

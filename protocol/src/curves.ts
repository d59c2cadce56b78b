/**
 * Error curves as every view draws them (the report's figures, the notebook's static fallback, the
 * JupyterLab sidebar): one line per net and kind, in the panel of its family, with the paper's
 * encoding (ERROR_CURVES: training dashed and thin, test solid and bold, one colour per depth).
 * Several seeds of one net are drawn as their mean with a band from the lowest to the highest seed
 * (or, asked for, one line per seed). Dependency-free (shared with the plugin).
 */
import { RunDescriptor } from './events';
import { netLabel, runLabel } from './labels';
import { ERROR_CURVES, netColours } from './paper';
import type { Curve } from './view';

/** The MIME type of a Plotly figure (plotly.js's own), rendered by the plugin, JupyterLab and nbviewer. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** A run's error curves (fractions), as the report's records and the live view's runs both have them. */
export interface RunCurves {
  runId: string;
  run: Pick<RunDescriptor, 'family' | 'depth' | 'seed'> & Partial<RunDescriptor>;
  trainError: Curve;
  testError: Curve;
}

export type ErrorKind = 'train' | 'test';
export type Panel = 'plain' | 'resnet';

/** One line of an error chart. */
export interface ErrorLine {
  /** The run it draws, or the first run of the seeds it averages. */
  runId: string;
  /** The net's name, without its seeds (NetGroup's `net`). */
  net: string;
  /** `ResNet-20`, `ResNet-20 (seed 1)`, `ResNet-20 (mean of 3 seeds)` (see runLabel: the same rule in every view). */
  label: string;
  /** One legend group per line: two runs may share a label (widths, sources), never a group. */
  group: string;
  kind: ErrorKind;
  panel: Panel;
  colour: string;
  dash: 'dash' | 'solid';
  width: number;
  x: number[];
  /** Error in percent (the mean over `seeds` when there are several). */
  y: number[];
  /** The seeds averaged (absent for a single run). */
  seeds?: number[];
  /** The lowest and highest seed at each x, in percent (with `seeds`). */
  band?: { lower: number[]; upper: number[] };
}

/** The panels a set of runs needs, plain nets first (Fig. 6: left plain, middle ResNet). */
export function panelsOf(runs: Array<Pick<RunCurves, 'run'>>): Panel[] {
  return (['plain', 'resnet'] as const).filter((family) => runs.some((r) => r.run.family === family));
}

/** What makes two runs seeds of one net: everything in their descriptor but the seed. */
function netKey(run: RunCurves['run']): string {
  const { seed: _seed, ...rest } = run;
  return JSON.stringify(
    Object.keys(rest)
      .sort()
      .map((k) => [k, rest[k as keyof typeof rest]]),
  );
}

/** The curves of `group` at the iterations all of them logged: mean, lowest and highest, in percent. */
function aggregate(curves: Curve[]): { x: number[]; y: number[]; lower: number[]; upper: number[] } {
  const common = curves[0].iteration.filter((it) => curves.every((c) => c.iteration.includes(it)));
  const at = common.map((it) => curves.map((c) => c.value[c.iteration.indexOf(it)] * 100));
  return {
    x: common,
    y: at.map((v) => v.reduce((a, b) => a + b, 0) / v.length),
    lower: at.map((v) => Math.min(...v)),
    upper: at.map((v) => Math.max(...v)),
  };
}

/** A net and the runs that are its seeds, with the label every view gives it. */
export interface NetGroup<R> {
  /** The net's label (`ResNet-20`, `ResNet-20 B`, netLabel; with ` · <source>` when sources are told apart), without its seeds. */
  net: string;
  /** `ResNet-20`, `ResNet-20 (seed 1)`, `ResNet-20 (mean of 3 seeds)`, with ` · <source>` when sources are told apart. */
  label: string;
  runs: R[];
}

/**
 * The runs of each net together, in the order they first appear (`seeds: 'each'`: one group per
 * run); with `source`, runs of different sources are different groups.
 */
export function netGroups<R extends Pick<RunCurves, 'runId' | 'run'>>(
  runs: R[],
  options: { source?: (run: R) => string; seeds?: 'mean' | 'each' } = {},
): Array<NetGroup<R>> {
  const shown = runs.map((r) => r.run);
  const where = (r: R) => (options.source ? ` · ${options.source(r)}` : '');
  const groups = new Map<string, R[]>();
  for (const r of runs) {
    const key = options.seeds === 'each' ? r.runId : `${netKey(r.run)}\u0000${where(r)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0];
    const label =
      group.length > 1
        ? `${netLabel(first.run)} (mean of ${group.length} ${new Set(group.map((r) => r.run.seed)).size === group.length ? 'seeds' : 'runs'})${where(first)}`
        : `${runLabel(first.run, options.seeds === 'each' ? shown : shown.filter((r) => netKey(r) === netKey(first.run)))}${where(first)}`;
    return { net: `${netLabel(first.run)}${where(first)}`, label, runs: group };
  });
}

/**
 * The lines of `runs`: training then test error (or only the `kinds` asked for) of each net, its
 * seeds as one mean line with a band (`seeds: 'each'`: a line per run), labelled as in netGroups.
 */
export function errorLines<R extends RunCurves>(
  runs: R[],
  options: { kinds?: readonly ErrorKind[]; source?: (run: R) => string; seeds?: 'mean' | 'each' } = {},
): ErrorLine[] {
  const kinds = options.kinds ?? ['train', 'test'];
  const groups = netGroups(runs, options);
  const colours = netColours(
    groups.map(({ net, runs: [first] }) => ({
      key: net,
      label: net,
      family: first.run.family,
      depth: first.run.depth,
      paper: (first.run.shortcut ?? 'A') === 'A' && !first.run.variant,
    })),
  );
  return groups.flatMap(({ net, label, runs: group }) => {
    const first = group[0];
    return kinds.map((kind): ErrorLine => {
      const style = ERROR_CURVES[kind];
      const curveOf = (r: R) => (kind === 'train' ? r.trainError : r.testError);
      const base = {
        runId: first.runId,
        net,
        label,
        group: `${label}\u0000${first.runId}`,
        kind,
        panel: first.run.family,
        colour: colours.get(net) as string,
        dash: style.dash,
        width: style.width,
      };
      if (group.length === 1) return { ...base, x: curveOf(first).iteration, y: curveOf(first).value.map((v) => v * 100) };
      const { x, y, lower, upper } = aggregate(group.map(curveOf));
      return { ...base, x, y, seeds: group.map((r) => r.run.seed), band: { lower, upper } };
    });
  });
}

/** `#1f77b4` and an opacity as `rgba(31, 119, 180, 0.15)` (the band's fill); other colours as they are. */
export function withOpacity(colour: string, opacity: number): string {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!hex) return colour.replace(/^hsl\((.*)\)$/, `hsla($1, ${opacity})`);
  return `rgba(${hex
    .slice(1)
    .map((h) => parseInt(h, 16))
    .join(', ')}, ${opacity})`;
}

/**
 * A line as Plotly scatter traces on axes `x`/`y`, named `<label> <kind>`: with a band, first the
 * band (its upper edge, then its lower edge filled up to it), then the line.
 */
export function plotlyErrorTraces(line: ErrorLine, axes: { x: string; y: string }): Array<Record<string, unknown>> {
  const trace = {
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
  if (!line.band) return [trace];
  const edge = {
    type: 'scatter',
    mode: 'lines',
    legendgroup: line.group,
    showlegend: false,
    hoverinfo: 'skip',
    x: line.x,
    line: { width: 0 },
    xaxis: axes.x,
    yaxis: axes.y,
  };
  return [
    { ...edge, name: `${line.label} ${line.kind} (highest seed)`, y: line.band.upper },
    {
      ...edge,
      name: `${line.label} ${line.kind} (lowest seed)`,
      y: line.band.lower,
      fill: 'tonexty',
      fillcolor: withOpacity(line.colour, line.kind === 'test' ? 0.18 : 0.1),
    },
    trace,
  ];
}

/** Table 6's test error: `7.51` for one seed, `7.51 ± 0.16` (mean ± sample std) for several. */
export function testErrorText(error: { mean: number; std: number }, seeds: number): string {
  return seeds > 1 ? `${error.mean.toFixed(2)} ± ${error.std.toFixed(2)}` : error.mean.toFixed(2);
}

/**
 * The sidebar's and the inline view's charts as Plotly data (no DOM): the error curves (one line
 * per run from reslab-protocol's errorLines, plain nets and ResNets in stacked panels, TensorBoard's
 * smoothing) and the block-wise heatmap. Every payload string is passed as text.
 */
import { depthColour, errorLines, PAPER_TABLE6, Panel, panelsOf, plotlyErrorTraces, RunView, runLabel as labelOf } from 'reslab-protocol';

/** A Plotly trace or layout, as plain data. */
export type PlotData = Record<string, unknown>;

/** A chart: traces and layout. */
export interface Chart {
  data: PlotData[];
  layout: PlotData;
}

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
export function errorChart(
  runs: RunView[],
  logScale: boolean,
  smoothing = 0,
  source?: (run: RunView) => string,
  seeds: 'mean' | 'each' = 'mean',
): Chart {
  const families = panelsOf(runs);
  const axisOf = (family: Panel) => {
    const i = families.indexOf(family) + 1;
    return i === 1 ? { x: 'x', y: 'y', xKey: 'xaxis', yKey: 'yaxis' } : { x: `x${i}`, y: `y${i}`, xKey: `xaxis${i}`, yKey: `yaxis${i}` };
  };
  const data: PlotData[] = [];
  for (const line of errorLines(runs, { source, seeds })) {
    const traces = plotlyErrorTraces(line, axisOf(line.panel));
    // The band of several seeds goes first, beneath the line (its edges carry no legend entry).
    for (const edge of traces.slice(0, -1)) data.push({ ...edge, name: plotlyText(String(edge.name)) });
    const trace = { ...traces[traces.length - 1], name: plotlyText(`${line.label} ${line.kind}`) };
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

import {
  ERROR_CURVES,
  ErrorKind,
  errorLines,
  netGroups,
  PAPER_TABLE6,
  Panel,
  plotlyErrorTraces,
  RunCurves,
  testErrorText,
} from 'reslab-protocol';
import { RunRecord } from '../runs';
import { csvLine } from './csv';

/** A Plotly figure: traces and layout, as JSON (rendered by plotly.js in the report and plugin). */
export interface PlotlyFigure {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
}

/** A record's curves in the form every view draws (reslab-protocol's errorLines). */
const curvesOf = (record: RunRecord): RunCurves => ({
  runId: record.runId,
  run: record.run,
  trainError: { iteration: record.train.map((e) => e.iteration), value: record.train.map((e) => e.trainError) },
  testError: { iteration: record.eval.map((e) => e.iteration), value: record.eval.map((e) => e.testError) },
});

/** Plotly traces of the error lines of `records` (seeds of a net as a mean with its band), each in its family's panel (`axes`); percentages to 0.01 (the report's size). */
function errorTraces(
  records: RunRecord[],
  axes: Record<Panel, { x: string; y: string }>,
  kinds?: ErrorKind[],
): Array<Record<string, unknown>> {
  const round = (values: number[]) => values.map((v) => Math.round(v * 100) / 100);
  return errorLines(records.map(curvesOf), { kinds }).flatMap((line) =>
    plotlyErrorTraces(
      { ...line, y: round(line.y), band: line.band && { lower: round(line.band.lower), upper: round(line.band.upper) } },
      axes[line.panel],
    ),
  );
}

const axisStyle = (title: string) => ({ title: { text: title }, zeroline: false });

/**
 * Paper Fig. 1: training error (left) and test error (right) of the shallowest and the deepest
 * plain net (plain-20 and plain-56 in the paper) vs iterations. The deeper plain net is worse on
 * both: degradation, not overfitting. Empty unless plain nets of two depths ran.
 */
export function figure1(records: RunRecord[]): PlotlyFigure {
  const depths = records.filter((r) => r.run.family === 'plain').map((r) => r.run.depth);
  const [shallow, deep] = [Math.min(...depths), Math.max(...depths)];
  const plain =
    depths.length && shallow !== deep
      ? records.filter((r) => r.run.family === 'plain' && (r.run.depth === shallow || r.run.depth === deep))
      : [];
  const left = { plain: { x: 'x', y: 'y' }, resnet: { x: 'x', y: 'y' } };
  const right = { plain: { x: 'x2', y: 'y2' }, resnet: { x: 'x2', y: 'y2' } };
  return {
    data: [...errorTraces(plain, left, ['train']), ...errorTraces(plain, right, ['test']).map((t) => ({ ...t, showlegend: false }))],
    layout: {
      title: { text: `Figure 1: plain-${shallow} vs plain-${deep} on CIFAR-10` },
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: axisStyle('iteration'),
      yaxis: axisStyle('training error (%)'),
      xaxis2: axisStyle('iteration'),
      yaxis2: axisStyle('test error (%)'),
      legend: { orientation: 'h', y: -0.25, yanchor: 'top' },
      margin: { b: 110 },
    },
  };
}

/** Paper Fig. 6 left (plain) and middle (ResNet): dashed training error, bold test error. */
export function figure6(records: RunRecord[]): PlotlyFigure {
  return {
    data: errorTraces(records, { plain: { x: 'x', y: 'y' }, resnet: { x: 'x2', y: 'y2' } }),
    layout: {
      title: { text: `Figure 6: plain nets (left) and ResNets (right) on CIFAR-10 — ${ERROR_CURVES.legend}` },
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: axisStyle('iteration (plain)'),
      yaxis: axisStyle('error (%)'),
      xaxis2: axisStyle('iteration (ResNet)'),
      yaxis2: { ...axisStyle('error (%)'), matches: 'y' },
      legend: { orientation: 'h', y: -0.25, yanchor: 'top' },
      margin: { b: 110 },
    },
  };
}

/** One row of Table 6. */
export interface Table6Row {
  net: string;
  family: 'plain' | 'resnet';
  depth: number;
  params: number;
  seeds: number;
  iterations: number;
  /** Final test error (%): mean and std over seeds. */
  testError: { mean: number; std: number };
  /** Final running training error (%), mean over seeds. */
  trainError: number;
  /** Inference-mode error on training images (%), mean over seeds, when measured. */
  trainEvalError?: number;
  /** The paper's Table 6 test error (%), ResNets only. */
  paper?: number;
  wallSeconds: number;
  imagesPerSecond: number;
}

/** Mean and sample standard deviation. */
export function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}

/** Table 6 from finished (or partial) runs: one row per net as trained (reslab-protocol's netGroups), seeds aggregated. */
export function table6(records: RunRecord[]): Table6Row[] {
  const measured = records.filter((r) => r.eval.length > 0 && r.train.length > 0);
  return netGroups(measured).map(({ net, runs }) => {
    const first = runs[0].run;
    const lastEval = runs.map((r) => r.eval[r.eval.length - 1]);
    const lastTrain = runs.map((r) => r.train[r.train.length - 1]);
    const trainEval = lastEval.map((e) => e.trainEvalError).filter((v): v is number => v !== undefined);
    const images = runs.reduce((sum, r) => sum + r.train.reduce((s, e) => s + e.window * r.run.batchSize, 0), 0);
    const seconds = runs.reduce((sum, r) => sum + r.train.reduce((s, e) => s + (e.window * r.run.batchSize) / e.imagesPerSecond, 0), 0);
    return {
      net,
      family: first.family,
      depth: first.depth,
      params: first.params,
      seeds: runs.length,
      iterations: Math.min(...lastEval.map((e) => e.iteration)),
      testError: (({ mean, std }) => ({ mean: mean * 100, std: std * 100 }))(meanStd(lastEval.map((e) => e.testError))),
      trainError: meanStd(lastTrain.map((e) => e.trainError)).mean * 100,
      trainEvalError: trainEval.length ? meanStd(trainEval).mean * 100 : undefined,
      // Table 6 is option A as the paper trained it: a variant or another shortcut has no number there.
      paper: first.family === 'resnet' && !first.variant && (first.shortcut ?? 'A') === 'A' ? PAPER_TABLE6[first.depth] : undefined,
      wallSeconds: meanStd(runs.map((r) => r.end?.wallSeconds ?? NaN)).mean,
      imagesPerSecond: images / seconds,
    };
  });
}

/** Table 6 as CSV. */
export function table6Csv(rows: Table6Row[]): string {
  const header =
    'net,depth,params,seeds,iterations,test_error_mean,test_error_std,train_error,train_eval_error,paper_test_error,wall_seconds,images_per_second';
  const lines = rows.map((r) =>
    csvLine([
      r.net,
      r.depth,
      r.params,
      r.seeds,
      r.iterations,
      r.testError.mean.toFixed(2),
      r.testError.std.toFixed(2),
      r.trainError.toFixed(2),
      r.trainEvalError?.toFixed(2),
      r.paper,
      Number.isFinite(r.wallSeconds) ? r.wallSeconds.toFixed(0) : undefined,
      r.imagesPerSecond.toFixed(1),
    ]),
  );
  return `${[header, ...lines].join('\n')}\n`;
}

/** Table 6 as a Markdown table (for READMEs and notebooks). */
export function table6Markdown(rows: Table6Row[]): string {
  const lines = [
    '| net | params | iterations | train error (running) | train error (inference) | test error | paper (Table 6) | wall | images/s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const test = testErrorText(r.testError, r.seeds);
    lines.push(
      `| ${r.net} | ${(r.params / 1e6).toFixed(2)}M | ${r.iterations} | ${r.trainError.toFixed(1)}% | ${r.trainEvalError === undefined ? '–' : `${r.trainEvalError.toFixed(1)}%`} | ${test}% | ${r.paper === undefined ? '–' : `${r.paper}%`} | ${Number.isFinite(r.wallSeconds) ? `${r.wallSeconds.toFixed(0)} s` : '–'} | ${r.imagesPerSecond.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

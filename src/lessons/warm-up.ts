/**
 * The first steps of a very deep net (§4.2): ResNet-110 at lr 0.1 "is slightly too large to start
 * converging", so the paper trains at 0.01 until the training error is below 80% (about 400
 * iterations), then at 0.1. Measured here: when each run's running training error first falls
 * below 80%, and which runs stall (never within the run) or diverge.
 */
import { Finding, judge, scaleOf } from '../experiments/claims';
import { RunRecord } from '../runs';
import { netGroups } from 'reslab-protocol';
import { PlotlyFigure } from '../experiments/figures';

/** The paper's threshold: warm-up ends when the running training error falls below 80%. */
export const STARTED_BELOW = 0.8;

/** How one run started. */
export interface FirstSteps {
  runId: string;
  net: string;
  seed: number;
  /** The first logged iteration with running training error below 80%, or undefined (stalled). */
  startedAt?: number;
  diverged: boolean;
  iterations: number;
  /** Running training error (%) of the last window. */
  trainError: number;
}

/** The first steps of every run with training windows, grouped by net as trained (label, variant). */
export function firstSteps(records: RunRecord[]): Array<{ net: string; runs: FirstSteps[] }> {
  return netGroups(records.filter((r) => r.train.length > 0)).map(({ net, runs }) => ({
    net,
    runs: runs.map((r) => ({
      runId: r.runId,
      net,
      seed: r.run.seed,
      startedAt: r.train.find((t) => t.trainError < STARTED_BELOW)?.iteration,
      diverged: r.end?.status === 'failed',
      iterations: r.train[r.train.length - 1].iteration,
      trainError: r.train[r.train.length - 1].trainError * 100,
    })),
  }));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** A stalled run counts as starting after its last iteration (for medians). */
const startOf = (r: FirstSteps) => (r.diverged ? Infinity : (r.startedAt ?? Infinity));
const startText = (r: FirstSteps) =>
  r.diverged ? 'diverged' : r.startedAt === undefined ? `stalled (${r.trainError.toFixed(1)}% at ${r.iterations})` : `${r.startedAt}`;
const medianText = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}` : 'never');

/** A Markdown table: per net, each seed's first iteration below 80%, the stalled and diverged, the median. */
export function firstStepsMarkdown(groups: ReturnType<typeof firstSteps>): string {
  return [
    '| net | below 80% training error at iteration (per seed) | stalled | diverged | median | running training error at the end |',
    '|---|---|---|---|---|---|',
    ...groups.map(
      (g) =>
        `| ${g.net} | ${g.runs.map(startText).join(', ')} | ${g.runs.filter((r) => !r.diverged && r.startedAt === undefined).length} of ${g.runs.length} | ${g.runs.filter((r) => r.diverged).length} | ${medianText(median(g.runs.map(startOf)))} | ${(g.runs.reduce((a, r) => a + r.trainError, 0) / g.runs.length).toFixed(1)}% |`,
    ),
  ].join('\n');
}

/**
 * The verdict: without warm-up the runs start later (or stall, or diverge) than with the paper's
 * warm-up. `withWarmup` and `withoutWarmup` are net labels (`ResNet-110`, `ResNet-110, no warm-up`).
 */
export function warmupFinding(records: RunRecord[], withWarmup: string, withoutWarmup: string): Finding {
  const claim =
    'At lr 0.1 a 110-layer ResNet is slow to start converging; a warm-up at lr 0.01 until the training error is below 80% gets it going.';
  const paper =
    '§4.2: "In this case, we find that the initial learning rate of 0.1 is slightly too large to start converging. So we use 0.01 to warm up the training until the training error is below 80% (about 400 iterations), and then go back to 0.1."';
  const base = { id: 'warm-up', figure: '§4.2', claim, paper };
  const groups = firstSteps(records);
  const warm = groups.find((g) => g.net === withWarmup);
  const cold = groups.find((g) => g.net === withoutWarmup);
  if (!warm || !cold) return { ...base, verdict: 'not tested', evidence: `needs runs of ${withWarmup} and ${withoutWarmup}` };
  const failures = (g: typeof warm) => g.runs.filter((r) => !Number.isFinite(startOf(r))).length;
  const [warmMedian, coldMedian] = [median(warm.runs.map(startOf)), median(cold.runs.map(startOf))];
  const evidence =
    `first iteration below 80% running training error, median over seeds: without warm-up (“${withoutWarmup}”) ${medianText(coldMedian)}, ${failures(cold)} of ${cold.runs.length} seeds stalled or diverged; ` +
    `with the paper's warm-up (“${withWarmup}”) ${medianText(warmMedian)}, ${failures(warm)} of ${warm.runs.length}`;
  const holds = failures(cold) > failures(warm) || coldMedian > warmMedian;
  const scale = scaleOf(records.filter((r) => warm.runs.concat(cold.runs).some((s) => s.runId === r.runId)));
  const iterations = Math.min(...warm.runs.concat(cold.runs).map((r) => r.iterations));
  const failure =
    failures(cold) === cold.runs.length && failures(warm) === warm.runs.length
      ? `neither start gets below 80% within ${iterations} iterations`
      : 'at lr 0.1 the net gets below 80% as soon as with the warm-up';
  return { ...base, ...judge(holds, scale, failure), evidence };
}

/** One colour per net as trained (up to six), the same for all its seeds. */
const VARIANT_COLOURS = ['#111111', '#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b'];

/** The first iterations of every run: running training error, a line per seed, a colour per net, and the 80% line. */
export function firstStepsFigure(records: RunRecord[]): PlotlyFigure {
  const groups = netGroups(records.filter((r) => r.train.length > 0));
  const data: Array<Record<string, unknown>> = groups.flatMap(({ net, runs }, g) =>
    runs.map((r, k) => ({
      type: 'scatter',
      mode: 'lines',
      name: `${net} (seed ${r.run.seed})`,
      legendgroup: net,
      showlegend: k === 0,
      x: r.train.map((t) => t.iteration),
      y: r.train.map((t) => Math.round(t.trainError * 1000) / 10),
      line: { color: VARIANT_COLOURS[g % VARIANT_COLOURS.length], width: 1.5 },
    })),
  );
  const last = Math.max(1, ...records.flatMap((r) => r.train.map((t) => t.iteration)));
  data.push({
    type: 'scatter',
    mode: 'lines',
    name: 'warm-up ends below 80%',
    x: [0, last],
    y: [80, 80],
    line: { color: '#999', dash: 'dot', width: 1 },
  });
  return {
    data,
    layout: {
      title: { text: 'The first iterations: running training error of every seed' },
      xaxis: { title: { text: 'iteration' } },
      yaxis: { title: { text: 'running training error (%)' }, range: [0, 100] },
      height: 380,
    },
  };
}

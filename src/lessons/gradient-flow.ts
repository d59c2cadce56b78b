/**
 * Why plain nets degrade, measured: the gradient each block's weights get (the probes' gradNorm)
 * from the first block to the last, and ‖F(x)‖/‖x‖, over blocks × iterations, next to the
 * training error. He et al. 2015 §4.1: with BN the gradients of plain nets are healthy, so their
 * degradation is an optimisation difficulty, not vanishing gradients.
 */
import { BlockProbe, netLabel, RunDescriptor } from 'reslab-protocol';
import { ShortcutOption } from '../blocks/blocks';
import { buildModel } from '../models/zoo';
import { Finding, judge, NOISE_POINTS, scaleOf } from '../experiments/claims';
import { PlotlyFigure } from '../experiments/figures';
import { RunRecord } from '../runs';
import { barelyLearning } from './nets';

/** The trainable weights of each block of a run's net (layers named `<block>_...`), from the net reslab builds for it. */
export function weightsPerBlock(run: Pick<RunDescriptor, 'model' | 'width' | 'shortcut'>): Map<string, number> {
  const model = buildModel(run.model, { width: run.width, shortcut: run.shortcut as ShortcutOption });
  const counts = new Map<string, number>();
  for (const layer of model.layers) {
    const block = /^(stage\d+_block\d+)_/.exec(layer.name)?.[1];
    if (block) counts.set(block, (counts.get(block) ?? 0) + layer.trainableWeights.reduce((n, w) => n + w.read().size, 0));
  }
  model.dispose();
  return counts;
}

/**
 * The gradient per weight (root mean square: the norm over √weights) of a block, so that blocks of
 * different widths compare: a block of stage 3 has 16 times the weights of one of stage 1.
 */
export function gradientRms(block: BlockProbe, weights: Map<string, number>): number {
  return block.gradNorm / Math.sqrt(weights.get(block.block) ?? NaN);
}

/** The first block's gradient per weight over the last block's: below 1 the gradient shrinks on its way back. */
export function gradientRatio(blocks: BlockProbe[], weights: Map<string, number>): number {
  return gradientRms(blocks[0], weights) / gradientRms(blocks[blocks.length - 1], weights);
}

/** One run's gradient flow: the first/last ratio at every probe and its training error at the end. */
export interface GradientFlow {
  runId: string;
  net: string;
  family: 'plain' | 'resnet';
  depth: number;
  iterations: number[];
  ratios: number[];
  /** Running training error (%) of the last logged window. */
  trainError: number;
}

/** The gradient flow of every run with probes. */
export function gradientFlow(records: RunRecord[]): GradientFlow[] {
  return records
    .filter((r) => r.probes.length > 0 && r.train.length > 0)
    .map((r) => {
      const weights = weightsPerBlock(r.run);
      return {
        runId: r.runId,
        net: netLabel(r.run),
        family: r.run.family,
        depth: r.run.depth,
        iterations: r.probes.map((p) => p.iteration),
        ratios: r.probes.map((p) => gradientRatio(p.blocks, weights)),
        trainError: r.train[r.train.length - 1].trainError * 100,
      };
    });
}

const ratioText = (v: number) => (v >= 0.01 ? v.toFixed(2) : v.toExponential(1));

/**
 * The ratios a verdict judges: every probe after iteration 0. The probe runs in inference mode, so
 * at iteration 0 BN still has its initial running statistics (mean 0, variance 1) and the net is
 * measured un-normalised; from the first training steps on they describe the data.
 */
export function trainedRatios(flow: GradientFlow): number[] {
  const trained = flow.ratios.filter((_, k) => flow.iterations[k] > 0);
  return trained.length ? trained : flow.ratios;
}

/** A Markdown table: each net's first/last gradient-per-weight ratio at iteration 0 and at the end, its lowest once training started, and its training error. */
export function gradientFlowMarkdown(flows: GradientFlow[]): string {
  return [
    '| net | gradient per weight, first/last block, at iteration 0 (BN not yet calibrated) | at the end | lowest after iteration 0 | running training error at the end |',
    '|---|---|---|---|---|',
    ...flows.map(
      (f) =>
        `| ${f.net} | ${ratioText(f.ratios[0])} (iteration ${f.iterations[0]}) | ${ratioText(f.ratios[f.ratios.length - 1])} (iteration ${f.iterations[f.iterations.length - 1]}) | ${ratioText(Math.min(...trainedRatios(f)))} | ${f.trainError.toFixed(1)}% |`,
    ),
  ].join('\n');
}

/** Gradients "vanish" when the first block's gradient per weight is less than this fraction of the last block's. */
export const VANISHING_RATIO = 0.1;

/** The verdict: the plain net's gradients stay healthy while it trains worse than the ResNet of its depth. */
export function gradientFinding(records: RunRecord[]): Finding {
  const flows = gradientFlow(records);
  const claim =
    "Plain nets do not degrade because their gradients vanish: with BN the gradient reaching a deep plain net's first block stays healthy, yet the net trains worse than the ResNet of its depth (an optimisation difficulty).";
  const paper =
    '§4.1: "we also verify that the backward propagated gradients exhibit healthy norms with BN. So neither forward nor backward signals vanish"; plain-34 has higher training error than plain-18 throughout training (Fig. 4).';
  const base = { id: 'healthy-gradients', figure: '§4.1', claim, paper };
  const depth = Math.max(
    0,
    ...flows.filter((f) => f.family === 'plain' && flows.some((g) => g.family === 'resnet' && g.depth === f.depth)).map((f) => f.depth),
  );
  const plain = flows.find((f) => f.family === 'plain' && f.depth === depth);
  const resnet = flows.find((f) => f.family === 'resnet' && f.depth === depth);
  if (!plain || !resnet)
    return { ...base, verdict: 'not tested', evidence: 'needs probed runs of a plain net and a ResNet of the same depth' };
  const lowest = Math.min(...trainedRatios(plain));
  const gap = plain.trainError - resnet.trainError;
  const evidence =
    `first/last block gradient per weight of ${plain.net}: ${ratioText(plain.ratios[0])} at iteration ${plain.iterations[0]} (BN's running statistics still at their initial values), ${ratioText(plain.ratios[plain.ratios.length - 1])} at ${plain.iterations[plain.iterations.length - 1]}, never below ${ratioText(lowest)} after iteration 0 ` +
    `(${resnet.net}: ${ratioText(resnet.ratios[0])} → ${ratioText(resnet.ratios[resnet.ratios.length - 1])}); running training error ${plain.net} ${plain.trainError.toFixed(1)}% vs ${resnet.net} ${resnet.trainError.toFixed(1)}% (${gap >= 0 ? '+' : '−'}${Math.abs(gap).toFixed(1)} points)`;
  if (lowest < VANISHING_RATIO)
    return {
      ...base,
      verdict: 'not reproduced',
      evidence: `${evidence}: the plain net's gradient does shrink below ${VANISHING_RATIO} of the last block's`,
    };
  const compared = records.filter((r) => r.runId === plain.runId || r.runId === resnet.runId);
  const early = barelyLearning([plain, resnet].map((f) => ({ net: f.net, trainError: f.trainError })));
  if (early && gap <= NOISE_POINTS) return { ...base, verdict: 'not at this scale', evidence, why: early };
  return { ...base, ...judge(gap > NOISE_POINTS, scaleOf(compared), `${plain.net} has not yet fallen behind ${resnet.net}`), evidence };
}

/**
 * Heatmaps of a probe statistic over blocks (rows, first block on top) × iterations (columns),
 * one panel per run: `gradNorm` (log10 of the gradient per weight, gradientRms) or `branchRatio`.
 */
export function blockHeatmaps(records: RunRecord[], statistic: 'gradNorm' | 'branchRatio'): PlotlyFigure {
  const probed = records.filter((r) => r.probes.length > 0);
  const width = 1 / Math.max(1, probed.length);
  const title = statistic === 'gradNorm' ? 'log10 of the gradient per weight' : '‖F(x)‖/‖x‖';
  const data = probed.map((r, i) => {
    const weights = statistic === 'gradNorm' ? weightsPerBlock(r.run) : new Map<string, number>();
    const value = (b: BlockProbe) => (statistic === 'gradNorm' ? Math.log10(Math.max(gradientRms(b, weights), 1e-12)) : b.branchRatio);
    const axis = i === 0 ? '' : String(i + 1);
    return {
      type: 'heatmap',
      name: netLabel(r.run),
      x: r.probes.map((p) => p.iteration),
      y: r.probes[0].blocks.map((b) => b.block),
      z: r.probes[0].blocks.map((_, b) => r.probes.map((p) => Math.round(value(p.blocks[b]) * 1000) / 1000)),
      coloraxis: 'coloraxis',
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
    };
  });
  const layout: Record<string, unknown> = {
    title: { text: `${title} of every block while training` },
    coloraxis: { colorscale: 'Viridis', colorbar: { title: { text: statistic === 'gradNorm' ? 'log10' : 'ratio' } } },
    height: 420,
    annotations: probed.map((r, i) => ({
      text: netLabel(r.run),
      xref: `x${i === 0 ? '' : i + 1} domain`,
      yref: 'paper',
      x: 0.5,
      y: 1.04,
      showarrow: false,
    })),
  };
  probed.forEach((_, i) => {
    const axis = i === 0 ? '' : String(i + 1);
    layout[`xaxis${axis}`] = { domain: [i * width + 0.02, (i + 1) * width - 0.04], title: { text: 'iteration' } };
    layout[`yaxis${axis}`] = {
      anchor: `x${axis}`,
      autorange: 'reversed',
      showticklabels: i === 0,
      title: { text: i === 0 ? 'block' : '' },
    };
  });
  return { data, layout };
}

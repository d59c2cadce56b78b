/**
 * A lesion study (Veit, Wilber, Belongie 2016, "Residual networks behave like ensembles of
 * relatively shallow networks"): delete blocks from a trained net — each becomes its shortcut,
 * H(x) = x — and measure the test error, one block at a time and several at once.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { netLabel, withOpacity } from 'reslab-protocol';
import { CifarDataset } from '../data/cifar';
import { exampleTensors } from '../data/tensors';
import { BARELY_LEARNING, Finding, NOISE_POINTS } from '../experiments/claims';
import { PlotlyFigure } from '../experiments/figures';
import { buildNetwork } from '../models/network';
import { modelSpec } from '../models/zoo';
import { RunDirectory, runSplit } from '../runs';
import { TrainConfig } from '../train/config';
import { countErrors } from '../train/step';
import { fixedUniform } from '../check/weights';
import { signedPoints } from './nets';

/** The net `trained` is, with the `deleted` blocks replaced by their shortcuts; every other weight as trained. */
export function lesioned(
  trained: tf.LayersModel,
  config: Pick<TrainConfig, 'model' | 'modelOptions'>,
  deleted: readonly string[],
): tf.LayersModel {
  const blocks = blocksOf(trained).map((b) => b.block);
  const unknown = deleted.filter((b) => !blocks.includes(b));
  if (unknown.length) throw new Error(`${config.model} has no block ${unknown.join(', ')}: its blocks are ${blocks.join(', ')}`);
  const net = buildNetwork({ ...modelSpec(config.model, config.modelOptions), deleted });
  for (const layer of net.layers) if (layer.getWeights().length) layer.setWeights(trained.getLayer(layer.name).getWeights());
  return net;
}

/** The blocks of a net in order, and which of them downsample (the first of stages 2 and 3). */
export function blocksOf(model: tf.LayersModel): Array<{ block: string; downsampling: boolean }> {
  const names = [
    ...new Set(model.layers.map((l) => /^(stage\d+_block\d+)_/.exec(l.name)?.[1]).filter((b): b is string => b !== undefined)),
  ];
  return names.map((block) => ({ block, downsampling: /^stage[2-9]\d*_block1$/.test(block) }));
}

/** What deleting blocks from one trained run did to its test error (%). */
export interface LesionStudy {
  runId: string;
  /** `ResNet-56`, `plain-56`. */
  net: string;
  family: 'plain' | 'resnet';
  testImages: number;
  intact: number;
  /** One block deleted at a time, in block order. */
  single: Array<{ block: string; downsampling: boolean; testError: number }>;
  /** `count` blocks deleted at once (random sets of blocks that keep the shape), each sample's error. */
  several: Array<{ count: number; testErrors: number[] }>;
}

/** Random `count` of `items` (a fixed shuffle per `seed`). */
function sample<T>(items: T[], count: number, seed: number): T[] {
  const keys = fixedUniform(items.length, 0, 1, seed);
  return items
    .map((item, i) => ({ item, key: keys[i] }))
    .sort((a, b) => a.key - b.key)
    .slice(0, count)
    .map((e) => e.item);
}

/**
 * The lesion study of a finished run: its trained model (runs/<id>/model) evaluated on the run's
 * own test images, intact, with each block deleted, and with `counts` blocks deleted at once
 * (`samples` random sets each, drawn from the blocks that do not downsample).
 */
export async function lesionStudy(
  run: RunDirectory,
  data: CifarDataset,
  options: { counts?: number[]; samples?: number } = {},
): Promise<LesionStudy> {
  if (!fs.existsSync(run.modelFile)) throw new Error(`${run.runId} has no trained model (${run.modelFile}): finish the run first`);
  const config = run.readConfig<TrainConfig>();
  const { evaluation, mean } = runSplit(data, config);
  const { images, labels, count } = exampleTensors(evaluation, mean);
  const trained = await tf.loadLayersModel(`file://${run.modelFile}`);
  const errorOf = (deleted: string[]) => {
    const net = deleted.length ? lesioned(trained, config, deleted) : trained;
    const error = (countErrors(net, images, labels) / count) * 100;
    if (net !== trained) net.dispose();
    return error;
  };
  try {
    const blocks = blocksOf(trained);
    const keepShape = blocks.filter((b) => !b.downsampling).map((b) => b.block);
    const counts = (options.counts ?? [2, 4, 8]).filter((n) => n <= keepShape.length);
    const samples = options.samples ?? 4;
    const descriptor = run.readEvents().find((e) => e.type === 'run_start');
    const family = descriptor?.type === 'run_start' ? descriptor.run.family : config.model.startsWith('plain') ? 'plain' : 'resnet';
    return {
      runId: run.runId,
      net: descriptor?.type === 'run_start' ? netLabel(descriptor.run) : config.model,
      family,
      testImages: count,
      intact: errorOf([]),
      single: blocks.map((b) => ({ ...b, testError: errorOf([b.block]) })),
      several: counts.map((n) => ({
        count: n,
        testErrors: Array.from({ length: samples }, (_, s) => errorOf(sample(keepShape, n, 97 * n + s))),
      })),
    };
  } finally {
    trained.dispose();
    tf.dispose([images, labels]);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const pct = (v: number) => `${v.toFixed(1)}%`;
const COLOURS = { resnet: '#1f77b4', plain: '#d62728' } as const;

/** Two panels: the test error with each block deleted (downsampling blocks marked), and against the number deleted at once. */
export function lesionFigure(studies: LesionStudy[]): PlotlyFigure {
  const data: Array<Record<string, unknown>> = [];
  for (const s of studies) {
    const colour = COLOURS[s.family];
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `${s.net}: one block deleted`,
      x: s.single.map((_, i) => i + 1),
      y: s.single.map((b) => Math.round(b.testError * 10) / 10),
      text: s.single.map((b) => `${b.block}${b.downsampling ? ' (downsampling)' : ''}`),
      line: { color: colour, width: 1.5 },
      marker: { color: colour },
      xaxis: 'x',
      yaxis: 'y',
    });
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${s.net} intact`,
      x: [1, s.single.length],
      y: [s.intact, s.intact],
      line: { color: colour, dash: 'dot', width: 1 },
      xaxis: 'x',
      yaxis: 'y',
    });
    const points = [
      { count: 0, testErrors: [s.intact] },
      { count: 1, testErrors: s.single.filter((b) => !b.downsampling).map((b) => b.testError) },
      ...s.several,
    ];
    const round = (v: number) => Math.round(v * 10) / 10;
    const base = {
      type: 'scatter',
      mode: 'lines',
      x: points.map((p) => p.count),
      xaxis: 'x2',
      yaxis: 'y2',
      showlegend: false,
      hoverinfo: 'skip',
      line: { width: 0 },
    };
    data.push({ ...base, name: `${s.net} (highest)`, y: points.map((p) => round(Math.max(...p.testErrors))) });
    data.push({
      ...base,
      name: `${s.net} (lowest)`,
      y: points.map((p) => round(Math.min(...p.testErrors))),
      fill: 'tonexty',
      fillcolor: withOpacity(colour, 0.2),
    });
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `${s.net}: blocks deleted at once (mean)`,
      x: points.map((p) => p.count),
      y: points.map((p) => round(p.testErrors.reduce((a, b) => a + b, 0) / p.testErrors.length)),
      line: { color: colour, width: 2 },
      marker: { color: colour },
      xaxis: 'x2',
      yaxis: 'y2',
    });
  }
  return {
    data,
    layout: {
      title: { text: 'Lesion study: test error after deleting blocks (Veit et al. 2016, Fig. 3 and 5)' },
      xaxis: { domain: [0, 0.47], title: { text: 'deleted block (1 = first; downsampling blocks are the first of stages 2 and 3)' } },
      yaxis: { title: { text: 'test error (%)' }, range: [0, 100] },
      xaxis2: { domain: [0.53, 1], title: { text: 'blocks deleted at once (none downsampling)' } },
      yaxis2: { anchor: 'x2', range: [0, 100] },
      annotations: [
        { text: 'one block at a time', xref: 'x domain', yref: 'paper', x: 0.5, y: 1.05, showarrow: false },
        { text: 'several at once (mean, shaded: range)', xref: 'x2 domain', yref: 'paper', x: 0.5, y: 1.05, showarrow: false },
      ],
      height: 380,
    },
  };
}

/** The lesion studies as a Markdown table: intact, one block deleted (median, worst), several at once. */
export function lesionMarkdown(studies: LesionStudy[]): string {
  const counts = [...new Set(studies.flatMap((s) => s.several.map((p) => p.count)))];
  const rows = studies.map((s) => {
    const plain = s.single.filter((b) => !b.downsampling);
    const down = s.single.filter((b) => b.downsampling);
    const worst = plain.reduce((a, b) => (b.testError > a.testError ? b : a), plain[0]);
    const several = counts.map((n) => {
      const point = s.several.find((p) => p.count === n);
      return point ? pct(point.testErrors.reduce((a, b) => a + b, 0) / point.testErrors.length) : '–';
    });
    return `| ${s.net} | ${pct(s.intact)} | ${pct(median(plain.map((b) => b.testError)))} | ${pct(worst.testError)} (${worst.block}) | ${down.map((b) => `${pct(b.testError)} (${b.block})`).join(', ') || '–'} | ${several.join(' | ')} |`;
  });
  return [
    `| net | intact | one block deleted: median | worst | a downsampling block deleted | ${counts.map((n) => `${n} deleted`).join(' | ')} |`,
    `|---|---|---|---|---|${counts.map(() => '---|').join('')}`,
    ...rows,
  ].join('\n');
}

/** Below this test error (%) a net has been damaged to near chance (90% on CIFAR-10). */
export const COLLAPSED = 80;
/** A deletion that raises a ResNet's test error by at most this many points is "barely hurts" (Veit et al.: most single deletions change ResNet-110's error by under a point). */
export const SMOOTH_POINTS = 5;

/** The verdict: ResNets degrade smoothly when a block is deleted, plain nets collapse. */
export function lesionFinding(studies: LesionStudy[]): Finding {
  const claim =
    "Residual networks behave like ensembles: deleting one block (not a downsampling one) barely changes a ResNet's test error, while it breaks a plain net.";
  const paper =
    'Veit et al. 2016, Fig. 3: deleting any single block of ResNet-110 on CIFAR-10 leaves the error almost unchanged except at downsampling blocks, while deleting a layer of VGG-15 (a plain net) on ImageNet drops it to chance; Fig. 5: the error of a ResNet rises smoothly with the number of blocks deleted.';
  const base = { id: 'lesion', figure: 'Veit et al. Fig. 3, 5', claim, paper };
  const resnet = studies.find((s) => s.family === 'resnet');
  const plain = studies.find((s) => s.family === 'plain');
  if (!resnet || !plain) return { ...base, verdict: 'not tested', evidence: 'needs a lesion study of a trained ResNet and of a plain net' };
  const rise = (s: LesionStudy) => median(s.single.filter((b) => !b.downsampling).map((b) => b.testError)) - s.intact;
  const plainMedian = median(plain.single.filter((b) => !b.downsampling).map((b) => b.testError));
  const evidence =
    `median test error with one block deleted: ${resnet.net} ${pct(resnet.intact + rise(resnet))} (intact ${pct(resnet.intact)}, ${signedPoints(rise(resnet))} points), ` +
    `${plain.net} ${pct(plainMedian)} (intact ${pct(plain.intact)}, ${signedPoints(rise(plain))} points), on ${resnet.testImages.toLocaleString('en-US')} test images`;
  const untrained = [resnet, plain].filter((s) => s.intact > BARELY_LEARNING);
  if (untrained.length)
    return {
      ...base,
      verdict: 'not at this scale',
      evidence,
      why: `${untrained.map((s) => `the intact ${s.net} (${pct(s.intact)})`).join(' and ')} ${untrained.length > 1 ? 'have' : 'has'} barely started to learn (test error above ${BARELY_LEARNING}%): there is little to break yet; train longer`,
    };
  const smooth = rise(resnet) <= SMOOTH_POINTS;
  const collapses = plainMedian >= COLLAPSED && rise(plain) > rise(resnet) + NOISE_POINTS;
  if (smooth && collapses) return { ...base, verdict: 'reproduced', evidence };
  const failure = !smooth
    ? `deleting a block raises ${resnet.net}'s error by more than ${SMOOTH_POINTS} points`
    : `${plain.net} does not collapse (its median error stays below ${COLLAPSED}%, or rises no more than ${resnet.net}'s)`;
  return { ...base, verdict: 'not reproduced', evidence: `${evidence}: ${failure}` };
}

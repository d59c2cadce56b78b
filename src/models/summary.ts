import * as tf from '@tensorflow/tfjs';

/** One layer in a {@link ModelSummary}. */
export interface LayerSummary {
  name: string;
  type: string;
  /** Output shape without the batch dimension. */
  outputShape: number[];
  /** Trainable parameters (BN running statistics are not parameters). */
  params: number;
  /** Multiply-adds per image (the paper's "FLOPs"), convolutions and fully connected layers. */
  flops: number;
  /** `stem`, `stage1`..`stageN` or `head`. */
  stage: string;
}

/** Parameters and FLOPs of one stage. */
export interface StageSummary {
  stage: string;
  outputShape: number[];
  params: number;
  flops: number;
}

/** What `reslab summary` prints. */
export interface ModelSummary {
  model: string;
  inputShape: number[];
  params: number;
  /** Non-trainable weights (BN moving mean and variance). */
  nonTrainableParams: number;
  flops: number;
  layers: LayerSummary[];
  stages: StageSummary[];
}

function stageOf(layerName: string): string {
  const match = /^(stage\d+)_/.exec(layerName);
  if (match) return match[1];
  return layerName.startsWith('head') ? 'head' : 'stem';
}

function outputShapeOf(layer: tf.layers.Layer): number[] {
  const shape = layer.outputShape as (number | null)[];
  return shape.slice(1).map((d) => d ?? -1);
}

function countParams(weights: tf.LayerVariable[]): number {
  return weights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/** Multiply-adds of a layer per image. */
function flopsOf(layer: tf.layers.Layer): number {
  const type = layer.getClassName();
  if (type === 'Conv2D') {
    const [kh, kw, inChannels, outChannels] = layer.getWeights()[0].shape as number[];
    const [h, w] = outputShapeOf(layer);
    return h * w * kh * kw * inChannels * outChannels;
  }
  if (type === 'Dense') {
    const [inputs, units] = layer.getWeights()[0].shape as number[];
    return inputs * units;
  }
  return 0;
}

/** Layers, output shapes, parameters and FLOPs (multiply-adds) per layer, per stage and in total. */
export function summarize(model: tf.LayersModel): ModelSummary {
  const layers: LayerSummary[] = model.layers
    .filter((layer) => layer.getClassName() !== 'InputLayer')
    .map((layer) => ({
      name: layer.name,
      type: layer.getClassName(),
      outputShape: outputShapeOf(layer),
      params: countParams(layer.trainableWeights),
      flops: flopsOf(layer),
      stage: stageOf(layer.name),
    }));
  const stages: StageSummary[] = [];
  for (const layer of layers) {
    let stage = stages[stages.length - 1];
    if (!stage || stage.stage !== layer.stage) {
      stage = { stage: layer.stage, outputShape: layer.outputShape, params: 0, flops: 0 };
      stages.push(stage);
    }
    stage.outputShape = layer.outputShape;
    stage.params += layer.params;
    stage.flops += layer.flops;
  }
  const inputShape = (model.inputs[0].shape as (number | null)[]).slice(1).map((d) => d ?? -1);
  return {
    model: model.name,
    inputShape,
    params: layers.reduce((sum, l) => sum + l.params, 0),
    nonTrainableParams: countParams(model.nonTrainableWeights),
    flops: layers.reduce((sum, l) => sum + l.flops, 0),
    layers,
    stages,
  };
}

const human = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);

/** A fixed-width text table of a summary (`layers`: one row per layer, else one per stage). */
export function formatSummary(summary: ModelSummary, options: { layers?: boolean } = {}): string {
  const perLayer = options.layers === true;
  const rows: string[][] = [perLayer ? ['name', 'type', 'output', 'params', 'FLOPs'] : ['stage', 'output', 'params', 'FLOPs']];
  const count = (n: number) => n.toLocaleString('en-US');
  if (perLayer) {
    for (const l of summary.layers) rows.push([l.name, l.type, l.outputShape.join('x'), count(l.params), human(l.flops)]);
  } else {
    for (const s of summary.stages) rows.push([s.stage, s.outputShape.join('x'), count(s.params), human(s.flops)]);
  }
  rows.push([...(perLayer ? ['total', ''] : ['total']), '', count(summary.params), human(summary.flops)]);
  const numeric = rows[0].length - 2; // params and FLOPs are right-aligned
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c >= numeric ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return [
    `${summary.model}: input ${summary.inputShape.join('x')}, ${summary.params.toLocaleString('en-US')} parameters ` +
      `(${human(summary.params)}), ${human(summary.flops)} FLOPs (multiply-adds)`,
    line(rows[0]),
    ...rows.slice(1).map(line),
  ].join('\n');
}

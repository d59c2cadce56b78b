/**
 * Giving two models of the same layers the same weights, whatever their layers are called and in
 * whatever order they were created: convolutions pair by kernel shape (then in graph order), batch
 * norms by the convolution they follow, dense layers in order.
 */
import * as tf from '@tensorflow/tfjs';

type Layer = tf.layers.Layer;

const kernelShape = (layer: Layer) => layer.getWeights()[0]?.shape ?? [];
/** `3×3 conv 8→16` */
export function describeConv(layer: Layer): string {
  const [kh, kw, cin, cout] = kernelShape(layer);
  const strides = (layer.getConfig().strides as number[] | undefined) ?? [1, 1];
  return `${kh}×${kw} conv ${cin}→${cout}${strides[0] > 1 ? `, stride ${strides[0]}` : ''}`;
}

/** Trainable parameters: the count the papers quote (batch norms' running statistics excluded). */
export function trainableParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.read().size, 0);
}

export const isConv = (layer: Layer) => layer.getClassName() === 'Conv2D';
export const isBatchNorm = (layer: Layer) => layer.getClassName() === 'BatchNormalization';
const isDense = (layer: Layer) => layer.getClassName() === 'Dense';

/** The layers feeding `layer` (its first call). */
function inputsOf(layer: Layer): Layer[] {
  return layer.inboundNodes[0]?.inboundLayers ?? [];
}

/** The nearest convolution upstream of `layer` (breadth first, the first input first), or undefined. */
function upstreamConv(layer: Layer): Layer | undefined {
  const queue = [...inputsOf(layer)];
  const seen = new Set<Layer>();
  while (queue.length) {
    const next = queue.shift() as Layer;
    if (seen.has(next)) continue;
    seen.add(next);
    if (isConv(next)) return next;
    queue.push(...inputsOf(next));
  }
  return undefined;
}

/** Pairs of (reference layer, other layer) with weights, or what keeps the two models from pairing. */
export type Pairing = { pairs: Array<[Layer, Layer]> } | { problem: string };

/** Pairs the weighted layers of `reference` with those of `other`. */
export function pairLayers(reference: tf.LayersModel, other: tf.LayersModel): Pairing {
  const pairs: Array<[Layer, Layer]> = [];
  const shapeKey = (l: Layer) => kernelShape(l).join('x');
  const refConvs = reference.layers.filter(isConv);
  const otherConvs = other.layers.filter(isConv);
  const byShape = (layers: Layer[]) => {
    const groups = new Map<string, Layer[]>();
    for (const l of layers) groups.set(shapeKey(l), [...(groups.get(shapeKey(l)) ?? []), l]);
    return groups;
  };
  const refGroups = byShape(refConvs);
  const otherGroups = byShape(otherConvs);
  const convList = (layers: Layer[]) => layers.map(describeConv).join(', ') || 'none';
  for (const [key, refs] of refGroups) {
    const others = otherGroups.get(key) ?? [];
    if (others.length !== refs.length || otherGroups.size !== refGroups.size)
      return { problem: `convolutions: yours are ${convList(otherConvs)}; reslab's are ${convList(refConvs)}` };
    refs.forEach((r, i) => pairs.push([r, others[i]]));
  }
  const convPair = new Map(pairs.map(([r, o]) => [r, o]));
  const refNorms = reference.layers.filter(isBatchNorm);
  const otherNorms = other.layers.filter(isBatchNorm);
  if (refNorms.length !== otherNorms.length)
    return { problem: `batch norms: yours has ${otherNorms.length}, reslab's has ${refNorms.length} (one after every convolution)` };
  const unpaired = new Set(otherNorms);
  for (const r of refNorms) {
    const conv = upstreamConv(r);
    const wanted = conv ? convPair.get(conv) : undefined;
    const match = [...unpaired].find((o) => upstreamConv(o) === wanted && o.getWeights()[0].shape[0] === r.getWeights()[0].shape[0]);
    if (!match)
      return { problem: `the batch norm after reslab's ${conv ? describeConv(conv) : 'block input'} has no counterpart in yours` };
    unpaired.delete(match);
    pairs.push([r, match]);
  }
  const refDense = reference.layers.filter(isDense);
  const otherDense = other.layers.filter(isDense);
  if (refDense.length !== otherDense.length)
    return { problem: `dense layers: yours has ${otherDense.length}, reslab's has ${refDense.length}` };
  refDense.forEach((r, i) => pairs.push([r, otherDense[i]]));
  for (const [r, o] of pairs) {
    const shapes = (l: Layer) => JSON.stringify(l.getWeights().map((w) => w.shape));
    if (shapes(r) !== shapes(o)) return { problem: `${o.name}'s weights are ${shapes(o)}, reslab's ${r.name} has ${shapes(r)}` };
  }
  return { pairs };
}

/** Copies every paired reference layer's weights into its counterpart. */
export function copyWeights(pairs: Array<[Layer, Layer]>): void {
  for (const [from, to] of pairs) to.setWeights(from.getWeights());
}

/** Deterministic uniform numbers in [lo, hi) (a fixed LCG: the same inputs on every machine). */
export function fixedUniform(count: number, lo: number, hi: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((state >>> 8) / 2 ** 24) * (hi - lo);
  }
  return out;
}

/**
 * Gives the reference's batch norms non-trivial statistics and affine parameters (γ in [0.5, 1.5),
 * β in [−0.5, 0.5), running mean in [−0.2, 0.2), variance in [0.5, 1.5)), so that a misplaced BN changes the output.
 */
export function varyBatchNorms(model: tf.LayersModel, seed: number): void {
  model.layers.filter(isBatchNorm).forEach((layer, k) => {
    const n = layer.getWeights()[0].shape[0];
    const ranges: Array<[number, number]> = [
      [0.5, 1.5],
      [-0.5, 0.5],
      [-0.2, 0.2],
      [0.5, 1.5],
    ];
    const values = ranges.map(([lo, hi], j) => tf.tensor1d(fixedUniform(n, lo, hi, seed * 1000 + k * 10 + j)));
    layer.setWeights(values);
    tf.dispose(values);
  });
}

import * as tf from '@tensorflow/tfjs';
import { BlockProbe } from 'reslab-protocol';

/** Where one block's tensors of interest live in a reslab model. */
export interface BlockTaps {
  block: string;
  /** The block input x. */
  input: tf.SymbolicTensor;
  /** The residual branch F(x), before the addition (for plain blocks: the same layers' output). */
  branch: tf.SymbolicTensor;
  /** The block output. */
  output: tf.SymbolicTensor;
  /** Each 3x3 conv's response after BN, before addition/ReLU (paper Fig. 7), in layer order. */
  responses: tf.SymbolicTensor[];
  /** The block's ReLU outputs. */
  relus: tf.SymbolicTensor[];
  /** The block's trainable variables (convs, BN gamma/beta, projections). */
  variables: tf.Variable[];
}

const BLOCK_PREFIX = /^(stage\d+_block\d+)_/;

function single(tensor: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return Array.isArray(tensor) ? tensor[0] : tensor;
}

/**
 * Finds every block of a model built by the reslab builders (layer names `stage{s}_block{b}_*`).
 * Works for residual and plain, basic and bottleneck, post- and pre-activation blocks.
 */
export function blockTaps(model: tf.LayersModel): BlockTaps[] {
  const groups = new Map<string, tf.layers.Layer[]>();
  for (const layer of model.layers) {
    const match = BLOCK_PREFIX.exec(layer.name);
    if (!match) continue;
    groups.set(match[1], [...(groups.get(match[1]) ?? []), layer]);
  }
  if (groups.size === 0) throw new Error(`model ${model.name} has no reslab blocks (layers named stage<s>_block<b>_*)`);
  return [...groups.entries()].map(([block, layers]) => {
    const byName = new Map(layers.map((l) => [l.name.slice(block.length + 1), l]));
    const branchLayers = layers.filter((l) => !l.name.includes('_shortcut'));
    const convIndices = branchLayers
      .map((l) => /_conv(\d+)$/.exec(l.name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
    const lastConv = Math.max(...convIndices);
    const preActivation = byName.has('preact_bn');
    const add = byName.get('add');
    // F(x): the addition's first input; a plain block's F(x) is its last BN (post) or conv (pre).
    const branchEnd = add
      ? (add.input as tf.SymbolicTensor[])[0]
      : single((byName.get(preActivation ? `conv${lastConv}` : `bn${lastConv}`) as tf.layers.Layer).output);
    const first = branchLayers[0];
    const responses = convIndices
      .filter((i) => {
        const kernel = (byName.get(`conv${i}`) as tf.layers.Layer).getWeights()[0].shape;
        return kernel[0] === 3 && byName.has(`bn${i}`);
      })
      .map((i) => single((byName.get(`bn${i}`) as tf.layers.Layer).output));
    return {
      block,
      input: single(first.input),
      branch: branchEnd,
      output: single(branchLayers[branchLayers.length - 1].output),
      responses,
      relus: layers.filter((l) => l.getClassName() === 'Activation').map((l) => single(l.output)),
      variables: layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable)),
    };
  });
}

/** Mean over examples of the per-example L2 norm. */
function meanNorm(x: tf.Tensor): tf.Scalar {
  const perExample = x.reshape([x.shape[0], -1]);
  return perExample.square().sum(1).sqrt().mean();
}

/** Std over all elements (population std, as numpy's default). */
function std(x: tf.Tensor): tf.Scalar {
  const { variance } = tf.moments(x);
  return variance.sqrt() as tf.Scalar;
}

/** Fraction of units (position x channel) that are zero for every example of the batch. */
function deadFraction(relus: tf.Tensor[]): tf.Scalar {
  if (relus.length === 0) return tf.scalar(0);
  const fractions = relus.map((r) => r.max(0).lessEqual(0).cast('float32').mean());
  return tf.addN(fractions).div(relus.length) as tf.Scalar;
}

/** A probe on a fixed batch; call it as often as you like (it never changes the model). */
export interface Probe {
  (): BlockProbe[];
  /** Releases the probe's tensors. */
  dispose(): void;
}

/**
 * Creates a probe of `model` on a fixed batch: per block, the std of each 3x3 layer's response
 * (paper Fig. 7), the mean per-example L2 norms of x, F(x) and the output, ||F(x)|| / ||x|| (the
 * ratio of those means), the L2 norm of the gradient of the loss w.r.t. the block's weights,
 * and the fraction of dead ReLU units. Everything runs in inference mode (BN running
 * statistics), so probing does not change BN's averages. The probe shares the model's
 * weights; it builds no copy.
 */
export function createProbe(model: tf.LayersModel, images: tf.Tensor4D, labels: tf.Tensor1D): Probe {
  const taps = blockTaps(model);
  // Block k's output is block k+1's input: one model output per distinct tensor, indexed.
  const wanted = taps.flatMap((t) => [t.input, t.branch, t.output, ...t.responses, ...t.relus]);
  const outputs = [...new Set(wanted)];
  const slot = wanted.map((tensor) => outputs.indexOf(tensor));
  const tapModel = tf.model({ inputs: model.inputs, outputs });
  const probeImages = images.clone();
  const probeLabels = labels.clone();
  const allVariables = taps.flatMap((t) => t.variables);

  const probe = ((): BlockProbe[] => {
    const stats = tf.tidy(() => {
      const distinct = tapModel.apply(probeImages, { training: false }) as tf.Tensor[];
      const values = slot.map((i) => distinct[i]);
      const { grads } = tf.variableGrads(() => {
        const logits = model.apply(probeImages, { training: false }) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(probeLabels, logits.shape[1]), logits) as tf.Scalar;
      }, allVariables);
      let at = 0;
      const scalars: tf.Scalar[] = [];
      for (const t of taps) {
        const [x, f, out] = values.slice(at, at + 3);
        const responses = values.slice(at + 3, at + 3 + t.responses.length);
        const relus = values.slice(at + 3 + t.responses.length, at + 3 + t.responses.length + t.relus.length);
        at += 3 + t.responses.length + t.relus.length;
        const inputNorm = meanNorm(x);
        const branchNorm = meanNorm(f);
        const gradSquares = t.variables.map((v) => grads[v.name].square().sum());
        scalars.push(
          inputNorm,
          branchNorm,
          meanNorm(out),
          branchNorm.div(inputNorm.add(1e-12)) as tf.Scalar,
          (gradSquares.length ? tf.addN(gradSquares).sqrt() : tf.scalar(0)) as tf.Scalar,
          deadFraction(relus),
          ...responses.map(std),
        );
      }
      return tf.stack(scalars);
    });
    const flat = stats.dataSync();
    stats.dispose();
    let at = 0;
    return taps.map((t) => {
      const [inputNorm, branchNorm, outputNorm, branchRatio, gradNorm, deadReluFraction] = Array.from(flat.subarray(at, at + 6));
      const responseStd = Array.from(flat.subarray(at + 6, at + 6 + t.responses.length));
      at += 6 + t.responses.length;
      return { block: t.block, responseStd, inputNorm, branchNorm, outputNorm, branchRatio, gradNorm, deadReluFraction };
    });
  }) as Probe;
  probe.dispose = () => tf.dispose([probeImages, probeLabels]);
  return probe;
}

/** Fig. 7's data: every 3x3 layer's response std of a probe, in layer order. */
export function layerResponses(blocks: BlockProbe[]): number[] {
  return blocks.flatMap((b) => b.responseStd);
}

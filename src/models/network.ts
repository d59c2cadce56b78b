import * as tf from '@tensorflow/tfjs';
import { BlockKind, BlockStyle, batchNorm, conv, relu, channelsOf } from '../blocks/blocks';
import { classifierUniform, SeedSequence } from '../blocks/init';
import { selectBackend } from '../backend';

type Tensor = tf.SymbolicTensor;

/** One stage: `blocks` blocks of width `filters`, the first striding by `stride`. */
export interface StageSpec {
  filters: number;
  blocks: number;
  stride: number;
}

/** The stem before the first stage. */
export type StemSpec =
  | { kind: 'cifar'; filters: number } // 3x3 conv (§4.2)
  | { kind: 'imagenet'; filters: number }; // 7x7/2 conv + 3x3/2 max pool (Table 1)

/** A complete network as data: stem, block kind, stages, classifier. */
export interface NetworkSpec {
  name: string;
  inputShape: [number, number, number];
  stem: StemSpec;
  block: BlockKind;
  stages: StageSpec[];
  numClasses: number;
  style: BlockStyle;
  seed?: number;
  /** Blocks built as their shortcut only (`stage2_block1`, ...): a lesion study's deleted blocks. */
  deleted?: readonly string[];
}

/** Stem of the network; in pre-activation order the first block's BN-ReLU follows the stem conv. */
function stem(x: Tensor, spec: NetworkSpec, seeds: SeedSequence): Tensor {
  const { style } = spec;
  if (spec.stem.kind === 'cifar') {
    const h = conv(x, spec.stem.filters, 3, 1, 'stem_conv', seeds);
    return style.order === 'post' ? relu(batchNorm(h, 'stem_bn', style), 'stem_relu') : h;
  }
  // ImageNet: pre-activation nets keep BN-ReLU here too, because the max pool follows.
  const h = relu(batchNorm(conv(x, spec.stem.filters, 7, 2, 'stem_conv', seeds), 'stem_bn', style), 'stem_relu');
  // Inputs are >= 0 after ReLU, so zero padding equals the -inf padding of a max pool.
  const padded = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'stem_pool_pad',
    })
    .apply(h) as Tensor;
  return tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'stem_pool' }).apply(padded) as Tensor;
}

/**
 * Builds any network of the zoo from its spec. Layer names follow `stage{s}_block{b}_{layer}`
 * (1-based), `stem_*` and `head_*`; the output is logits (no softmax).
 */
export function buildNetwork(spec: NetworkSpec): tf.LayersModel {
  selectBackend(); // variables live on the backend chosen before the first one is made
  const seeds = new SeedSequence(spec.seed);
  const input = tf.input({ shape: spec.inputShape, name: 'images' });
  let h = stem(input, spec, seeds);
  spec.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.blocks; b++) {
      const name = `stage${s + 1}_block${b + 1}`;
      h = spec.block.build(h, {
        filters: stage.filters,
        stride: b === 0 ? stage.stride : 1,
        name,
        style: spec.style,
        seeds,
        deleted: spec.deleted?.includes(name),
      });
    }
  });
  if (spec.style.order === 'pre') h = relu(batchNorm(h, 'head_bn', spec.style), 'head_relu');
  h = tf.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(h) as Tensor;
  const features = channelsOf(h);
  const logits = tf.layers
    .dense({
      units: spec.numClasses,
      kernelInitializer: classifierUniform(features, seeds.next()),
      biasInitializer: classifierUniform(features, seeds.next()),
      name: 'head_fc',
    })
    .apply(h) as Tensor;
  return tf.model({ inputs: input, outputs: logits, name: spec.name });
}

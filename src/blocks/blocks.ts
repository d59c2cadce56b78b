import * as tf from '@tensorflow/tfjs';
import { heNormal, SeedSequence } from './init';
import { ShortcutA } from './shortcut-a';

type Tensor = tf.SymbolicTensor;

/** Shortcut options of the paper (§3.3, Table 3). */
export type ShortcutOption = 'A' | 'B' | 'C';
/** Layer order: `post` = original (He et al. 2015), `pre` = pre-activation (He et al. 2016). */
export type BlockOrder = 'post' | 'pre';
/** Where a downsampling bottleneck block strides: the paper's first 1x1 conv, or the later 3x3 variant. */
export type BottleneckStride = '1x1' | '3x3';

/** Options shared by every block of a network. */
export interface BlockStyle {
  /** `true`: H(x) = F(x) + x; `false`: the plain twin H(x) = F(x) with the same layers. */
  residual: boolean;
  shortcut: ShortcutOption;
  order: BlockOrder;
  /**
   * Start every residual branch at F(x) = 0: the last BN gamma of the branch is zero (post order);
   * in pre order the branch ends in a conv, whose kernel is zeroed instead.
   */
  zeroInitResidual: boolean;
  bottleneckStride: BottleneckStride;
  /** BN running-average momentum (Keras convention: new = m * old + (1 - m) * batch). */
  bnMomentum: number;
  bnEpsilon: number;
}

/** The defaults of the paper and of the common PyTorch reimplementations (BN momentum 0.1 = Keras 0.9). */
export const DEFAULT_BLOCK_STYLE: BlockStyle = {
  residual: true,
  shortcut: 'A',
  order: 'post',
  zeroInitResidual: false,
  bottleneckStride: '1x1',
  bnMomentum: 0.9,
  bnEpsilon: 1e-5,
};

/** Everything one block needs besides its input. */
export interface BlockArgs {
  /** Width of the block's 3x3 convs; the output has `filters * expansion` channels. */
  filters: number;
  stride: number;
  /** Layer-name prefix, e.g. `stage2_block1`; probes find a block's layers by it. */
  name: string;
  style: BlockStyle;
  seeds: SeedSequence;
  /**
   * Deleted (a lesion study, Veit et al. 2016): the block is only its shortcut, H(x) = x (zero-padded
   * and subsampled where the shape changes, or its projection), for plain nets as for ResNets.
   */
  deleted?: boolean;
}

/** A block family: one contract for basic and bottleneck blocks (depth is data, not code). */
export interface BlockKind {
  readonly name: 'basic' | 'bottleneck';
  /** Output channels / `filters`. */
  readonly expansion: number;
  /** The 3x3 layers whose responses the paper's Fig. 7 plots, as layer-name suffixes. */
  readonly responseLayers: readonly string[];
  build(x: Tensor, args: BlockArgs): Tensor;
}

/** Channels (last dimension) of a symbolic NHWC or NC tensor. */
export function channelsOf(x: Tensor): number {
  const channels = x.shape[x.shape.length - 1];
  if (channels === null || channels === undefined) throw new Error(`tensor ${x.name} has no known channel count`);
  return channels;
}

/**
 * A bias-free He-initialized convolution. Strided convs pad explicitly (k-1)/2 on every side, as
 * Caffe and PyTorch do, so output pixel i is centred on input pixel s*i: the same pixels that the
 * option-A and projection shortcuts keep. TF's 'same' padding would pad only at the end.
 */
export function conv(
  x: Tensor,
  filters: number,
  kernel: number,
  stride: number,
  name: string,
  seeds: SeedSequence,
  zeroKernel = false,
): Tensor {
  const fanIn = kernel * kernel * channelsOf(x);
  let input = x;
  let padding: 'same' | 'valid' = 'same';
  if (stride > 1 && kernel > 1) {
    const pad = (kernel - 1) / 2;
    input = tf.layers
      .zeroPadding2d({
        padding: [
          [pad, pad],
          [pad, pad],
        ],
        name: `${name}_pad`,
      })
      .apply(x) as Tensor;
    padding = 'valid';
  }
  const seed = seeds.next();
  return tf.layers
    .conv2d({
      filters,
      kernelSize: kernel,
      strides: stride,
      padding,
      useBias: false,
      kernelInitializer: zeroKernel ? 'zeros' : heNormal(fanIn, seed),
      name,
    })
    .apply(input) as Tensor;
}

/** Batch normalization over channels; `zeroGamma` starts it at output beta = 0. */
export function batchNorm(x: Tensor, name: string, style: BlockStyle, zeroGamma = false): Tensor {
  return tf.layers
    .batchNormalization({
      axis: 3,
      momentum: style.bnMomentum,
      epsilon: style.bnEpsilon,
      gammaInitializer: zeroGamma ? 'zeros' : 'ones',
      name,
    })
    .apply(x) as Tensor;
}

export function relu(x: Tensor, name: string): Tensor {
  return tf.layers.activation({ activation: 'relu', name }).apply(x) as Tensor;
}

/**
 * The shortcut path of a residual block. `x` is the block input; `preActivated` is what a
 * projection reads (in pre order the projection sees BN-ReLU(x), as in He et al. 2016).
 */
function shortcut(x: Tensor, preActivated: Tensor, outChannels: number, args: BlockArgs): Tensor {
  const { stride, name, style, seeds } = args;
  const shapeChanges = stride !== 1 || channelsOf(x) !== outChannels;
  const project = style.shortcut === 'C' || (style.shortcut === 'B' && shapeChanges);
  if (project) {
    const projected = conv(preActivated, outChannels, 1, stride, `${name}_shortcut_conv`, seeds);
    return style.order === 'post' ? batchNorm(projected, `${name}_shortcut_bn`, style) : projected;
  }
  if (!shapeChanges) return x;
  return new ShortcutA({ stride, outChannels, name: `${name}_shortcut_a` }).apply(x) as Tensor;
}

/** One conv of a branch: conv-BN(-ReLU) in post order, BN-ReLU-conv in pre order (see buildBlock). */
interface BranchLayer {
  filters: number;
  kernel: number;
  stride: number;
}

/**
 * Builds a block from its branch layers. Post order: conv-BN-ReLU ... conv-BN, add, ReLU.
 * Pre order: BN-ReLU-conv ... BN-ReLU-conv, add (no ReLU after the addition).
 */
function buildBlock(x: Tensor, layers: BranchLayer[], outChannels: number, args: BlockArgs): Tensor {
  const { name, style, seeds } = args;
  const last = layers.length;
  const zeroLast = style.residual && style.zeroInitResidual;
  let preActivated = x;
  let h = x;
  if (style.order === 'pre') {
    preActivated = relu(batchNorm(x, `${name}_preact_bn`, style), `${name}_preact_relu`);
    h = preActivated;
  }
  if (args.deleted) return shortcut(x, preActivated, outChannels, args);
  layers.forEach((layer, index) => {
    const i = index + 1;
    const isLast = i === last;
    if (style.order === 'pre' && i > 1) h = relu(batchNorm(h, `${name}_bn${i - 1}`, style), `${name}_relu${i - 1}`);
    h = conv(h, layer.filters, layer.kernel, layer.stride, `${name}_conv${i}`, seeds, style.order === 'pre' && isLast && zeroLast);
    if (style.order === 'post') {
      h = batchNorm(h, `${name}_bn${i}`, style, isLast && zeroLast);
      if (!isLast) h = relu(h, `${name}_relu${i}`);
    }
  });
  let out = h;
  if (style.residual) {
    const identity = shortcut(x, preActivated, outChannels, args);
    out = tf.layers.add({ name: `${name}_add` }).apply([h, identity]) as Tensor;
  }
  return style.order === 'post' ? relu(out, `${name}_out`) : out;
}

/** Two 3x3 convs (paper Fig. 2 left / Fig. 5 left); used by the CIFAR nets and ResNet-18/34. */
export const basicBlock: BlockKind = {
  name: 'basic',
  expansion: 1,
  responseLayers: ['bn1', 'bn2'],
  build(x, args) {
    return buildBlock(
      x,
      [
        { filters: args.filters, kernel: 3, stride: args.stride },
        { filters: args.filters, kernel: 3, stride: 1 },
      ],
      args.filters,
      args,
    );
  },
};

/** 1x1 reduce, 3x3, 1x1 expand x4 (paper Fig. 5 right); used by ResNet-50/101/152. */
export const bottleneckBlock: BlockKind = {
  name: 'bottleneck',
  expansion: 4,
  responseLayers: ['bn2'],
  build(x, args) {
    const strideFirst = args.style.bottleneckStride === '1x1';
    return buildBlock(
      x,
      [
        { filters: args.filters, kernel: 1, stride: strideFirst ? args.stride : 1 },
        { filters: args.filters, kernel: 3, stride: strideFirst ? 1 : args.stride },
        { filters: args.filters * 4, kernel: 1, stride: 1 },
      ],
      args.filters * 4,
      args,
    );
  },
};

/** The block families by name. */
export const BLOCK_KINDS = { basic: basicBlock, bottleneck: bottleneckBlock } as const;

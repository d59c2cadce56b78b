/**
 * The typical mistakes in writing a basic block (post-activation, He et al. 2015 Fig. 2), each built
 * with the same layers as the correct block, so that a reader's block can be recognised by giving
 * it the same weights and comparing outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { ShortcutOption } from '../blocks/blocks';
import { ShortcutA } from '../blocks/shortcut-a';

type Tensor = tf.SymbolicTensor;

/** How a basic block is wired: the correct residual block is every flag at its default. */
export interface BlockWiring {
  shortcut: boolean;
  reluBeforeAdd: boolean;
  finalRelu: boolean;
  strideOnSecond: boolean;
  addBeforeBatchNorm: boolean;
  samePadding: boolean;
}

/** A known mistake: how it is wired and what to tell the reader. */
export interface Mistake {
  id: string;
  wiring: Partial<BlockWiring>;
  /** Only meaningful for a block that downsamples. */
  stridedOnly?: boolean;
  advice: string;
}

const RESIDUAL: BlockWiring = {
  shortcut: true,
  reluBeforeAdd: false,
  finalRelu: true,
  strideOnSecond: false,
  addBeforeBatchNorm: false,
  samePadding: false,
};

const STRIDE_ON_SECOND =
  'your block strides in its second 3×3 conv; the paper (and reslab) downsample in the first conv of the block, so that the second conv already works on the smaller map.';
const SAME_PADDING =
  "your strided conv uses padding: 'same', which TensorFlow pads only at the bottom and right at stride 2, so output pixel i is centred on input pixel 2i+½ instead of 2i and no longer lines up with the shortcut's x[::2]; pad 1 pixel on every side and use 'valid' (reslab.conv does this), as Caffe and PyTorch do.";

/** Mistakes in a residual block. */
export const RESIDUAL_MISTAKES: Mistake[] = [
  {
    id: 'no-shortcut',
    wiring: { shortcut: false },
    advice:
      'your block has no shortcut: it computes ReLU(F(x)), the plain block. Add the input to F(x) before the last ReLU: H(x) = ReLU(F(x) + x) (where the shape changes, x goes through the shortcut: reslab.ShortcutA for option A).',
  },
  {
    id: 'relu-before-add',
    wiring: { reluBeforeAdd: true },
    advice:
      'you apply a ReLU to F(x) before adding x. The paper adds first and applies the ReLU after the addition (Fig. 2): with a ReLU before it, F(x) can never be negative, so the block can only push x up, never down (He et al. 2016, Table 2: 7.84% test error for ResNet-110 against 6.61%).',
  },
  {
    id: 'no-relu-after-add',
    wiring: { finalRelu: false },
    advice:
      'the ReLU after the addition is missing: in the 2015 block the second nonlinearity comes after the addition, H(x) = ReLU(F(x) + x) (Fig. 2).',
  },
  {
    id: 'add-before-batch-norm',
    wiring: { addBeforeBatchNorm: true },
    advice:
      'you add x before the second batch norm. That BN belongs to F(x): conv, BN, then add x, then ReLU; normalising the sum rescales the shortcut too, and the identity is lost (He et al. 2016, Table 2: 8.17% test error for ResNet-110 with BN after the addition, against 6.61%).',
  },
  { id: 'stride-on-second-conv', wiring: { strideOnSecond: true }, stridedOnly: true, advice: STRIDE_ON_SECOND },
  { id: 'same-padding', wiring: { samePadding: true }, stridedOnly: true, advice: SAME_PADDING },
];

/** Mistakes in a plain block (the residual block's twin without the shortcut). */
export const PLAIN_MISTAKES: Mistake[] = [
  {
    id: 'has-shortcut',
    wiring: { shortcut: true },
    advice: "your plain block adds x: the plain twin has exactly the residual block's layers, without the shortcut, H(x) = ReLU(F(x)).",
  },
  {
    id: 'no-final-relu',
    wiring: { finalRelu: false },
    advice: 'the last ReLU is missing: the plain block ends in conv, BN, ReLU like every layer of a plain net.',
  },
  { id: 'stride-on-second-conv', wiring: { strideOnSecond: true }, stridedOnly: true, advice: STRIDE_ON_SECOND },
  { id: 'same-padding', wiring: { samePadding: true }, stridedOnly: true, advice: SAME_PADDING },
];

function conv(x: Tensor, filters: number, kernel: number, stride: number, same: boolean): Tensor {
  let input = x;
  let padding: 'same' | 'valid' = 'same';
  if (stride > 1 && kernel > 1 && !same) {
    input = tf.layers.zeroPadding2d({ padding: 1 }).apply(x) as Tensor;
    padding = 'valid';
  }
  return tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding, useBias: false }).apply(input) as Tensor;
}

const batchNorm = (x: Tensor) => tf.layers.batchNormalization({ axis: 3, epsilon: 1e-5 }).apply(x) as Tensor;
const relu = (x: Tensor) => tf.layers.activation({ activation: 'relu' }).apply(x) as Tensor;

/** A post-activation basic block wired as `wiring` says (the defaults of `base` for the rest). */
export function wiredBlock(
  x: Tensor,
  filters: number,
  stride: number,
  shortcut: ShortcutOption,
  wiring: Partial<BlockWiring>,
  base: BlockWiring = RESIDUAL,
): Tensor {
  const w = { ...base, ...wiring };
  const inChannels = x.shape[3] as number;
  let h = relu(batchNorm(conv(x, filters, 3, w.strideOnSecond ? 1 : stride, w.samePadding)));
  h = conv(h, filters, 3, w.strideOnSecond ? stride : 1, w.samePadding);
  if (!w.addBeforeBatchNorm) h = batchNorm(h);
  if (w.shortcut) {
    if (w.reluBeforeAdd) h = relu(h);
    const changes = stride !== 1 || inChannels !== filters;
    let identity = x;
    if (shortcut === 'C' || (shortcut === 'B' && changes)) identity = batchNorm(conv(x, filters, 1, stride, false));
    else if (changes) identity = new ShortcutA({ stride, outChannels: filters }).apply(x) as Tensor;
    h = tf.layers.add().apply([h, identity]) as Tensor;
  }
  if (w.addBeforeBatchNorm) h = batchNorm(h);
  return w.finalRelu ? relu(h) : h;
}

/** The wiring a correct plain block has. */
export const PLAIN: BlockWiring = { ...RESIDUAL, shortcut: false };
export { RESIDUAL };

import { ConvShape } from './reference';

/**
 * What the kernel self-check runs: every convolution kind reslab's models use (3x3 at stride 1 and
 * 2, 1x1 at stride 1 and 2, the 7x7/2 ImageNet stem) at small channel counts, where TensorFlow's
 * oneDNN kernels have gone wrong, each forward and through both gradients, on two paths; then the
 * fused kernels reslab calls by name. Shapes are realistic (batch 32 of 32x32 or smaller maps):
 * the known heap corruption shows at batch 32 and not at batch 8.
 */

/**
 * How a kernel is reached: `native` through reslab's native step (its own kernel calls, strided 1x1
 * convs subsampled first); `autodiff` through tfjs's ops and gradients, as `model.fit` and
 * tfjs's autodiff run them (with reslab's kernel routes); `direct` TensorFlow's kernel called as
 * it is, without reslab's routes.
 */
export type KernelPath = 'native' | 'autodiff' | 'direct';
export type ConvPart = 'forward' | 'input gradient' | 'filter gradient';

export type KernelCase = {
  id: string;
  path: KernelPath;
  /**
   * A kernel reslab does not use because it fails on some CPU, checked to say so: its result
   * switches nothing, and it runs in a process of its own (a crash there says nothing of others).
   */
  routedAround?: boolean;
} & (
  | { kind: 'conv'; part: ConvPart; shape: ConvShape }
  /** relu(conv(x) + bias + residual) in one oneDNN kernel: reslab's inference. */
  | { kind: 'fused conv'; shape: ConvShape }
  /** Training-mode batch norm followed by ReLU (one oneDNN kernel) and its gradient. */
  | { kind: 'batch norm'; part: 'forward' | 'gradient'; batch: number; size: number; channels: number }
  /** Every second pixel (option-A shortcuts, strided 1x1 convs) and its gradient. */
  | { kind: 'subsample'; part: 'forward' | 'gradient'; batch: number; size: number; channels: number; stride: number }
);

const BATCH = 32;

/** A conv of batch 32 padded (k-1)/2 on every side, as reslab's layers pad it. */
export function convShape(kernel: number, stride: number, inChannels: number, outChannels: number, size: number, batch = BATCH): ConvShape {
  const p = (kernel - 1) / 2;
  return { batch, size, inChannels, outChannels, kernel, stride, pad: [p, p] };
}

/** `3x3/2 4→8 on 32x32`, with the batch when it is not 32. */
export function describeShape(s: ConvShape): string {
  const batch = s.batch === BATCH ? '' : `, batch ${s.batch}`;
  return `${s.kernel}x${s.kernel}/${s.stride} ${s.inChannels}→${s.outChannels} on ${s.size}x${s.size}${batch}`;
}

/** The convolutions checked, by where reslab's models have them. */
export const CONV_SHAPES: readonly ConvShape[] = [
  convShape(3, 1, 3, 8, 32), // CIFAR stem
  convShape(3, 1, 4, 4, 32), // stage 1, width 0.25
  convShape(3, 1, 8, 8, 16),
  convShape(3, 1, 16, 16, 8),
  convShape(3, 2, 4, 8, 32), // first conv of a downsampling block
  convShape(3, 2, 8, 16, 16),
  convShape(3, 2, 16, 32, 16),
  convShape(1, 1, 4, 16, 16), // bottleneck expand
  convShape(1, 1, 16, 4, 16), // bottleneck reduce
  convShape(1, 1, 8, 16, 8),
  convShape(1, 1, 3, 6, 16),
  convShape(1, 2, 4, 8, 32), // option-B/C projection shortcuts
  convShape(1, 2, 8, 16, 16),
  convShape(1, 2, 12, 24, 32),
  convShape(1, 2, 16, 32, 16),
  convShape(1, 1, 1024, 512, 2, 4), // ResNet-50's last stages
  convShape(1, 1, 512, 2048, 2, 4),
  convShape(1, 2, 512, 1024, 4, 4),
  convShape(7, 2, 3, 8, 32), // ImageNet stem
];

/**
 * TensorFlow's own kernels that reslab routes around (1x1 convs as matrix products), checked to
 * say whether they fail here: the strided 1x1 filter gradient with few channels (heap corruption
 * on AVX-512, wrong numbers on AVX2), and a 1x1 conv with many (division by zero without cache sizes).
 */
const ROUTED_AROUND: ReadonlyArray<[ConvShape, ConvPart]> = [
  [convShape(1, 2, 3, 6, 32), 'filter gradient'],
  [convShape(1, 2, 4, 8, 32), 'filter gradient'],
  [convShape(1, 2, 16, 32, 16), 'filter gradient'],
  [convShape(1, 1, 1024, 512, 2, 4), 'forward'],
];

const PARTS: readonly ConvPart[] = ['forward', 'input gradient', 'filter gradient'];

/** Every case of the self-check, in the order it runs them. */
export function kernelCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const path of ['native', 'autodiff'] as const)
    for (const shape of CONV_SHAPES)
      for (const part of PARTS) cases.push({ id: `conv ${describeShape(shape)} · ${part} · ${path}`, path, kind: 'conv', part, shape });
  for (const shape of [convShape(3, 1, 8, 8, 16), convShape(1, 1, 16, 16, 8)])
    cases.push({ id: `fused conv + bias + residual + ReLU ${describeShape(shape)} · native`, path: 'native', kind: 'fused conv', shape });
  for (const channels of [4, 16])
    for (const part of ['forward', 'gradient'] as const)
      cases.push({
        id: `batch norm + ReLU, ${channels} channels on 16x16 · ${part} · native`,
        path: 'native',
        kind: 'batch norm',
        part,
        batch: BATCH,
        size: 16,
        channels,
      });
  for (const channels of [4, 16])
    for (const part of ['forward', 'gradient'] as const)
      cases.push({
        id: `subsample /2, ${channels} channels on 32x32 · ${part} · native`,
        path: 'native',
        kind: 'subsample',
        part,
        batch: BATCH,
        size: 32,
        channels,
        stride: 2,
      });
  for (const [shape, part] of ROUTED_AROUND) cases.push({ ...directConv(shape, part), routedAround: true });
  return cases;
}

/** TensorFlow's own convolution kernel, called without reslab's routes. */
export function directConv(shape: ConvShape, part: ConvPart): KernelCase {
  return { id: `conv ${describeShape(shape)} · ${part} · direct`, path: 'direct', kind: 'conv', part, shape };
}

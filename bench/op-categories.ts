/**
 * The parts of a training step, named the same for reslab's TensorFlow kernels and PyTorch's aten
 * ops, so that `profile.js --vs-pytorch` can put the two profiles side by side.
 */
export const STEP_PARTS = [
  'conv forward',
  'conv gradients (input + filter)',
  'batch norm forward',
  'batch norm backward',
  'ReLU',
  'ReLU gradient',
  'residual adds and gradient sums',
  'shortcuts (slice, pad)',
  'pool, classifier, loss',
  'optimizer (and BN averages)',
  'precision casts (bf16)',
  'copies, fills, other',
] as const;
export type StepPart = (typeof STEP_PARTS)[number];

const TENSORFLOW: Record<string, StepPart> = {
  _MklNativeConv2D: 'conv forward',
  _MklNativeConv2DWithBias: 'conv forward',
  _MklNativeFusedConv2D: 'conv forward',
  Conv2D: 'conv forward',
  _FusedConv2D: 'conv forward',
  _MklNativeConv2DBackpropInput: 'conv gradients (input + filter)',
  Conv2DBackpropInput: 'conv gradients (input + filter)',
  _MklNativeConv2DBackpropFilter: 'conv gradients (input + filter)',
  Conv2DBackpropFilter: 'conv gradients (input + filter)',
  FusedBatchNormV3: 'batch norm forward',
  // Batch norm with its ReLU fused in (oneDNN): counted as batch norm.
  _MklNativeFusedBatchNormEx: 'batch norm forward',
  FusedBatchNormGradV3: 'batch norm backward',
  Cast: 'precision casts (bf16)',
  Relu: 'ReLU',
  ReluGrad: 'ReLU gradient',
  AddV2: 'residual adds and gradient sums',
  Slice: 'shortcuts (slice, pad)',
  StridedSlice: 'shortcuts (slice, pad)',
  Pad: 'shortcuts (slice, pad)',
  PadV2: 'shortcuts (slice, pad)',
  ConcatV2: 'shortcuts (slice, pad)',
  AvgPool: 'pool, classifier, loss',
  AvgPoolGrad: 'pool, classifier, loss',
  Mean: 'pool, classifier, loss',
  MatMul: 'pool, classifier, loss',
  BatchMatMul: 'pool, classifier, loss',
  _FusedMatMul: 'pool, classifier, loss',
  BiasAdd: 'pool, classifier, loss',
  BiasAddGrad: 'pool, classifier, loss',
  SparseSoftmaxCrossEntropyWithLogits: 'pool, classifier, loss',
  ArgMax: 'pool, classifier, loss',
  NotEqual: 'pool, classifier, loss',
  Sum: 'pool, classifier, loss',
  Pack: 'optimizer (and BN averages)',
  Unpack: 'optimizer (and BN averages)',
  AddN: 'optimizer (and BN averages)',
  Mul: 'optimizer (and BN averages)',
  Sub: 'optimizer (and BN averages)',
  SplitV: 'optimizer (and BN averages)',
};

const ATEN: Record<string, StepPart> = {
  // autocast's casts of inputs and weights to bfloat16 (and back)
  'aten::_to_copy': 'precision casts (bf16)',
  'aten::mkldnn_convolution': 'conv forward',
  'aten::_slow_conv2d_forward': 'conv forward',
  'aten::thnn_conv2d': 'conv forward',
  'aten::convolution_backward': 'conv gradients (input + filter)',
  'aten::mkldnn_convolution_backward': 'conv gradients (input + filter)',
  'aten::_slow_conv2d_backward': 'conv gradients (input + filter)',
  'aten::native_batch_norm': 'batch norm forward',
  'aten::_native_batch_norm_legit': 'batch norm forward',
  'aten::native_batch_norm_backward': 'batch norm backward',
  'aten::clamp_min': 'ReLU',
  'aten::relu': 'ReLU',
  'aten::relu_': 'ReLU',
  'aten::threshold_backward': 'ReLU gradient',
  'aten::add': 'residual adds and gradient sums',
  'aten::slice': 'shortcuts (slice, pad)',
  'aten::constant_pad_nd': 'shortcuts (slice, pad)',
  'aten::pad': 'shortcuts (slice, pad)',
  'aten::mean': 'pool, classifier, loss',
  'aten::adaptive_avg_pool2d': 'pool, classifier, loss',
  'aten::addmm': 'pool, classifier, loss',
  'aten::mm': 'pool, classifier, loss',
  'aten::sum': 'pool, classifier, loss',
  'aten::div': 'pool, classifier, loss',
  'aten::_log_softmax': 'pool, classifier, loss',
  'aten::_log_softmax_backward_data': 'pool, classifier, loss',
  'aten::nll_loss_forward': 'pool, classifier, loss',
  'aten::nll_loss_backward': 'pool, classifier, loss',
  'aten::add_': 'optimizer (and BN averages)',
  'aten::mul_': 'optimizer (and BN averages)',
  'aten::_foreach_add_': 'optimizer (and BN averages)',
  'aten::_foreach_mul_': 'optimizer (and BN averages)',
  'aten::_foreach_add': 'optimizer (and BN averages)',
};

/** The part of a step a TensorFlow kernel (reslab) or an aten op (PyTorch) belongs to. */
export function stepPart(op: string): StepPart {
  return TENSORFLOW[op] ?? ATEN[op] ?? 'copies, fills, other';
}

/** Milliseconds per part from per-op milliseconds. */
export function byStepPart(ops: Iterable<{ name: string; ms: number }>): Map<StepPart, number> {
  const parts = new Map<StepPart, number>(STEP_PARTS.map((p) => [p, 0]));
  for (const op of ops) {
    const part = stepPart(op.name);
    parts.set(part, (parts.get(part) ?? 0) + op.ms);
  }
  return parts;
}

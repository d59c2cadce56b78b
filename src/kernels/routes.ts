import * as tf from '@tensorflow/tfjs';

/**
 * Routes around TensorFlow kernels that are broken on some CPUs, for every tfjs computation in the
 * process (tfjs's autodiff, `model.fit`, `model.predict`, a user's own `tf.grads`), not only
 * reslab's native step (which takes the same routes in its plan: src/native/passes.ts).
 *
 * The route: a 1x1 ("pointwise") convolution is a matrix product of the pixels (rows) with the
 * kernel (channels in x channels out), after keeping every s-th pixel for stride s. TensorFlow
 * 2.21's oneDNN 1x1 convolution kernels fail on some CPUs (docs/tensorflow-bug-onednn-1x1-conv.md):
 * the filter gradient of strided 1x1 convs with few input channels corrupts the heap on AVX-512
 * and returns wrong numbers on AVX2; with 256-1024 channels the forward and both gradients divide
 * by zero (SIGFPE) when the CPU reports no cache sizes (virtual machines). TensorFlow's MatMul
 * computes the same numbers, and is as fast or faster for these shapes (measured: bench/pointwise.ts).
 */

type Attrs = tf.NamedAttrMap;

interface NativeBackend extends tf.KernelBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_INT: number; TF_ATTR_STRING: number; TF_FLOAT: number; TF_INT32: number };
  executeSingleOutput(name: string, attrs: Array<{ name: string; type: number; value: unknown }>, inputs: tf.TensorInfo[]): tf.Tensor;
  applyActivation(x: tf.Tensor, activation: string, preluWeights?: tf.Tensor, leakyreluAlpha?: number): tf.Tensor;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat?: string;
  dilations?: number | [number, number];
}

const pair = (value: number | [number, number] | undefined): [number, number] =>
  value === undefined ? [1, 1] : Array.isArray(value) ? value : [value, value];

/** Whether a convolution with this kernel shape and these attributes is a 1x1 one without padding or dilation (the routed case). */
export function isPointwise(kernelShape: number[], attrs: ConvAttrs): boolean {
  const [kh, kw] = kernelShape;
  const [dh, dw] = pair(attrs.dilations);
  const unpadded = attrs.pad === 'valid' || attrs.pad === 'same' || attrs.pad === 0;
  const channelsLast = attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC' || attrs.dataFormat === 'channelsLast';
  return kh === 1 && kw === 1 && dh === 1 && dw === 1 && unpadded && channelsLast;
}

function poolAttrs(backend: NativeBackend, [sh, sw]: [number, number]) {
  const { binding } = backend;
  return [
    { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
    { name: 'ksize', type: binding.TF_ATTR_INT, value: [1, 1, 1, 1] },
    { name: 'strides', type: binding.TF_ATTR_INT, value: [1, sh, sw, 1] },
    { name: 'padding', type: binding.TF_ATTR_STRING, value: 'VALID' },
    { name: 'data_format', type: binding.TF_ATTR_STRING, value: 'NHWC' },
  ];
}

/** Every s-th pixel (a 1x1 average pool: an exact copy), or `x` itself at stride 1. */
function subsample(backend: NativeBackend, x: tf.Tensor4D, strides: [number, number]): tf.Tensor4D {
  if (strides[0] === 1 && strides[1] === 1) return x;
  return backend.executeSingleOutput('AvgPool', poolAttrs(backend, strides), [x]) as tf.Tensor4D;
}

/** `dy` placed at the sampled pixels of an `inputShape` tensor, zeros elsewhere (the gradient of {@link subsample}). */
function unsubsample(backend: NativeBackend, dy: tf.Tensor4D, inputShape: number[], strides: [number, number]): tf.Tensor4D {
  if (strides[0] === 1 && strides[1] === 1) return dy;
  const shape = tf.tensor1d(inputShape, 'int32');
  try {
    return backend.executeSingleOutput('AvgPoolGrad', poolAttrs(backend, strides), [shape, dy]) as tf.Tensor4D;
  } finally {
    shape.dispose();
  }
}

/** The pixels of a NHWC tensor as the rows of a matrix. */
const rows = (x: tf.Tensor): tf.Tensor2D => tf.reshape(x, [-1, x.shape[3] as number]);

/** y = x * w for a 1x1 kernel w [1, 1, in, out], as a matrix product. */
function pointwiseForward(backend: NativeBackend, x: tf.Tensor4D, kernel: tf.Tensor, strides: [number, number]): tf.Tensor4D {
  const sampled = subsample(backend, x, strides);
  const [n, h, w] = sampled.shape;
  const [, , ci, co] = kernel.shape as number[];
  return tf.reshape(tf.matMul(rows(sampled), tf.reshape(kernel, [ci, co])), [n, h, w, co]);
}

let installed = false;

/** Registers `kernelFunc` for `kernelName` on the native backend, falling back to the original kernel where `routed` returns undefined. */
function route(
  kernelName: string,
  routed: (args: { inputs: tf.NamedTensorInfoMap; backend: NativeBackend; attrs: Attrs }) => tf.Tensor | undefined,
) {
  const original = tf.getKernel(kernelName, 'tensorflow');
  if (!original) return;
  tf.unregisterKernel(kernelName, 'tensorflow');
  tf.registerKernel({
    kernelName,
    backendName: 'tensorflow',
    kernelFunc: (args) => routed({ ...args, backend: args.backend as NativeBackend, attrs: args.attrs ?? {} }) ?? original.kernelFunc(args),
  });
}

/**
 * Replaces the native backend's convolution kernels (Conv2D, its two gradients, FusedConv2D) by
 * ones that compute 1x1 convolutions as matrix products; other convolutions go to the original
 * kernels unchanged. Idempotent; call after the `tensorflow` backend is registered.
 */
export function installKernelRoutes(): void {
  if (installed || !tf.getKernel(tf.Conv2D, 'tensorflow')) return;
  installed = true;
  route(tf.Conv2D, ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: tf.Tensor4D; filter: tf.Tensor4D };
    const conv = attrs as unknown as ConvAttrs;
    if (!isPointwise(filter.shape, conv)) return undefined;
    return tf.tidy(() => pointwiseForward(backend, x, filter, pair(conv.strides)));
  });
  route(tf.FusedConv2D, ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, tf.Tensor | undefined>;
    const conv = attrs as unknown as ConvAttrs & { activation: string; leakyreluAlpha?: number };
    if (!isPointwise((filter as tf.Tensor).shape, conv)) return undefined;
    return tf.tidy(() => {
      let y: tf.Tensor = pointwiseForward(backend, x as tf.Tensor4D, filter as tf.Tensor, pair(conv.strides));
      if (bias) y = tf.add(y, bias);
      return backend.applyActivation(y, conv.activation, preluActivationWeights, conv.leakyreluAlpha);
    });
  });
  route(tf.Conv2DBackpropInput, ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    const conv = attrs as unknown as ConvAttrs & { inputShape: number[] };
    if (!isPointwise(filter.shape, conv)) return undefined;
    return tf.tidy(() => {
      const [n, h, w] = dy.shape;
      const [, , ci, co] = filter.shape;
      const sampled = tf.reshape(tf.matMul(rows(dy), tf.reshape(filter, [ci, co]), false, true), [n, h, w, ci]) as tf.Tensor4D;
      return unsubsample(backend, sampled, conv.inputShape, pair(conv.strides));
    });
  });
  route(tf.Conv2DBackpropFilter, ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const conv = attrs as unknown as ConvAttrs & { filterShape: number[] };
    if (!isPointwise(conv.filterShape, conv)) return undefined;
    return tf.tidy(() => tf.reshape(tf.matMul(rows(subsample(backend, x, pair(conv.strides))), rows(dy), true, false), conv.filterShape));
  });
}

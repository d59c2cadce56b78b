import * as tf from '@tensorflow/tfjs';
import type { NativeOps } from './ops';

/**
 * A 1x1 conv as a matrix product (see pointwiseAsMatMul in ./passes.ts): the input's pixels (every
 * stride-th one) as rows times the kernel [1, 1, in, out]. Returns the output and the tensor whose
 * rows it multiplied (the input itself at stride 1), which the kernel's gradient needs.
 */
export function pointwiseForward(
  ops: NativeOps,
  stride: number,
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
): { y: tf.Tensor4D; input: tf.Tensor4D } {
  return tf.tidy(() => {
    const input = stride > 1 ? ops.subsample(x, stride) : x;
    const [n, h, w, ci] = input.shape;
    const co = kernel.shape[3];
    const product = ops.matMul(ops.reshape(input, [n * h * w, ci]), ops.reshape(kernel, [ci, co]));
    return { y: ops.reshape<tf.Tensor4D>(product, [n, h, w, co]), input };
  });
}

/** The kernel's gradient of {@link pointwiseForward}, given the tensor it multiplied. */
export function pointwiseFilterGradient(ops: NativeOps, input: tf.Tensor4D, kernelShape: number[], dy: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, ci] = input.shape;
    const rows = n * h * w;
    const product = ops.matMul(ops.reshape(input, [rows, ci]), ops.reshape(dy, [rows, kernelShape[3]]), true, false);
    return ops.reshape<tf.Tensor4D>(product, kernelShape);
  });
}

/** The input's gradient of {@link pointwiseForward} (an input of shape `inputShape`). */
export function pointwiseInputGradient(
  ops: NativeOps,
  stride: number,
  inputShape: number[],
  kernel: tf.Tensor4D,
  dy: tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, co] = dy.shape;
    const ci = kernel.shape[2];
    const product = ops.matMul(ops.reshape(dy, [n * h * w, co]), ops.reshape(kernel, [ci, co]), false, true);
    const sampled = ops.reshape<tf.Tensor4D>(product, [n, h, w, ci]);
    return stride > 1 ? ops.subsampleGrad(inputShape, sampled, stride) : sampled;
  });
}

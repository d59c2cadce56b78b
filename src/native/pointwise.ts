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

/**
 * Both gradients of {@link pointwiseForward} given the tensor it multiplied: the kernel's, and the
 * original input's (of shape `inputShape`) when that is given.
 */
export function pointwiseBackward(
  ops: NativeOps,
  stride: number,
  input: tf.Tensor4D,
  kernel: tf.Tensor4D,
  dy: tf.Tensor4D,
  inputShape?: number[],
): { dKernel: tf.Tensor4D; dx?: tf.Tensor4D } {
  return tf.tidy(() => {
    const [n, h, w, ci] = input.shape;
    const co = kernel.shape[3];
    const dyRows = ops.reshape<tf.Tensor2D>(dy, [n * h * w, co]);
    const dKernel = ops.reshape<tf.Tensor4D>(ops.matMul(ops.reshape(input, [n * h * w, ci]), dyRows, true, false), kernel.shape);
    if (!inputShape) return { dKernel };
    const dInput = ops.reshape<tf.Tensor4D>(ops.matMul(dyRows, ops.reshape(kernel, [ci, co]), false, true), input.shape);
    return { dKernel, dx: stride > 1 ? ops.subsampleGrad(inputShape, dInput, stride) : dInput };
  });
}

import * as tf from '@tensorflow/tfjs';
import { mixSeed, mulberry32 } from '../data/rng';
import type { NativeOps } from '../native/ops';
import { pointwiseFilterGradient, pointwiseForward, pointwiseInputGradient } from '../native/pointwise';
import { ConvPart, KernelCase } from './cases';
import { batchNormReference, convFilterGradient, convForward, convInputGradient, ConvShape, outputSize, relativeError } from './reference';

/** What one case gave in the process that ran it (the parent adds `crashed` and `hung`). */
export type CaseOutcome =
  | { status: 'ok'; error: number }
  | { status: 'wrong'; error: number }
  | { status: 'failed'; message: string }
  | { status: 'skipped'; reason: string };

/** Relative error above which a float32 kernel is wrong (correct ones stay below 1e-5 on these sizes). */
export const TOLERANCE = 1e-4;

/** Uniform values in [-1, 1) from a seed: the same inputs on every machine. */
function values(length: number, ...seed: number[]): Float32Array {
  const random = mulberry32(mixSeed(...seed));
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = 2 * random() - 1;
  return out;
}

interface ConvData {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
}

function convData(s: ConvShape): ConvData {
  const key = [s.kernel, s.stride, s.inChannels, s.outChannels, s.size];
  const out = outputSize(s);
  return {
    x: values(s.batch * s.size * s.size * s.inChannels, ...key, 1),
    w: values(s.kernel * s.kernel * s.inChannels * s.outChannels, ...key, 2),
    dy: values(s.batch * out * out * s.outChannels, ...key, 3),
  };
}

const shapes = (s: ConvShape) => {
  const out = outputSize(s);
  return {
    x: [s.batch, s.size, s.size, s.inChannels] as [number, number, number, number],
    w: [s.kernel, s.kernel, s.inChannels, s.outChannels] as [number, number, number, number],
    y: [s.batch, out, out, s.outChannels] as [number, number, number, number],
  };
};

function reference(s: ConvShape, part: ConvPart, d: ConvData): Float64Array {
  if (part === 'forward') return convForward(s, d.x, d.w);
  if (part === 'input gradient') return convInputGradient(s, d.w, d.dy);
  return convFilterGradient(s, d.x, d.dy);
}

/**
 * A conv through reslab's native kernel calls, as its executor makes them: 1x1 convs as matrix
 * products (src/native/pointwise.ts), strided k x k convs with explicit padding, others SAME.
 */
function nativeConv(ops: NativeOps, s: ConvShape, part: ConvPart, x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  if (s.kernel === 1) {
    const { y, input } = pointwiseForward(ops, s.stride, x, w);
    if (part === 'forward') return y;
    return part === 'filter gradient'
      ? pointwiseFilterGradient(ops, input, w.shape, dy)
      : pointwiseInputGradient(ops, s.stride, x.shape, w, dy);
  }
  const p = s.pad[0];
  const attrs = ops.convAttrs(s.stride, s.stride === 1 ? 'SAME' : [p, p, p, p]);
  if (part === 'forward') return ops.conv2d(x, w, attrs);
  if (part === 'filter gradient') return ops.conv2dBackpropFilter(x, w.shape, dy, attrs);
  return ops.conv2dBackpropInput(x.shape, w, dy, attrs);
}

/** A conv on TensorFlow's own convolution kernels, without reslab's routes (for kernels it routes around). */
function directConv(ops: NativeOps, s: ConvShape, part: ConvPart, x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  const p = s.pad[0];
  const attrs = ops.convAttrs(s.stride, s.kernel === 1 ? 'VALID' : s.stride === 1 ? 'SAME' : [p, p, p, p]);
  if (part === 'forward') return ops.conv2d(x, w, attrs);
  if (part === 'filter gradient') return ops.conv2dBackpropFilter(x, w.shape, dy, attrs);
  return ops.conv2dBackpropInput(x.shape, w, dy, attrs);
}

/** A conv through tfjs's public ops and their gradients, as the layers reslab builds compute it. */
function autodiffConv(s: ConvShape, part: ConvPart, x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  const p = s.pad[0];
  const conv = (input: tf.Tensor4D, kernel: tf.Tensor4D) =>
    s.kernel === 1
      ? tf.conv2d(input, kernel, s.stride, 'valid')
      : s.stride === 1
        ? tf.conv2d(input, kernel, 1, 'same')
        : tf.conv2d(
            tf.pad(input, [
              [0, 0],
              [p, p],
              [p, p],
              [0, 0],
            ]),
            kernel,
            s.stride,
            'valid',
          );
  if (part === 'forward') return conv(x, w);
  if (part === 'input gradient') return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(conv(input as tf.Tensor4D, w), dy)))(x);
  return tf.grad((kernel: tf.Tensor) => tf.sum(tf.mul(conv(x, kernel as tf.Tensor4D), dy)))(w);
}

function compare(actual: tf.Tensor, expected: ArrayLike<number>): CaseOutcome {
  const error = relativeError(actual.dataSync(), expected);
  return error <= TOLERANCE ? { status: 'ok', error } : { status: 'wrong', error };
}

function runConv(c: KernelCase & { kind: 'conv' }, ops: NativeOps | undefined): CaseOutcome {
  if (c.path !== 'autodiff' && !ops) return { status: 'skipped', reason: 'the native step is off here' };
  const d = convData(c.shape);
  const expected = reference(c.shape, c.part, d);
  const shape = shapes(c.shape);
  return tf.tidy(() => {
    const x = tf.tensor4d(d.x, shape.x);
    const w = tf.tensor4d(d.w, shape.w);
    const dy = tf.tensor4d(d.dy, shape.y);
    let actual: tf.Tensor;
    if (c.path === 'autodiff') actual = autodiffConv(c.shape, c.part, x, w, dy);
    else if (c.path === 'native') actual = nativeConv(ops as NativeOps, c.shape, c.part, x, w, dy);
    else actual = directConv(ops as NativeOps, c.shape, c.part, x, w, dy);
    return compare(actual, expected);
  });
}

function runFusedConv(s: ConvShape, ops: NativeOps | undefined): CaseOutcome {
  if (!ops?.fusedConv) return { status: 'skipped', reason: 'no fused convolution here (inference runs separate kernels)' };
  const d = convData(s);
  const shape = shapes(s);
  const bias = values(s.outChannels, 7);
  const residual = values(
    shape.y.reduce((a, b) => a * b),
    8,
  );
  const expected = convForward(s, d.x, d.w).map((v, i) => Math.max(0, v + bias[i % s.outChannels] + residual[i]));
  return tf.tidy(() => {
    const attrs = ops.convAttrs(s.stride, s.kernel === 1 ? 'VALID' : 'SAME');
    const y = ops.conv2dFused(tf.tensor4d(d.x, shape.x), tf.tensor4d(d.w, shape.w), tf.tensor1d(bias), attrs, {
      residual: tf.tensor4d(residual, shape.y),
      relu: true,
    });
    return compare(y, expected);
  });
}

function runBatchNorm(c: KernelCase & { kind: 'batch norm' }, ops: NativeOps | undefined): CaseOutcome {
  if (!ops) return { status: 'skipped', reason: 'the native step is off here' };
  const shape: [number, number, number, number] = [c.batch, c.size, c.size, c.channels];
  const n = shape.reduce((a, b) => a * b);
  const x = values(n, c.channels, 11);
  const dy = values(n, c.channels, 12);
  return tf.tidy(() => {
    const gamma = tf.ones([c.channels]) as tf.Tensor1D;
    const result = ops.batchNormTraining(tf.tensor4d(x, shape), gamma, tf.zeros([c.channels]) as tf.Tensor1D, 1e-5, true);
    const y = result.y.dataSync();
    // The ReLU's mask from the kernel's own output, so that a value within rounding of 0 cannot flip it.
    const reference = batchNormReference(
      x,
      dy.map((v, i) => (y[i] > 0 ? v : 0)),
      c.channels,
      1e-5,
    );
    if (c.part === 'forward')
      return compare(
        result.y,
        reference.y.map((v) => Math.max(0, v)),
      );
    const dNormalized = ops.reluGrad(tf.tensor4d(dy, shape), result.y);
    return compare(ops.batchNormGrad(dNormalized, result.saved, gamma, 1e-5).dx, reference.dx);
  });
}

function runSubsample(c: KernelCase & { kind: 'subsample' }, ops: NativeOps | undefined): CaseOutcome {
  if (!ops) return { status: 'skipped', reason: 'the native step is off here' };
  const { batch, size, channels, stride } = c;
  const out = Math.ceil(size / stride);
  const x = values(batch * size * size * channels, size, channels, 21);
  const dy = values(batch * out * out * channels, size, channels, 22);
  const sampled = new Float64Array(dy.length);
  const scattered = new Float64Array(x.length);
  for (let n = 0; n < batch; n++)
    for (let i = 0; i < out; i++)
      for (let j = 0; j < out; j++)
        for (let k = 0; k < channels; k++) {
          const from = ((n * size + i * stride) * size + j * stride) * channels + k;
          const to = ((n * out + i) * out + j) * channels + k;
          sampled[to] = x[from];
          scattered[from] = dy[to];
        }
  return tf.tidy(() =>
    c.part === 'forward'
      ? compare(ops.subsample(tf.tensor4d(x, [batch, size, size, channels]), stride), sampled)
      : compare(ops.subsampleGrad([batch, size, size, channels], tf.tensor4d(dy, [batch, out, out, channels]), stride), scattered),
  );
}

/** Runs one case in this process against the float64 reference. A broken kernel may kill the process instead. */
export function runCase(c: KernelCase, ops: NativeOps | undefined): CaseOutcome {
  try {
    switch (c.kind) {
      case 'conv':
        return runConv(c, ops);
      case 'fused conv':
        return runFusedConv(c.shape, ops);
      case 'batch norm':
        return runBatchNorm(c, ops);
      case 'subsample':
        return runSubsample(c, ops);
    }
  } catch (error) {
    return { status: 'failed', message: (error instanceof Error ? error.message : String(error)).split('\n')[0] };
  }
}

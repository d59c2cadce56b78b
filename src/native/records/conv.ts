import * as tf from '@tensorflow/tfjs';
import type { NativeOps } from '../ops';
import { FoldedConvNode, NodeOf, variableName } from '../plan';
import { pointwiseFilterGradient, pointwiseForward, pointwiseInputGradient } from '../pointwise';
import { FoldedWeights, gradientIn, inPrecision, OpRecord } from './record';

/** Convolutions (1x1 ones as matrix products: ../pointwise.ts), the inference-only folded conv, and the dense classifier. */

/** `y` plus a bias over its last dimension (the float32 bias cast to `y`'s precision); disposes `y`. */
function withBias(ops: NativeOps, y: tf.Tensor, bias: tf.LayerVariable): tf.Tensor {
  const b = inPrecision(ops, bias.read(), ops.precisionOf(y));
  const biased = ops.biasAdd(y, b.value as tf.Tensor1D);
  y.dispose();
  if (b.casted) b.value.dispose();
  return biased;
}

/** A weight's gradient as the float32 the optimizer keeps (disposes a bfloat16 one). */
function float32Gradient(ops: NativeOps, gradient: tf.Tensor): tf.Tensor {
  return gradientIn(ops, gradient, 'float32');
}

/**
 * A convolution in its own precision (see {@link ForwardContext.convPrecision}): input and kernel
 * cast to it, the output cast to the network's; the backward casts back. In bfloat16 the kernel is
 * the float32 master weight cast for this step, and its gradient comes back as float32.
 */
export const conv: OpRecord<NodeOf<'conv'>> = {
  forward(node, [x], ctx, i) {
    const { ops } = ctx;
    const precision = ctx.convPrecision(i);
    const source = inPrecision(ops, x, precision);
    const kernel = inPrecision(ops, node.kernel.read(), precision);
    const xc = source.value as tf.Tensor4D;
    let y: tf.Tensor;
    let input: tf.Tensor = xc;
    if (node.pointwise) {
      // A subsampled input is this node's own: kept for the filter gradient, else freed now.
      ({ y, input } = pointwiseForward(ops, node.stride, xc, kernel.value as tf.Tensor4D));
      ctx.saved.inputShape = x.shape;
    } else y = ops.conv2d(xc, kernel.value as tf.Tensor4D, ctx.convAttrs(i));
    if (kernel.casted && ctx.training) ctx.save('kernel', kernel.value);
    else if (kernel.casted) kernel.value.dispose();
    if (source.casted && input !== xc) xc.dispose();
    if (!ctx.training && input !== x) input.dispose();
    if (node.bias) y = withBias(ops, y, node.bias);
    if (source.casted) ctx.saved.inputPrecision = ops.precisionOf(x);
    ctx.save('input', input);
    const output = inPrecision(ops, y, ctx.precision);
    if (output.casted) y.dispose();
    return output.value;
  },
  backward(node, dy, ctx, i) {
    const { ops, saved } = ctx;
    const x = saved.input as tf.Tensor4D;
    const precision = ops.precisionOf(x);
    const kernel = saved.kernel ? { value: saved.kernel, casted: false } : inPrecision(ops, node.kernel.read(), precision);
    const gradient = inPrecision(ops, dy, precision);
    const [k, g] = [kernel.value as tf.Tensor4D, gradient.value as tf.Tensor4D];
    if (node.bias) ctx.grads[variableName(node.bias)] = float32Gradient(ops, ops.biasAddGrad(g));
    if (node.pointwise) {
      ctx.grads[variableName(node.kernel)] = float32Gradient(ops, pointwiseFilterGradient(ops, x, k.shape, g));
      if (ctx.wantsInput)
        ctx.give(0, gradientIn(ops, pointwiseInputGradient(ops, node.stride, saved.inputShape as number[], k, g), saved.inputPrecision));
    } else {
      const attrs = ctx.convAttrs(i);
      ctx.grads[variableName(node.kernel)] = float32Gradient(ops, ops.conv2dBackpropFilter(x, k.shape, g, attrs));
      if (ctx.wantsInput) ctx.give(0, gradientIn(ops, ops.conv2dBackpropInput(x.shape, k, g, attrs), saved.inputPrecision));
    }
    if (kernel.casted) k.dispose();
    if (gradient.casted) g.dispose();
  },
};

/**
 * The kernel and bias of `node.conv` with `node.batchNorm` (inference mode) folded in: w' = w·s,
 * b' = β + (b − μ)·s with s = γ/√(σ² + ε) per output channel.
 */
export function foldWeights(node: FoldedConvNode): FoldedWeights {
  const { conv: c, batchNorm: bn } = node;
  return tf.tidy(() => {
    const scale = tf.mul(bn.gamma.read(), tf.rsqrt(tf.add(bn.movingVariance.read(), bn.epsilon)));
    const shift = c.bias ? tf.sub(c.bias.read(), bn.movingMean.read()) : tf.neg(bn.movingMean.read());
    return {
      kernel: tf.keep(tf.mul(c.kernel.read(), scale) as tf.Tensor4D),
      bias: tf.keep(tf.add(bn.beta.read(), tf.mul(shift, scale)) as tf.Tensor1D),
    };
  });
}

/** The weights {@link foldWeights} reads: a cached fold is good while each of them is the same tensor. */
export function foldSources(node: FoldedConvNode): object[] {
  const { conv: c, batchNorm: bn } = node;
  return [c.kernel, ...(c.bias ? [c.bias] : []), bn.gamma, bn.beta, bn.movingMean, bn.movingVariance].map((w) => w.read().dataId);
}

/**
 * Inference: the conv with its batch norm folded in, then the residual (if fused) and the ReLU
 * (if asked): one oneDNN kernel with the fused convolution, else conv-with-bias and ReLU; a 1x1
 * conv is a matrix product plus a bias.
 */
export const foldedConv: OpRecord<NodeOf<'foldedConv'>> = {
  forward(node, [x, residual], ctx) {
    const { ops } = ctx;
    const { kernel, bias } = ctx.folded(node.source, node);
    const post = { relu: node.relu, ...(node.residual ? { residual: residual as tf.Tensor4D } : {}) };
    if (node.conv.pointwise)
      return tf.tidy(() => {
        const y = ops.biasAdd(pointwiseForward(ops, node.conv.stride, x as tf.Tensor4D, kernel).y, bias);
        return node.relu ? ops.relu(y) : y;
      });
    const attrs = ctx.convAttrs(node.source);
    if (ops.fusedConv) return ops.conv2dFused(x as tf.Tensor4D, kernel, bias, attrs, post);
    const y = ops.conv2dWithBias(x as tf.Tensor4D, kernel, bias, attrs);
    if (!node.relu) return y;
    const activated = ops.relu(y);
    y.dispose();
    return activated;
  },
};

/** The classifier, always in float32: a bfloat16 input is cast (mixed precision's head). */
export const dense: OpRecord<NodeOf<'dense'>> = {
  forward(node, [x], ctx) {
    const source = inPrecision(ctx.ops, x, 'float32');
    let y: tf.Tensor = ctx.ops.matMul(source.value as tf.Tensor2D, node.kernel.read() as tf.Tensor2D);
    if (node.bias) y = withBias(ctx.ops, y, node.bias);
    if (source.casted) {
      ctx.saved.inputPrecision = ctx.ops.precisionOf(x);
      if (!ctx.training) source.value.dispose();
    }
    ctx.save('input', source.value);
    return y;
  },
  backward(node, dy, ctx) {
    const { ops } = ctx;
    const x = ctx.saved.input as tf.Tensor2D;
    ctx.grads[variableName(node.kernel)] = ops.matMul(x, dy as tf.Tensor2D, true, false);
    if (node.bias) ctx.grads[variableName(node.bias)] = ops.biasAddGrad(dy);
    if (ctx.wantsInput)
      ctx.give(0, gradientIn(ops, ops.matMul(dy as tf.Tensor2D, node.kernel.read() as tf.Tensor2D, false, true), ctx.saved.inputPrecision));
  },
};

import * as tf from '@tensorflow/tfjs';
import type { NativeOps } from '../ops';
import { FoldedConvNode, NodeOf, variableName } from '../plan';
import { pointwiseFilterGradient, pointwiseForward, pointwiseInputGradient } from '../pointwise';
import { FoldedWeights, OpRecord } from './record';

/** Convolutions (1x1 ones as matrix products: ../pointwise.ts), the inference-only folded conv, and the dense classifier. */

/** `y` plus a bias over its last dimension; disposes `y`. */
function withBias(ops: NativeOps, y: tf.Tensor, bias: tf.LayerVariable): tf.Tensor {
  const biased = ops.biasAdd(y, bias.read() as tf.Tensor1D);
  y.dispose();
  return biased;
}

export const conv: OpRecord<NodeOf<'conv'>> = {
  forward(node, [x], ctx, i) {
    const { ops } = ctx;
    const kernel = node.kernel.read() as tf.Tensor4D;
    let y: tf.Tensor;
    let input = x;
    if (node.pointwise) {
      // A subsampled input is this node's own: kept for the filter gradient, else freed now.
      ({ y, input } = pointwiseForward(ops, node.stride, x as tf.Tensor4D, kernel));
      if (!ctx.training && input !== x) input.dispose();
      ctx.saved.inputShape = x.shape;
    } else y = ops.conv2d(x as tf.Tensor4D, kernel, ctx.convAttrs(i));
    if (node.bias) y = withBias(ops, y, node.bias);
    ctx.save('input', input);
    return y;
  },
  backward(node, dy, ctx, i) {
    const { ops, saved } = ctx;
    const x = saved.input as tf.Tensor4D;
    const kernel = node.kernel.read() as tf.Tensor4D;
    if (node.bias) ctx.grads[variableName(node.bias)] = ops.biasAddGrad(dy);
    if (node.pointwise) {
      ctx.grads[variableName(node.kernel)] = pointwiseFilterGradient(ops, x, kernel.shape, dy as tf.Tensor4D);
      if (ctx.wantsInput) ctx.give(0, pointwiseInputGradient(ops, node.stride, saved.inputShape as number[], kernel, dy as tf.Tensor4D));
      return;
    }
    const attrs = ctx.convAttrs(i);
    ctx.grads[variableName(node.kernel)] = ops.conv2dBackpropFilter(x, kernel.shape, dy as tf.Tensor4D, attrs);
    if (ctx.wantsInput) ctx.give(0, ops.conv2dBackpropInput(x.shape, kernel, dy as tf.Tensor4D, attrs));
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

export const dense: OpRecord<NodeOf<'dense'>> = {
  forward(node, [x], ctx) {
    let y: tf.Tensor = ctx.ops.matMul(x as tf.Tensor2D, node.kernel.read() as tf.Tensor2D);
    if (node.bias) y = withBias(ctx.ops, y, node.bias);
    ctx.save('input', x);
    return y;
  },
  backward(node, dy, ctx) {
    const { ops } = ctx;
    const x = ctx.saved.input as tf.Tensor2D;
    ctx.grads[variableName(node.kernel)] = ops.matMul(x, dy as tf.Tensor2D, true, false);
    if (node.bias) ctx.grads[variableName(node.bias)] = ops.biasAddGrad(dy);
    if (ctx.wantsInput) ctx.give(0, ops.matMul(dy as tf.Tensor2D, node.kernel.read() as tf.Tensor2D, false, true));
  },
};

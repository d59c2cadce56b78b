import * as tf from '@tensorflow/tfjs';
import { NodeOf } from '../plan';
import { gradientIn, inPrecision, OpRecord } from './record';

/** Ops on the spatial layout: the option-A shortcut, zero padding, max pooling and the global average pool. */

/** Option A (§3.3): every stride-th pixel, zero channels appended. */
export const shortcutA: OpRecord<NodeOf<'shortcutA'>> = {
  forward(node, [x], ctx) {
    const { ops } = ctx;
    const channels = x.shape[3] as number;
    ctx.saved.inputShape = x.shape;
    let y = node.stride > 1 ? ops.subsample(x as tf.Tensor4D, node.stride) : x;
    if (node.outChannels > channels) {
      const padded = ops.pad(y, [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, node.outChannels - channels],
      ]);
      if (y !== x) y.dispose();
      y = padded;
    }
    return y;
  },
  backward(node, dy, ctx) {
    const { ops } = ctx;
    const [batch, height, width, channels] = ctx.saved.inputShape as number[];
    let g = dy;
    if (node.outChannels > channels) {
      const [, h, w] = dy.shape;
      g = ops.slice(dy, [0, 0, 0, 0], [batch, h, w, channels]);
    }
    if (node.stride > 1) {
      const upsampled = ops.subsampleGrad([batch, height, width, channels], g as tf.Tensor4D, node.stride);
      if (g !== dy) g.dispose();
      g = upsampled;
    }
    ctx.give(0, g);
  },
};

export const pad: OpRecord<NodeOf<'pad'>> = {
  forward(node, [x], ctx) {
    ctx.saved.inputShape = x.shape;
    return ctx.ops.pad(x, [[0, 0], node.paddings[0], node.paddings[1], [0, 0]]);
  },
  backward: (node, dy, ctx) =>
    ctx.give(0, ctx.ops.slice(dy, [0, node.paddings[0][0], node.paddings[1][0], 0], ctx.saved.inputShape as number[])),
};

export const maxPool: OpRecord<NodeOf<'maxPool'>> = {
  forward(node, [x], ctx) {
    const y = ctx.ops.maxPool(x as tf.Tensor4D, node.window, node.stride, node.padding);
    ctx.save('input', x);
    ctx.save('output', y);
    return y;
  },
  backward(node, dy, ctx) {
    const { saved } = ctx;
    ctx.give(
      0,
      ctx.ops.maxPoolGrad(
        saved.input as tf.Tensor4D,
        saved.output as tf.Tensor4D,
        dy as tf.Tensor4D,
        node.window,
        node.stride,
        node.padding,
      ),
    );
  },
};

/** The global average pool, in float32 (a bfloat16 input is cast first: the sum of a whole feature map stays exact). */
export const globalAvgPool: OpRecord<NodeOf<'globalAvgPool'>> = {
  forward(_node, [x], ctx) {
    const { ops } = ctx;
    const [batch, height, width, channels] = x.shape;
    ctx.saved.inputShape = x.shape;
    const source = inPrecision(ops, x, 'float32');
    if (source.casted) ctx.saved.inputPrecision = ops.precisionOf(x);
    const pooled = ops.avgPool(source.value as tf.Tensor4D, [height, width], 1, 'VALID');
    if (source.casted) source.value.dispose();
    const y = ops.reshape(pooled, [batch, channels]);
    pooled.dispose();
    return y;
  },
  backward(_node, dy, ctx) {
    const shape = ctx.saved.inputShape as number[];
    const [batch, height, width, channels] = shape;
    const reshaped = ctx.ops.reshape<tf.Tensor4D>(dy, [batch, 1, 1, channels]);
    ctx.give(0, gradientIn(ctx.ops, ctx.ops.avgPoolGrad(shape, reshaped, [height, width], 1, 'VALID'), ctx.saved.inputPrecision));
    reshaped.dispose();
  },
};

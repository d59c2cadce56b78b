import * as tf from '@tensorflow/tfjs';
import { NodeOf } from '../plan';
import { OpRecord } from './record';

/** The graph's plumbing and element-wise ops: its input, pass-throughs, ReLU and the residual addition. */

export const input: OpRecord<NodeOf<'input'>> = {
  forward: (_node, [images]) => images,
  backward: () => undefined,
};

/** A linear activation, or a node another one took in (see ../passes.ts): passes its input on. */
export const identity: OpRecord<NodeOf<'identity'>> = {
  forward: (_node, [x]) => x,
  backward: (_node, dy, ctx) => ctx.give(0, dy),
};

export const relu: OpRecord<NodeOf<'relu'>> = {
  forward(_node, [x], ctx) {
    const y = ctx.ops.relu(x);
    ctx.save('output', y);
    return y;
  },
  backward: (_node, dy, ctx) => ctx.give(0, ctx.ops.reluGrad(dy, ctx.saved.output as tf.Tensor)),
};

/** H(x) = F(x) + x: the gradient goes to both summands unchanged. */
export const add: OpRecord<NodeOf<'add'>> = {
  forward: (_node, inputs, ctx) => (inputs.length === 2 ? ctx.ops.add(inputs[0], inputs[1]) : ctx.ops.addN(inputs)),
  backward(node, dy, ctx) {
    node.inputs.forEach((_, k) => ctx.give(k, dy));
  },
};

import * as tf from '@tensorflow/tfjs';
import type { BatchNormSaved, ConvAttrs, NativeOps, Precision } from '../ops';
import type { BatchNormNode, PlanNode } from '../plan';

/**
 * The contract of an op of the native executor: its forward and its backward side by side, in the
 * spirit of micrograd (one record per op family in this folder; ../executor.ts runs them).
 */

/** What a node's forward keeps for its backward. */
export interface Saved {
  input?: tf.Tensor;
  output?: tf.Tensor;
  /** A conv's kernel cast to bfloat16 for the step (its input gradient reads it again). */
  kernel?: tf.Tensor;
  batchNorm?: BatchNormSaved;
  inputShape?: number[];
  /** The precision of the node's input where the node computes in another one (its input gradient goes back in it). */
  inputPrecision?: Precision;
}

/** One BN layer's batch statistics from a training forward pass (the running averages move towards them). */
export interface BatchStatistics {
  node: BatchNormNode;
  mean: tf.Tensor1D;
  unbiasedVariance: tf.Tensor1D;
  count: number;
}

/** A conv kernel and bias with the following inference-mode batch norm folded in (see ./conv.ts). */
export interface FoldedWeights {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

export interface ForwardContext {
  readonly ops: NativeOps;
  /** Training mode: BN uses batch statistics, and nodes keep what their backward needs. */
  readonly training: boolean;
  /** The precision of the activations between convolutions (bfloat16 in mixed precision, float32 in inference). */
  readonly precision: Precision;
  /** The precision conv node `index` computes in (float32 for a conv whose bfloat16 kernel is not trusted). */
  convPrecision(index: number): Precision;
  /** The precision a batch norm over `channels` computes in (float32 where oneDNN's bfloat16 one is slow). */
  batchNormPrecision(channels: number): Precision;
  /** This node's slot for what its backward needs (filled in training mode only). */
  readonly saved: Saved;
  /** Keeps `tensor` in the node's slot until its backward has run (nothing in inference mode). */
  save(what: 'input' | 'output' | 'kernel', tensor: tf.Tensor): void;
  /** Holds `tensor` once more until the node's backward releases it (the batch norm's input). */
  hold(tensor: tf.Tensor): void;
  /** Batch statistics of the training pass, applied to the running averages when it is done. */
  readonly statistics: BatchStatistics[];
  /** The attributes of conv node `index` (built once per node). */
  convAttrs(index: number): ConvAttrs;
  /** The folded kernel and bias of a conv + batch norm (cached until a weight changes). */
  folded(index: number, node: Extract<PlanNode, { op: 'foldedConv' }>): FoldedWeights;
}

export interface BackwardContext {
  readonly ops: NativeOps;
  readonly saved: Saved;
  /** Gradients of the trainable variables, by variable name (the caller owns them). */
  readonly grads: tf.NamedTensorMap;
  /** Whether the node's first input needs a gradient (false for the first layer). */
  readonly wantsInput: boolean;
  convAttrs(index: number): ConvAttrs;
  /** Adds `gradient` to the gradient of the node's input `k`. */
  give(k: number, gradient: tf.Tensor): void;
}

export interface OpRecord<N extends PlanNode> {
  forward(node: N, inputs: tf.Tensor[], ctx: ForwardContext, index: number): tf.Tensor;
  /** Absent for inference-only ops (they never appear in a training plan). */
  backward?(node: N, dy: tf.Tensor, ctx: BackwardContext, index: number): void;
}

/**
 * `x` in `precision`: `x` itself when it already is, else a cast the caller owns (`casted` true).
 * Mixed precision's boundaries (the stem conv's output, the classifier's input) go through it.
 */
export function inPrecision(ops: NativeOps, x: tf.Tensor, precision: Precision): { value: tf.Tensor; casted: boolean } {
  return ops.precisionOf(x) === precision ? { value: x, casted: false } : { value: ops.cast(x, precision), casted: true };
}

/** A gradient computed in another precision than its input's, given back in the input's (disposes `gradient` when cast). */
export function gradientIn(ops: NativeOps, gradient: tf.Tensor, precision: Precision | undefined): tf.Tensor {
  if (precision === undefined || ops.precisionOf(gradient) === precision) return gradient;
  const cast = ops.cast(gradient, precision);
  gradient.dispose();
  return cast;
}

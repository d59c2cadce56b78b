import * as tf from '@tensorflow/tfjs';
import { Holdings } from './holdings';
import { ConvAttrs, NativeOps, Precision } from './ops';
import { countReaders, fuseForInference } from './passes';
import { FoldedConvNode, PlanNode } from './plan';
import {
  BackwardContext,
  BatchStatistics,
  foldSources,
  foldWeights,
  FoldedWeights,
  ForwardContext,
  recordOf,
  RunningAverages,
  Saved,
} from './records';

/**
 * Runs a compiled plan (./plan.ts) on native TensorFlow kernels: training forward, backward and
 * inference without tfjs's autodiff tape. Each op's forward and backward sit together in
 * ./records/; this class walks the nodes, holds every activation exactly as long as something
 * needs it (./holdings.ts), sums the gradients of nodes read twice, and moves the batch norms'
 * running averages. It computes the same function and gradients as `tf.variableGrads` over
 * `model.apply` (the CPU matrix compares them under every oneDNN setting), in about a quarter of
 * the kernel calls. Inference runs the plan that fuseForInference (./passes.ts) made of it.
 *
 * In mixed precision (`bfloat16`) the training pass computes its convolutions, batch norms, ReLUs
 * and residual adds in bfloat16 and everything else in float32, as PyTorch's autocast does:
 * the weights stay float32 (cast for each step), the batch statistics, the classifier and the loss
 * are float32, and every gradient the optimizer gets is float32. Inference stays float32.
 */

/** What one training pass returns: scalars already read, gradients keyed by variable name. */
export interface GradientResult {
  loss: number;
  errors: number;
  grads: tf.NamedTensorMap;
}

/** The native executor of one model. */
export class NativeNetwork {
  private readonly inference: PlanNode[];
  /** Per conv: the attributes of inference (float32) and of training (in the conv's training precision). */
  private readonly attrs = new Map<number, ConvAttrs>();
  private readonly trainingAttrs = new Map<number, ConvAttrs>();
  private readonly convPrecisions = new Map<number, Precision>();
  /** Folded inference weights per conv, with the weights they came from (refolded when one is replaced). */
  private readonly folded = new Map<number, FoldedWeights & { sources: object[] }>();
  private readonly runningAverages: RunningAverages;
  /** Whether each node's output depends on a trainable parameter (needs a gradient). */
  private readonly needsGrad: boolean[] = [];
  private readonly readers: { training: number[]; inference: number[] };

  constructor(
    readonly plan: PlanNode[],
    /** The model's input shape without the batch dimension. */
    readonly inputShape: number[],
    private readonly ops: NativeOps,
    /** The precision of the training pass's activations. */
    readonly precision: Precision = 'float32',
  ) {
    plan.forEach((node, i) => {
      const hasParameters = node.op === 'conv' || node.op === 'batchNorm' || node.op === 'dense';
      this.needsGrad[i] = hasParameters || node.inputs.some((j) => this.needsGrad[j]);
      if (node.op !== 'conv') return;
      const convPrecision = precision === 'bfloat16' && bfloat16ConvTrusted(Number(node.kernel.shape[2])) ? 'bfloat16' : 'float32';
      this.convPrecisions.set(i, convPrecision);
      this.attrs.set(i, ops.convAttrs(node.stride, node.padding));
      this.trainingAttrs.set(
        i,
        convPrecision === 'float32' ? (this.attrs.get(i) as ConvAttrs) : ops.convAttrs(node.stride, node.padding, convPrecision),
      );
    });
    this.inference = fuseForInference(plan, ops);
    this.readers = { training: countReaders(plan), inference: countReaders(this.inference) };
    this.runningAverages = new RunningAverages(ops);
  }

  /** Frees the folded inference weights and cached constants (rebuilt when next needed). */
  dispose(): void {
    for (const f of this.folded.values()) tf.dispose([f.kernel, f.bias]);
    this.folded.clear();
    this.runningAverages.dispose();
  }

  /** Inference-mode logits (BN with running statistics). The caller owns the result. */
  predict(images: tf.Tensor4D): tf.Tensor2D {
    return this.forward(images, false).logits;
  }

  /**
   * One training pass on a batch: forward in training mode (BN uses batch statistics and updates
   * its running averages, as tf.layers does), mean softmax cross-entropy, and the gradient of
   * every trainable variable. The caller owns (and disposes) the gradients.
   */
  gradients(images: tf.Tensor4D, labels: tf.Tensor1D): GradientResult {
    this.checkImages(images);
    if (labels.rank !== 1 || labels.shape[0] !== images.shape[0] || labels.dtype !== 'int32') {
      throw new Error(
        `expected ${images.shape[0]} int32 class labels (one per image), got a ${labels.dtype} tensor of shape [${labels.shape.join(', ')}]`,
      );
    }
    const { logits, saved, holdings } = this.forward(images, true);
    const grads: tf.NamedTensorMap = {};
    try {
      holdings.hold(logits); // so that an error below (a bad label) frees it too
      const { losses, backprop } = this.ops.sparseSoftmaxCrossEntropy(logits, labels);
      const [loss, errors] = tf.tidy(() => [tf.mean(losses), tf.notEqual(tf.argMax(logits, 1), labels).sum()]);
      holdings.release(logits);
      const dLogits = this.ops.mul(backprop, 1 / images.shape[0]);
      tf.dispose([losses, backprop]);
      this.backward(dLogits, saved, holdings, grads);
      const [lossValue, errorCount] = [loss.dataSync()[0], errors.dataSync()[0]];
      tf.dispose([loss, errors]);
      return { loss: lossValue, errors: errorCount, grads };
    } catch (error) {
      tf.dispose(Object.values(grads));
      for (const s of saved) if (s.batchNorm) tf.dispose(s.batchNorm.reserve);
      throw error;
    } finally {
      holdings.clear(); // empty unless an error interrupted the pass
    }
  }

  /** Walks the plan backwards from the logits' gradient, each node's record giving its inputs their gradients. */
  private backward(dLogits: tf.Tensor, saved: Saved[], holdings: Holdings, grads: tf.NamedTensorMap): void {
    const { ops, plan } = this;
    const dy: Array<tf.Tensor | undefined> = plan.map(() => undefined);
    const last = plan.length - 1;
    dy[last] = dLogits;
    holdings.hold(dLogits);
    /** Adds `gradient` to the gradient of node `target` (a node read twice gets the sum). */
    const accumulate = (target: number, gradient: tf.Tensor) => {
      const existing = dy[target];
      if (!this.needsGrad[target]) return holdings.drop(gradient);
      holdings.hold(gradient);
      if (existing === undefined) return void (dy[target] = gradient);
      dy[target] = ops.add(existing, gradient);
      holdings.hold(dy[target] as tf.Tensor);
      holdings.release(existing);
      holdings.release(gradient);
    };
    for (let i = last; i >= 0; i--) {
      const g = dy[i];
      if (g === undefined) continue;
      const node = plan[i];
      const s = saved[i];
      const ctx: BackwardContext = {
        ops,
        saved: s,
        grads,
        wantsInput: node.inputs.length > 0 && this.needsGrad[node.inputs[0]],
        convAttrs: (index) => this.trainingAttrs.get(index) as ConvAttrs,
        give: (k, gradient) => accumulate(node.inputs[k], gradient),
      };
      recordOf(node).backward?.(node, g, ctx, i);
      dy[i] = undefined;
      holdings.release(g);
      if (s.input) holdings.release(s.input);
      if (s.output) holdings.release(s.output);
      if (s.kernel) holdings.release(s.kernel);
      if (s.batchNorm) {
        holdings.release(s.batchNorm.x);
        tf.dispose(s.batchNorm.reserve);
      }
    }
  }

  /** The training plan (training) or the inference plan, forward; in training, what the backward needs. */
  private forward(images: tf.Tensor4D, training: boolean): { logits: tf.Tensor2D; saved: Saved[]; holdings: Holdings } {
    this.checkImages(images);
    const plan = training ? this.plan : this.inference;
    const readers = training ? this.readers.training : this.readers.inference;
    const holdings = new Holdings(images);
    const values: tf.Tensor[] = [];
    const saved: Saved[] = plan.map(() => ({}));
    const statistics: BatchStatistics[] = [];
    try {
      plan.forEach((node, i) => {
        const ctx: ForwardContext = {
          ops: this.ops,
          training,
          precision: training ? this.precision : 'float32',
          convPrecision: (index) => (training ? (this.convPrecisions.get(index) as Precision) : 'float32'),
          batchNormPrecision: (channels) =>
            training && this.precision === 'bfloat16' && bfloat16BatchNormFast(channels) ? 'bfloat16' : 'float32',
          saved: saved[i],
          save: (what, tensor) => {
            if (!training) return;
            saved[i][what] = tensor;
            holdings.hold(tensor);
          },
          hold: (tensor) => holdings.hold(tensor),
          statistics,
          convAttrs: (index) => (training ? this.trainingAttrs : this.attrs).get(index) as ConvAttrs,
          folded: (index, folded) => this.foldedWeights(index, folded),
        };
        const inputs = node.inputs.length > 0 ? node.inputs.map((j) => values[j]) : [images];
        const y = recordOf(node).forward(node, inputs, ctx, i);
        values[i] = y;
        // Held once per reader; the logits (read by nobody) are left to the caller.
        holdings.hold(y, readers[i]);
        for (const j of node.inputs) holdings.release(values[j]);
      });
      this.runningAverages.update(statistics);
      return { logits: values[plan.length - 1] as tf.Tensor2D, saved, holdings };
    } catch (error) {
      tf.dispose(statistics.flatMap((s) => [s.mean, s.unbiasedVariance]));
      holdings.clear();
      for (const s of saved) if (s.batchNorm) tf.dispose(s.batchNorm.reserve);
      throw error;
    }
  }

  /** The folded kernel and bias of conv `index`, cached until any weight they came from is replaced (every training step does). */
  private foldedWeights(index: number, node: FoldedConvNode): FoldedWeights {
    const sources = foldSources(node);
    const cached = this.folded.get(index);
    if (cached && cached.sources.every((s, k) => s === sources[k])) return cached;
    if (cached) tf.dispose([cached.kernel, cached.bias]);
    const entry = { ...foldWeights(node), sources };
    this.folded.set(index, entry);
    return entry;
  }

  private checkImages(images: tf.Tensor): void {
    if (images.rank !== 4 || images.shape.slice(1).some((d, k) => d !== this.inputShape[k]) || images.dtype !== 'float32') {
      throw new Error(
        `expected float32 images of shape [batch, ${this.inputShape.join(', ')}], got a ${images.dtype} tensor of shape [${images.shape.join(', ')}]`,
      );
    }
  }
}

/**
 * Whether a convolution over `inChannels` input channels may run in bfloat16. oneDNN's bfloat16
 * forward convolution in TensorFlow 2.21 is wrong for odd channel counts (relative error 0.3–0.6
 * with 1, 3, 5 or 7 input channels on a Zen 5; its gradients are right): the stem conv over RGB
 * images stays float32, as it would in many mixed-precision recipes anyway.
 */
export function bfloat16ConvTrusted(inChannels: number): boolean {
  return inChannels % 2 === 0;
}

/**
 * Whether a batch norm over `channels` is faster in bfloat16. oneDNN's bfloat16 batch norm (forward
 * and gradient) in TensorFlow 2.21 is 1.5-2× faster than float32 for multiples of 16 channels and
 * 10-20× slower for others (4, 8, 12, 24 channels at 32×32, batch 128, on a Zen 5): those run in
 * float32 between two casts, which cost a tenth of a millisecond.
 */
export function bfloat16BatchNormFast(channels: number): boolean {
  return channels % 16 === 0;
}

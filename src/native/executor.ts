import * as tf from '@tensorflow/tfjs';
import { Holdings } from './holdings';
import { BatchNormSaved, biasedVarianceFactor, ConvAttrs, NativeOps } from './ops';
import { countReaders } from './passes';
import { pointwiseFilterGradient, pointwiseForward, pointwiseInputGradient } from './pointwise';
import { BatchNormNode, ConvNode, PlanNode, variableName } from './plan';

/**
 * A LayersModel of reslab's layer vocabulary executed directly on native TensorFlow kernels:
 * training forward, backward and inference without tfjs's autodiff tape. It computes the same
 * function and the same gradients as `tf.variableGrads` over `model.apply` (tests compare them
 * within float32 noise), but in about a quarter of the kernel calls, with one native gradient
 * kernel per layer (ReluGrad, FusedBatchNormGradV3, Conv2DBackprop*, AvgPoolGrad, ...), and it
 * frees every activation as soon as nothing needs it any more. Inference folds each batch norm
 * into the conv before it and, where oneDNN's fused convolution runs, applies the residual add and
 * ReLU that follow inside that conv: one kernel per conv.
 *
 * Supported layers: Conv2D, (Fused)BatchNormalization over channels, Activation relu/linear,
 * Add, ShortcutA, ZeroPadding2D (folded into the next conv when it is its only reader),
 * MaxPooling2D, GlobalAveragePooling2D and Dense, in any single-input, single-output DAG ending
 * in the logits. Anything else: {@link compileNetwork} says why and callers use tfjs's path.
 */

type LayerVariable = tf.LayerVariable;

/** What one training pass returns: scalars already read, gradients keyed by variable name. */
export interface GradientResult {
  loss: number;
  errors: number;
  grads: tf.NamedTensorMap;
}

/** One BN layer's batch statistics from a training forward pass. */
interface BatchStatistics {
  node: BatchNormNode;
  mean: tf.Tensor1D;
  unbiasedVariance: tf.Tensor1D;
  count: number;
}

/** Per-node state kept from the forward pass for the backward pass. */
interface Saved {
  input?: tf.Tensor;
  output?: tf.Tensor;
  batchNorm?: BatchNormSaved;
  inputShape?: number[];
}

/** A conv kernel and bias with the following inference-mode batch norm folded in, and the weights they came from. */
interface FoldedConv {
  sources: object[];
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

/** The native executor of one model; see the module comment. */
export class NativeNetwork {
  private readonly convAttrs = new Map<number, ConvAttrs>();
  /**
   * Inference only: conv node -> the batch norm that is its only reader, folded into the conv's
   * kernel and bias (one oneDNN conv-with-bias kernel instead of a conv and a batch norm).
   */
  private readonly foldInto = new Map<number, number>();
  private readonly folded = new Map<number, FoldedConv>();
  /**
   * Inference only, with {@link NativeOps.fusedConv}: add node -> the folded conv + batch norm
   * feeding it, computed at the add as one kernel with the other input as its residual (and the
   * ReLU that is the add's only reader, which then passes its input on).
   */
  private readonly residualInto = new Map<number, { batchNorm: number; residual: number; relu: boolean }>();
  /** Convs of {@link residualInto}: at their own node they pass their input on. */
  private readonly deferredConvs = new Set<number>();
  /** ReLUs applied inside a fused conv of {@link residualInto}: they pass their input on. */
  private readonly fusedRelus = new Set<number>();
  /** Constants of {@link updateRunningAverages} per batch shape. */
  private readonly averaging = new Map<string, { factors: tf.Tensor1D; decays: tf.Tensor1D }>();
  /** Whether each node's output depends on a trainable parameter (needs a gradient). */
  private readonly needsGrad: boolean[];
  private readonly readers: number[];

  constructor(
    readonly plan: PlanNode[],
    /** The model's input shape without the batch dimension. */
    readonly inputShape: number[],
    private readonly ops: NativeOps,
  ) {
    this.readers = countReaders(plan);
    this.needsGrad = [];
    plan.forEach((node, i) => {
      const hasParameters = node.op === 'conv' || node.op === 'batchNorm' || node.op === 'dense';
      this.needsGrad[i] = hasParameters || node.inputs.some((j) => this.needsGrad[j]);
    });
    plan.forEach((node, i) => {
      if (node.op === 'conv') this.convAttrs.set(i, ops.convAttrs(node.stride, node.padding));
      if (ops.oneDnn && node.op === 'batchNorm' && plan[node.inputs[0]].op === 'conv' && this.readers[node.inputs[0]] === 1) {
        this.foldInto.set(node.inputs[0], i);
      }
    });
    if (ops.fusedConv) this.planResidualFusion();
  }

  /** Finds each add fed by a folded conv + batch norm (and the ReLU after it) for {@link residualInto}. */
  private planResidualFusion(): void {
    const { plan, readers } = this;
    plan.forEach((node, i) => {
      if (node.op !== 'add' || node.inputs.length !== 2) return;
      const side = node.inputs.findIndex((j) => {
        const source = plan[j];
        // A 1x1 conv is a matrix product (see pointwiseAsMatMul), not a convolution kernel to fuse into.
        const pointwise = (plan[source.inputs[0]] as ConvNode).pointwise === true;
        return source.op === 'batchNorm' && !source.relu && readers[j] === 1 && this.foldInto.get(source.inputs[0]) === j && !pointwise;
      });
      if (side < 0) return;
      const batchNorm = node.inputs[side];
      const conv = plan[batchNorm].inputs[0];
      const reader = plan.findIndex((other) => other.inputs.includes(i));
      const relu = readers[i] === 1 && plan[reader].op === 'relu';
      this.residualInto.set(i, { batchNorm, residual: node.inputs[1 - side], relu });
      this.deferredConvs.add(conv);
      if (relu) this.fusedRelus.add(reader);
    });
  }

  /** Frees the folded inference weights and cached constants (rebuilt when next needed). */
  dispose(): void {
    for (const f of this.folded.values()) tf.dispose([f.kernel, f.bias]);
    for (const c of this.averaging.values()) tf.dispose([c.factors, c.decays]);
    this.folded.clear();
    this.averaging.clear();
  }

  /**
   * The kernel and bias of conv node `i` with batch norm `bn` folded in:
   * w' = w * s, b' = beta + (b - mean) * s with s = gamma / sqrt(variance + epsilon) per output
   * channel. Cached until any of the weights it came from is replaced (every training step does).
   */
  private foldedConv(i: number, conv: ConvNode, bn: BatchNormNode): FoldedConv {
    const weights = [conv.kernel, ...(conv.bias ? [conv.bias] : []), bn.gamma, bn.beta, bn.movingMean, bn.movingVariance];
    const sources = weights.map((w) => w.read().dataId);
    const cached = this.folded.get(i);
    if (cached && cached.sources.every((s, k) => s === sources[k])) return cached;
    if (cached) tf.dispose([cached.kernel, cached.bias]);
    const [kernel, bias] = tf.tidy(() => {
      const scale = tf.mul(bn.gamma.read(), tf.rsqrt(tf.add(bn.movingVariance.read(), bn.epsilon)));
      const shift = conv.bias ? tf.sub(conv.bias.read(), bn.movingMean.read()) : tf.neg(bn.movingMean.read());
      return [
        tf.keep(tf.mul(conv.kernel.read(), scale) as tf.Tensor4D),
        tf.keep(tf.add(bn.beta.read(), tf.mul(shift, scale)) as tf.Tensor1D),
      ];
    });
    const entry = { sources, kernel, bias };
    this.folded.set(i, entry);
    return entry;
  }

  /**
   * Inference: conv node `i` with the batch norm folded into it, then the residual (if any) and
   * the ReLU (if asked): one oneDNN kernel with {@link NativeOps.fusedConv}, else conv-with-bias
   * and ReLU (a residual is only planned with fusedConv, see {@link planResidualFusion}).
   */
  private foldedConvForward(i: number, x: tf.Tensor4D, post: { residual?: tf.Tensor4D; relu: boolean }): tf.Tensor4D {
    const { ops, plan } = this;
    const node = plan[i] as ConvNode;
    const { kernel, bias } = this.foldedConv(i, node, plan[this.foldInto.get(i) as number] as BatchNormNode);
    const attrs = this.convAttrs.get(i) as ConvAttrs;
    if (node.pointwise)
      return tf.tidy(() => {
        const y = ops.biasAdd(pointwiseForward(ops, node.stride, x, kernel).y, bias);
        return post.relu ? ops.relu(y) : y;
      });
    if (ops.fusedConv) return ops.conv2dFused(x, kernel, bias, attrs, post);
    const y = ops.conv2dWithBias(x, kernel, bias, attrs);
    if (!post.relu) return y;
    const activated = ops.relu(y);
    y.dispose();
    return activated;
  }

  /** Inference-mode logits (BN with running statistics). The caller owns the result. */
  predict(images: tf.Tensor4D): tf.Tensor2D {
    const { logits } = this.forward(images, false);
    return logits;
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
    const { ops, plan } = this;
    const grads: tf.NamedTensorMap = {};
    const dy: Array<tf.Tensor | undefined> = plan.map(() => undefined);
    try {
      holdings.hold(logits); // so that an error below (a bad label) frees it too
      const batch = images.shape[0];
      const { losses, backprop } = ops.sparseSoftmaxCrossEntropy(logits, labels);
      const [loss, errors] = tf.tidy(() => [tf.mean(losses), tf.notEqual(tf.argMax(logits, 1), labels).sum()]);
      holdings.release(logits);
      const last = plan.length - 1;
      dy[last] = ops.mul(backprop, 1 / batch);
      holdings.hold(dy[last] as tf.Tensor);
      tf.dispose([losses, backprop]);
      const give = (target: number, gradient: tf.Tensor) => {
        if (!this.needsGrad[target]) {
          holdings.drop(gradient);
          return;
        }
        const existing = dy[target];
        if (existing === undefined) {
          dy[target] = gradient;
          holdings.hold(gradient);
        } else {
          const sum = ops.add(existing, gradient);
          holdings.hold(sum);
          holdings.release(existing);
          holdings.drop(gradient);
          dy[target] = sum;
        }
      };
      for (let i = last; i >= 0; i--) {
        const g = dy[i];
        if (g === undefined) continue;
        this.backwardNode(i, g, saved[i], grads, give);
        dy[i] = undefined;
        holdings.release(g);
        const s = saved[i];
        if (s.input) holdings.release(s.input);
        if (s.output) holdings.release(s.output);
        if (s.batchNorm) {
          holdings.release(s.batchNorm.x);
          tf.dispose(s.batchNorm.reserve);
        }
      }
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

  private forward(images: tf.Tensor4D, training: boolean): { logits: tf.Tensor2D; saved: Saved[]; holdings: Holdings } {
    const { ops, plan } = this;
    this.checkImages(images);
    const holdings = new Holdings(images);
    const values: tf.Tensor[] = [];
    const saved: Saved[] = plan.map(() => ({}));
    const statistics: BatchStatistics[] = [];
    try {
      plan.forEach((node, i) => {
        const x = node.inputs.length > 0 ? values[node.inputs[0]] : images;
        const save = (what: 'input' | 'output', tensor: tf.Tensor) => {
          if (!training) return;
          saved[i][what] = tensor;
          holdings.hold(tensor);
        };
        let y: tf.Tensor;
        switch (node.op) {
          case 'input':
          case 'identity':
            y = x;
            break;
          case 'conv': {
            const foldedInto = training ? undefined : this.foldInto.get(i);
            if (foldedInto !== undefined) {
              // A deferred conv is computed at the add it feeds, with the residual.
              y = this.deferredConvs.has(i)
                ? x
                : this.foldedConvForward(i, x as tf.Tensor4D, { relu: (plan[foldedInto] as BatchNormNode).relu === true });
              break;
            }
            const kernel = node.kernel.read() as tf.Tensor4D;
            let input = x;
            if (node.pointwise) {
              // A subsampled input is this node's own: saved for the filter gradient, else freed now.
              ({ y, input } = pointwiseForward(ops, node.stride, x as tf.Tensor4D, kernel));
              if (!training && input !== x) input.dispose();
              saved[i].inputShape = x.shape;
            } else y = ops.conv2d(x as tf.Tensor4D, kernel, this.convAttrs.get(i) as ConvAttrs);
            if (node.bias) y = this.withBias(y, node.bias);
            save('input', input);
            break;
          }
          case 'batchNorm': {
            const gamma = node.gamma.read() as tf.Tensor1D;
            const beta = node.beta.read() as tf.Tensor1D;
            if (training) {
              const result = ops.batchNormTraining(x as tf.Tensor4D, gamma, beta, node.epsilon, node.relu);
              y = result.y;
              saved[i].batchNorm = result.saved;
              holdings.hold(x);
              if (node.relu) save('output', y);
              statistics.push({ node, mean: result.mean, unbiasedVariance: result.unbiasedVariance, count: result.count });
            } else if (this.foldInto.get(node.inputs[0]) === i) {
              y = x; // folded into the conv before it
            } else {
              y = ops.batchNormInference(
                x as tf.Tensor4D,
                gamma,
                beta,
                node.movingMean.read() as tf.Tensor1D,
                node.movingVariance.read() as tf.Tensor1D,
                node.epsilon,
                node.relu,
              );
            }
            break;
          }
          case 'relu':
            if (!training && this.fusedRelus.has(i)) {
              y = x; // applied by the fused conv before it
              break;
            }
            y = ops.relu(x);
            save('output', y);
            break;
          case 'add': {
            const fusion = training ? undefined : this.residualInto.get(i);
            if (fusion) {
              // The deferred conv's input, passed on unchanged by it and its batch norm.
              const convInput = values[fusion.batchNorm] as tf.Tensor4D;
              y = this.foldedConvForward(plan[fusion.batchNorm].inputs[0], convInput, {
                residual: values[fusion.residual] as tf.Tensor4D,
                relu: fusion.relu,
              });
              break;
            }
            const inputs = node.inputs.map((j) => values[j]);
            y = inputs.length === 2 ? ops.add(inputs[0], inputs[1]) : ops.addN(inputs);
            break;
          }
          case 'shortcutA': {
            const channels = x.shape[3] as number;
            saved[i].inputShape = x.shape;
            y = node.stride > 1 ? ops.subsample(x as tf.Tensor4D, node.stride) : x;
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
            break;
          }
          case 'pad':
            saved[i].inputShape = x.shape;
            y = ops.pad(x, [[0, 0], node.paddings[0], node.paddings[1], [0, 0]]);
            break;
          case 'maxPool':
            y = ops.maxPool(x as tf.Tensor4D, node.window, node.stride, node.padding);
            save('input', x);
            save('output', y);
            break;
          case 'globalAvgPool': {
            const [batch, height, width, channels] = x.shape;
            saved[i].inputShape = x.shape;
            const pooled = ops.avgPool(x as tf.Tensor4D, [height, width], 1, 'VALID');
            y = ops.reshape(pooled, [batch, channels]);
            pooled.dispose();
            break;
          }
          case 'dense': {
            y = ops.matMul(x as tf.Tensor2D, node.kernel.read() as tf.Tensor2D);
            if (node.bias) y = this.withBias(y, node.bias);
            save('input', x);
            break;
          }
        }
        values[i] = y;
        // Held once per reader; the logits (read by nobody) are left to the caller.
        holdings.hold(y, this.readers[i]);
        for (const j of node.inputs) holdings.release(values[j]);
      });
      this.updateRunningAverages(statistics);
      const logits = values[plan.length - 1] as tf.Tensor2D;
      return { logits, saved, holdings };
    } catch (error) {
      tf.dispose(statistics.flatMap((s) => [s.mean, s.unbiasedVariance]));
      holdings.clear();
      for (const s of saved) if (s.batchNorm) tf.dispose(s.batchNorm.reserve);
      throw error;
    }
  }

  /**
   * Moves every BN layer's running mean and variance towards this batch's statistics, exactly as
   * {@link updateRunningAverage} does layer by layer, in seven kernel calls for the whole network:
   * all statistics are joined into one vector, updated, and cut back into the layers' variables.
   */
  private updateRunningAverages(statistics: BatchStatistics[]): void {
    if (statistics.length === 0) return;
    const { ops } = this;
    const running = statistics.flatMap((s) => [s.node.movingMean.read() as tf.Tensor1D, s.node.movingVariance.read() as tf.Tensor1D]);
    const batch = statistics.flatMap((s) => [s.mean, s.unbiasedVariance]);
    const { factors, decays } = this.averagingConstants(statistics);
    const parts = tf.tidy(() => {
      const current = ops.concat1d(running);
      const target = ops.mul(ops.concat1d(batch), factors);
      const updated = ops.sub(current, ops.mul(ops.sub(current, target), decays));
      return ops.split1d(
        updated,
        running.map((r) => r.shape[0]),
      );
    });
    statistics.forEach((s, k) => {
      s.node.movingMean.write(parts[2 * k]);
      s.node.movingVariance.write(parts[2 * k + 1]);
    });
    tf.dispose([...parts, ...batch]);
  }

  /**
   * Per element of the joined statistics: the factor that makes TensorFlow's batch statistic the
   * one tf.layers averages (1 for means, the biased-variance factor for variances) and 1 - momentum.
   * They depend only on the batch shape, so they are built once per batch shape and kept.
   */
  private averagingConstants(statistics: BatchStatistics[]): { factors: tf.Tensor1D; decays: tf.Tensor1D } {
    const key = statistics.map((s) => s.count).join(',');
    let constants = this.averaging.get(key);
    if (!constants) {
      const factors: number[] = [];
      const decays: number[] = [];
      for (const s of statistics) {
        const channels = s.mean.shape[0];
        const varianceFactor = biasedVarianceFactor(s.count);
        for (let c = 0; c < channels; c++) factors.push(1);
        for (let c = 0; c < channels; c++) factors.push(varianceFactor);
        for (let c = 0; c < 2 * channels; c++) decays.push(1 - s.node.momentum);
      }
      constants = { factors: tf.keep(tf.tensor1d(factors, 'float32')), decays: tf.keep(tf.tensor1d(decays, 'float32')) };
      this.averaging.set(key, constants);
    }
    return constants;
  }

  private checkImages(images: tf.Tensor): void {
    if (images.rank !== 4 || images.shape.slice(1).some((d, k) => d !== this.inputShape[k]) || images.dtype !== 'float32') {
      throw new Error(
        `expected float32 images of shape [batch, ${this.inputShape.join(', ')}], got a ${images.dtype} tensor of shape [${images.shape.join(', ')}]`,
      );
    }
  }

  /** `y` plus a bias over its last dimension; disposes `y` (an intermediate no one holds yet). */
  private withBias(y: tf.Tensor, bias: LayerVariable): tf.Tensor {
    const biased = this.ops.biasAdd(y, bias.read() as tf.Tensor1D);
    y.dispose();
    return biased;
  }

  private backwardNode(
    i: number,
    dy: tf.Tensor,
    saved: Saved,
    grads: tf.NamedTensorMap,
    give: (target: number, gradient: tf.Tensor) => void,
  ): void {
    const { ops } = this;
    const node = this.plan[i];
    const source = node.inputs[0];
    const wantsInput = node.inputs.length > 0 && this.needsGrad[source];
    switch (node.op) {
      case 'input':
        return;
      case 'identity':
        give(source, dy);
        return;
      case 'add':
        for (const j of node.inputs) give(j, dy);
        return;
      case 'relu':
        give(source, ops.reluGrad(dy, saved.output as tf.Tensor));
        return;
      case 'conv': {
        const x = saved.input as tf.Tensor4D;
        const kernel = node.kernel.read() as tf.Tensor4D;
        const attrs = this.convAttrs.get(i) as ConvAttrs;
        if (node.bias) grads[variableName(node.bias)] = ops.biasAddGrad(dy);
        if (node.pointwise) {
          grads[variableName(node.kernel)] = pointwiseFilterGradient(ops, x, kernel.shape, dy as tf.Tensor4D);
          if (wantsInput) give(source, pointwiseInputGradient(ops, node.stride, saved.inputShape as number[], kernel, dy as tf.Tensor4D));
          return;
        }
        grads[variableName(node.kernel)] = ops.conv2dBackpropFilter(x, kernel.shape, dy as tf.Tensor4D, attrs);
        if (wantsInput) give(source, ops.conv2dBackpropInput(x.shape, kernel, dy as tf.Tensor4D, attrs));
        return;
      }
      case 'batchNorm': {
        const dNormalized = node.relu ? ops.reluGrad(dy, saved.output as tf.Tensor) : dy;
        const { dx, dgamma, dbeta } = ops.batchNormGrad(
          dNormalized as tf.Tensor4D,
          saved.batchNorm as BatchNormSaved,
          node.gamma.read() as tf.Tensor1D,
          node.epsilon,
        );
        if (dNormalized !== dy) dNormalized.dispose();
        grads[variableName(node.gamma)] = dgamma;
        grads[variableName(node.beta)] = dbeta;
        if (wantsInput) give(source, dx);
        else dx.dispose();
        return;
      }
      case 'shortcutA': {
        const shape = saved.inputShape as number[];
        const [batch, height, width, channels] = shape;
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
        give(source, g);
        return;
      }
      case 'pad': {
        const shape = saved.inputShape as number[];
        give(source, ops.slice(dy, [0, node.paddings[0][0], node.paddings[1][0], 0], shape));
        return;
      }
      case 'maxPool':
        give(
          source,
          ops.maxPoolGrad(
            saved.input as tf.Tensor4D,
            saved.output as tf.Tensor4D,
            dy as tf.Tensor4D,
            node.window,
            node.stride,
            node.padding,
          ),
        );
        return;
      case 'globalAvgPool': {
        const shape = saved.inputShape as number[];
        const [batch, height, width, channels] = shape;
        const reshaped = ops.reshape<tf.Tensor4D>(dy, [batch, 1, 1, channels]);
        give(source, ops.avgPoolGrad(shape, reshaped, [height, width], 1, 'VALID'));
        reshaped.dispose();
        return;
      }
      case 'dense': {
        const x = saved.input as tf.Tensor2D;
        const kernel = node.kernel.read() as tf.Tensor2D;
        grads[variableName(node.kernel)] = ops.matMul(x, dy as tf.Tensor2D, true, false);
        if (node.bias) grads[variableName(node.bias)] = ops.biasAddGrad(dy);
        if (wantsInput) give(source, ops.matMul(dy as tf.Tensor2D, kernel, false, true));
        return;
      }
    }
  }
}

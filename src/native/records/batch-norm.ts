import * as tf from '@tensorflow/tfjs';
import { BatchNormSaved, biasedVarianceFactor, NativeOps } from '../ops';
import { NodeOf, variableName } from '../plan';
import { BatchStatistics, gradientIn, inPrecision, OpRecord } from './record';

/**
 * Batch norm over channels, with the ReLU after it when that is its only reader (one oneDNN kernel
 * where available): batch statistics in training, running statistics in inference.
 */
export const batchNorm: OpRecord<NodeOf<'batchNorm'>> = {
  forward(node, [x], ctx) {
    const { ops } = ctx;
    const gamma = node.gamma.read() as tf.Tensor1D;
    const beta = node.beta.read() as tf.Tensor1D;
    if (!ctx.training) {
      const mean = node.movingMean.read() as tf.Tensor1D;
      const variance = node.movingVariance.read() as tf.Tensor1D;
      return ops.batchNormInference(x as tf.Tensor4D, gamma, beta, mean, variance, node.epsilon, node.relu);
    }
    // In mixed precision a batch norm oneDNN is slow at in bfloat16 computes in float32 between casts.
    const source = inPrecision(ops, x, ctx.batchNormPrecision(x.shape[3] as number));
    if (source.casted) ctx.saved.inputPrecision = ops.precisionOf(x);
    const result = ops.batchNormTraining(source.value as tf.Tensor4D, gamma, beta, node.epsilon, node.relu);
    ctx.saved.batchNorm = result.saved;
    ctx.hold(source.value);
    if (node.relu) ctx.save('output', result.y);
    ctx.statistics.push({ node, mean: result.mean, unbiasedVariance: result.unbiasedVariance, count: result.count });
    const output = inPrecision(ops, result.y, ctx.precision);
    if (output.casted && !node.relu) result.y.dispose();
    return output.value;
  },
  backward(node, dy, ctx) {
    const { ops } = ctx;
    const saved = ctx.saved.batchNorm as BatchNormSaved;
    const gradient = inPrecision(ops, dy, ops.precisionOf(saved.x));
    const g = gradient.value;
    const dNormalized = node.relu ? ops.reluGrad(g, ctx.saved.output as tf.Tensor) : g;
    const { dx, dgamma, dbeta } = ops.batchNormGrad(dNormalized as tf.Tensor4D, saved, node.gamma.read() as tf.Tensor1D, node.epsilon);
    if (dNormalized !== g) dNormalized.dispose();
    if (gradient.casted) g.dispose();
    ctx.grads[variableName(node.gamma)] = dgamma;
    ctx.grads[variableName(node.beta)] = dbeta;
    if (ctx.wantsInput) ctx.give(0, gradientIn(ops, dx, ctx.saved.inputPrecision));
    else dx.dispose();
  },
};

/**
 * Moves every BN layer's running mean and variance towards a training pass's batch statistics, as
 * tf.layers does layer by layer, in seven kernel calls for the whole network: all statistics are
 * joined into one vector, updated, and cut back into the layers' variables.
 */
export class RunningAverages {
  /** Per batch shape: the factor that makes TensorFlow's batch statistic the one tf.layers averages, and 1 - momentum. */
  private readonly constants = new Map<string, { factors: tf.Tensor1D; decays: tf.Tensor1D }>();

  constructor(private readonly ops: NativeOps) {}

  update(statistics: BatchStatistics[]): void {
    if (statistics.length === 0) return;
    const { ops } = this;
    const running = statistics.flatMap((s) => [s.node.movingMean.read() as tf.Tensor1D, s.node.movingVariance.read() as tf.Tensor1D]);
    const batch = statistics.flatMap((s) => [s.mean, s.unbiasedVariance]);
    const { factors, decays } = this.constantsFor(statistics);
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

  /** 1 for means, the biased-variance factor for variances; 1 - momentum for both. Built once per batch shape. */
  private constantsFor(statistics: BatchStatistics[]): { factors: tf.Tensor1D; decays: tf.Tensor1D } {
    const key = statistics.map((s) => s.count).join(',');
    let constants = this.constants.get(key);
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
      this.constants.set(key, constants);
    }
    return constants;
  }

  dispose(): void {
    for (const c of this.constants.values()) tf.dispose([c.factors, c.decays]);
    this.constants.clear();
  }
}

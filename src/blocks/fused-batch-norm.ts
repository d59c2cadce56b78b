import * as tf from '@tensorflow/tfjs';
import { biasedVarianceFactor, nativeOps } from '../native/ops';
import { updateRunningAverage } from '../native/network';

/**
 * Batch normalization whose training-mode forward and backward each run as ONE native
 * TensorFlow kernel (FusedBatchNormV3 / FusedBatchNormGradV3) instead of tfjs's chain of small
 * element-wise ops (moments, normalization and their JavaScript-defined gradients), when a model
 * is differentiated by tfjs's autodiff (reslab's own training step runs the whole network
 * natively; see src/native/network.ts). It computes the same function with the same parameters
 * and running averages as tf.layers.batchNormalization (which it extends, so configs and weights
 * are identical); inference mode, other backends and `RESLAB_NATIVE=0` use the straightforward path.
 */

interface BatchNormFields {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  momentum: number;
  epsilon: number;
  axis: number;
  center: boolean;
  scale: boolean;
}

/** True when the fused path is used for training-mode batch norm in this process. */
export function fusedBatchNormActive(): boolean {
  return nativeOps() !== undefined;
}

/**
 * Training-mode batch norm of an NHWC tensor in one native kernel, with a one-kernel gradient,
 * differentiable by tfjs. Returns the output and the batch mean and (biased, as tf.moments) variance.
 */
export function fusedBatchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const ops = nativeOps();
  if (!ops) throw new Error('fusedBatchNormTraining needs the native TensorFlow backend');
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const forward = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const result = ops.batchNormTraining(xs as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, epsilon);
    mean = tf.keep(result.mean);
    variance = tf.keep(ops.mul(result.unbiasedVariance, biasedVarianceFactor(result.count)));
    result.unbiasedVariance.dispose();
    save([xs, g, ...result.saved.reserve]);
    return {
      value: result.y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sg, r1, r2, r3] = saved;
        const { dx, dgamma, dbeta } = ops.batchNormGrad(dy as tf.Tensor4D, { x: sx as tf.Tensor4D, reserve: [r1, r2, r3] }, sg as tf.Tensor1D, epsilon);
        return [dx, dgamma, dbeta];
      },
    };
  });
  const y = forward(x, gamma, beta) as tf.Tensor4D;
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

type LayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type LayerClass = (new (args: LayerArgs) => tf.layers.Layer) & tf.serialization.SerializableConstructor<tf.layers.Layer>;
const BatchNormalization = tf.layers.batchNormalization({}).constructor as LayerClass;

/** tf.layers.batchNormalization with the fused native training path (see the module comment). */
export class FusedBatchNormalization extends BatchNormalization {
  static override readonly className = 'FusedBatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const fields = this as unknown as BatchNormFields;
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    if (kwargs.training !== true || x.rank !== 4 || (fields.axis !== 3 && fields.axis !== -1) || !fields.center || !fields.scale || !fusedBatchNormActive()) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = fusedBatchNormTraining(x as tf.Tensor4D, fields.gamma.read() as tf.Tensor1D, fields.beta.read() as tf.Tensor1D, fields.epsilon);
      updateRunningAverage(fields.movingMean, mean, fields.momentum);
      updateRunningAverage(fields.movingVariance, variance, fields.momentum);
      tf.dispose([mean, variance]);
      return y;
    });
  }
}
tf.serialization.registerClass(FusedBatchNormalization as unknown as tf.serialization.SerializableConstructor<FusedBatchNormalization>);

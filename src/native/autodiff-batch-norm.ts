import * as tf from '@tensorflow/tfjs';
import { biasedVarianceFactor, nativeOps } from './ops';

/**
 * Batch normalization under tfjs's autodiff in ONE native TensorFlow kernel each way
 * (FusedBatchNormV3 / FusedBatchNormGradV3) instead of tfjs's chain of small element-wise ops
 * (moments, normalization and their JavaScript-defined gradients). It matters only where a model
 * is differentiated by tfjs's autodiff (reslab's own training step runs the whole network
 * natively, see ./executor.ts). Models keep tfjs's standard BatchNormalization layers (so saved
 * models load anywhere): {@link withFusedBatchNorm} swaps the training-mode call of a model's
 * batch norms for the duration of one pass. It computes the same function with the same
 * parameters and running averages; inference mode, other backends and `RESLAB_NATIVE=0` use
 * tfjs's own path.
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

type LayerCall = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/** True when the fused path is used for training-mode batch norm in this process. */
export function fusedBatchNormActive(): boolean {
  return nativeOps() !== undefined;
}

/**
 * Moves a BN running average towards a batch statistic exactly as tf.layers.batchNormalization
 * does: `running -= (running - batch) * (1 - momentum)`.
 */
export function updateRunningAverage(variable: tf.LayerVariable, batch: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const current = variable.read();
    variable.write(current.sub(current.sub(batch).mul(1 - momentum)));
  });
}

/**
 * Training-mode batch norm of an NHWC tensor in one native kernel, with a one-kernel gradient,
 * differentiable by tfjs. Returns the output and the batch mean and (biased, as tf.moments) variance.
 */
export function fusedBatchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
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
        const { dx, dgamma, dbeta } = ops.batchNormGrad(
          dy as tf.Tensor4D,
          { x: sx as tf.Tensor4D, reserve: [r1, r2, r3] },
          sg as tf.Tensor1D,
          epsilon,
        );
        return [dx, dgamma, dbeta];
      },
    };
  });
  const y = forward(x, gamma, beta) as tf.Tensor4D;
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** The training-mode call of one batch-norm layer through the fused kernels, or tfjs's own call where they do not apply. */
function fusedCall(layer: tf.layers.Layer, ownCall: LayerCall): LayerCall {
  const fields = layer as unknown as BatchNormFields;
  return (inputs, kwargs) => {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    if (kwargs.training !== true || x.rank !== 4 || (fields.axis !== 3 && fields.axis !== -1) || !fields.center || !fields.scale) {
      return ownCall(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = fusedBatchNormTraining(
        x as tf.Tensor4D,
        fields.gamma.read() as tf.Tensor1D,
        fields.beta.read() as tf.Tensor1D,
        fields.epsilon,
      );
      updateRunningAverage(fields.movingMean, mean, fields.momentum);
      updateRunningAverage(fields.movingVariance, variance, fields.momentum);
      tf.dispose([mean, variance]);
      return y;
    });
  };
}

/**
 * Runs `pass` (a training-mode forward, usually inside `tf.variableGrads`) with `model`'s batch
 * norms on the fused kernels, then gives the layers back their own call. Without the native
 * backend it just runs `pass`.
 */
export function withFusedBatchNorm<T>(model: tf.LayersModel, pass: () => T): T {
  if (!fusedBatchNormActive()) return pass();
  const swapped = model.layers.filter(
    (layer) => layer.getClassName() === 'BatchNormalization' && !Object.prototype.hasOwnProperty.call(layer, 'call'),
  );
  for (const layer of swapped) {
    const ownCall = layer.call.bind(layer) as LayerCall;
    Object.defineProperty(layer, 'call', { value: fusedCall(layer, ownCall), configurable: true, writable: true });
  }
  try {
    return pass();
  } finally {
    for (const layer of swapped) delete (layer as { call?: LayerCall }).call;
  }
}

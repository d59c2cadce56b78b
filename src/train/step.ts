import * as tf from '@tensorflow/tfjs';
import { nativeNetwork, nativeUnsupportedReason, Precision, withFusedBatchNorm } from '../native';
import { SgdMomentum } from './optimizer';

export {
  nativeNetwork,
  nativeUnsupportedReason,
  releaseNativeNetwork,
  stepEngine,
  precisionProblem,
  inferenceEngine,
  NativeNetwork,
  GradientResult,
  fusedBatchNormActive,
  fusedBatchNormTraining,
  withFusedBatchNorm,
} from '../native';

/** The trainable variables of a model, in layer order. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** What one training step returns (scalars, already on the CPU). */
export interface StepResult {
  loss: number;
  /** Misclassified examples in the batch. */
  errors: number;
}

/**
 * One SGD step on a batch: forward in training mode (BN uses batch statistics and updates its
 * running averages), softmax cross-entropy, backward, update. Reads back two scalars. Runs on
 * native kernels without tfjs's tape when the model allows it (see src/native), else
 * through tfjs's autodiff; both compute the same step. `bfloat16`: mixed precision, native step only.
 */
export function trainStep(
  model: tf.LayersModel,
  optimizer: SgdMomentum,
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  lr: number,
  precision: Precision = 'float32',
): StepResult {
  const native = nativeNetwork(model, precision);
  if (precision !== 'float32' && !native) throw new Error(`${precision} training needs the native step: ${nativeUnsupportedReason(model)}`);
  if (native) {
    const { loss, errors, grads } = native.gradients(images, labels);
    try {
      optimizer.apply(grads, lr);
    } finally {
      tf.dispose(Object.values(grads));
    }
    return { loss, errors };
  }
  return autodiffTrainStep(model, optimizer, images, labels, lr);
}

/** {@link trainStep} through tfjs's autodiff (batch norm on its fused kernels): the autodiff path, for any model. */
export function autodiffTrainStep(
  model: tf.LayersModel,
  optimizer: SgdMomentum,
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  lr: number,
): StepResult {
  let errorsTensor: tf.Tensor | undefined;
  const { value, grads } = withFusedBatchNorm(model, () =>
    tf.variableGrads(() => {
      const logits = model.apply(images, { training: true }) as tf.Tensor2D;
      errorsTensor = tf.keep(tf.notEqual(logits.argMax(1), labels).sum());
      const oneHot = tf.oneHot(labels, logits.shape[1]);
      return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
    }, optimizer.variables),
  );
  optimizer.apply(grads, lr);
  const loss = value.dataSync()[0];
  const errors = errorsTensor ? errorsTensor.dataSync()[0] : NaN;
  tf.dispose([value, errorsTensor, ...Object.values(grads)]);
  return { loss, errors };
}

/**
 * Inference-mode logits (BN with running statistics) of a batch, natively when the model allows
 * it (see src/native), else through `model.apply`. The caller owns the result.
 */
export function predictLogits(model: tf.LayersModel, images: tf.Tensor4D): tf.Tensor2D {
  const native = nativeNetwork(model);
  return native ? native.predict(images) : (model.apply(images, { training: false }) as tf.Tensor2D);
}

/** Misclassified examples in inference mode (BN running statistics), evaluated in batches. */
export function countErrors(model: tf.LayersModel, images: tf.Tensor4D, labels: tf.Tensor1D, batchSize = 500): number {
  let errors = 0;
  for (let start = 0; start < images.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, images.shape[0] - start);
    const wrong = tf.tidy(() => {
      const logits = predictLogits(model, images.slice(start, size));
      return tf.notEqual(logits.argMax(1), labels.slice(start, size)).sum();
    });
    errors += wrong.dataSync()[0];
    wrong.dispose();
  }
  return errors;
}

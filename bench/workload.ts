import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../src';
import { SgdMomentum } from '../src/train/optimizer';
import type { Precision } from '../src/native';
import { predictLogits, trainableVariables, trainStep } from '../src/train/step';

/** One model with a fixed random batch: the unit the benchmarks time. */
export interface Workload {
  model: tf.LayersModel;
  /** One full SGD step (momentum 0.9, weight decay 1e-4, lr 0.1) through `trainStep`. */
  train: () => void;
  /** Inference logits of the batch through `predictLogits`, read back. */
  infer: () => void;
  dispose: () => void;
}

/** Builds `name` at `width` (seed 0) with a seeded random batch of `batch` CIFAR-sized images; its steps train in `precision`. */
export function workload(name: string, width: number, batch: number, precision: Precision = 'float32'): Workload {
  const model = buildModel(name, { seed: 0, width });
  const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
  const images = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D;
  return {
    model,
    train: () => void trainStep(model, optimizer, images, labels, 0.1, precision),
    infer: () => {
      const logits = predictLogits(model, images);
      logits.dataSync();
      logits.dispose();
    },
    dispose: () => {
      tf.dispose([images, labels]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

import * as tf from '@tensorflow/tfjs';
import { CifarSplit, IMAGE_BYTES, takeFirst } from './cifar';
import { writeBatch } from './preprocess';

/** Images (NHWC, mean-subtracted, not augmented) and integer labels as tensors. */
export interface ExampleTensors {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
  count: number;
}

/**
 * The first `count` examples of a split (all by default) as tensors, preprocessed like test
 * images: mean subtraction only. `mean` defaults to zero (raw [0, 1] pixels).
 */
export function exampleTensors(split: CifarSplit, mean: Float32Array = new Float32Array(IMAGE_BYTES), count?: number): ExampleTensors {
  const part = takeFirst(split, count);
  const out = new Float32Array(part.count * IMAGE_BYTES);
  writeBatch(part, Array.from({ length: part.count }, (_, i) => i), mean, out);
  return {
    images: tf.tensor4d(out, [part.count, 32, 32, 3]),
    labels: tf.tensor1d(Int32Array.from(part.labels), 'int32'),
    count: part.count,
  };
}

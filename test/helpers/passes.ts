import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { buildNetwork, imagenetSpec, ModelOptions, trainableVariables } from '../../src';
import { nativeNetwork, nativeUnsupportedReason, withFusedBatchNorm } from '../../src/native';
import { bundledDataDir, loadCifar10 } from '../../src/data/cifar';
import { meanImage } from '../../src/data/preprocess';
import { exampleTensors } from '../../src/data/tensors';

/**
 * One training-mode pass through the native network and through tfjs's autodiff, and the float32
 * noise to judge their difference by: shared by the main suite and the CPU matrix's child processes.
 */

/** A batch of real CIFAR-10 images (the bundled ones, mean-subtracted), and the same batch in reverse order. */
export function testBatch(size = 32): {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
  reversedImages: tf.Tensor4D;
  reversedLabels: tf.Tensor1D;
} {
  const data = loadCifar10(bundledDataDir());
  const { images, labels } = exampleTensors(data.train, meanImage(data.train), size);
  const reversed = tf.tensor1d(
    Array.from({ length: size }, (_, i) => size - 1 - i),
    'int32',
  );
  const result = {
    images,
    labels,
    reversedImages: tf.gather(images, reversed) as tf.Tensor4D,
    reversedLabels: tf.gather(labels, reversed) as tf.Tensor1D,
  };
  reversed.dispose();
  return result;
}

/** Runs `fn` with reslab's native paths (fused BN, native network) on, off, or on with standard kernels only. */
export function withNative<T>(mode: boolean | 'portable', fn: () => T): T {
  const previous = process.env.RESLAB_NATIVE;
  process.env.RESLAB_NATIVE = mode === 'portable' ? 'portable' : mode ? '1' : '0';
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env.RESLAB_NATIVE;
    else process.env.RESLAB_NATIVE = previous;
  }
}

export function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Relative L2 distance of two tensors. */
export function relativeL2(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => Math.sqrt(tf.sum(tf.square(tf.sub(a, b))).dataSync()[0] / Math.max(1e-30, tf.sum(tf.square(b)).dataSync()[0])));
}

/** A small ImageNet-style net (7x7/2 stem, max pool, two stages) on 32x32 CIFAR images. */
export function smallImagenetNet(depth: number, residual: boolean, options: ModelOptions = {}): tf.LayersModel {
  const spec = imagenetSpec(depth, residual, { inputShape: [32, 32, 3], numClasses: 10, ...options });
  return buildNetwork({
    ...spec,
    seed: 5,
    stem: { kind: 'imagenet', filters: 8 },
    stages: [
      { filters: 8, blocks: 2, stride: 1 },
      { filters: 16, blocks: 1, stride: 2 },
    ],
  });
}

export interface Pass {
  loss: number;
  grads: tf.Tensor[];
  stats: tf.Tensor[];
}

/** Loss, gradients (variable order) and BN running statistics after one training-mode pass through tfjs's autodiff (BN on the fused kernels where active). */
export function autodiffPass(model: tf.LayersModel, images: tf.Tensor4D, labels: tf.Tensor1D): Pass {
  const variables = trainableVariables(model);
  const { value, grads } = withFusedBatchNorm(model, () =>
    tf.variableGrads(() => {
      const logits = model.apply(images, { training: true }) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 10), logits) as tf.Scalar;
    }, variables),
  );
  const result = {
    loss: value.dataSync()[0],
    grads: variables.map((v) => grads[v.name]),
    stats: model.nonTrainableWeights.map((w) => w.read().clone()),
  };
  value.dispose();
  return result;
}

/** Loss, gradients, BN statistics and inference logits of one pass of the native network over `images`. */
export function nativePass(build: () => tf.LayersModel, images: tf.Tensor4D, labels: tf.Tensor1D): Pass & { logits: tf.Tensor } {
  const model = build();
  const network = nativeNetwork(model);
  assert.ok(network, `not native: ${nativeUnsupportedReason(model)}`);
  const variables = trainableVariables(model);
  const result = network.gradients(images, labels);
  assert.equal(Object.keys(result.grads).length, variables.length, 'one gradient per trainable variable');
  const pass = {
    loss: result.loss,
    grads: variables.map((v) => result.grads[v.name]),
    stats: model.nonTrainableWeights.map((w) => w.read().clone()),
  };
  const logits = network.predict(images);
  model.dispose();
  return { ...pass, logits };
}

/**
 * Asserts that `fast` (the native step) matches `straight` (tfjs's autodiff) within the float32 noise of
 * the autodiff path itself, measured by running it on the batch in reverse order: the same
 * computation with another summation order, whose differences grow from the last layer to the
 * first (and dominate gradients that are nearly zero, such as a BN gamma before another BN).
 */
export function assertSamePass(fast: Pass, straight: Pass, noise: Pass): void {
  assert.ok(Math.abs(fast.loss - straight.loss) < 1e-5, `loss ${fast.loss} vs ${straight.loss}`);
  const floor = Math.max(1e-6, ...noise.grads.map((g, i) => relativeL2(g, straight.grads[i])));
  fast.grads.forEach((g, i) => {
    const difference = relativeL2(g, straight.grads[i]);
    assert.ok(
      difference <= 3 * floor,
      `gradient ${i}: relative difference ${difference.toExponential(2)}, float32 noise up to ${floor.toExponential(2)}`,
    );
  });
  // The classifier sees no BN after it: there the paths agree to float32 precision.
  assert.ok(relativeL2(fast.grads[fast.grads.length - 2], straight.grads[straight.grads.length - 2]) < 1e-4);
  assert.equal(fast.stats.length, straight.stats.length);
  fast.stats.forEach((s, i) => assert.ok(maxDiff(s, straight.stats[i]) < 1e-5, `running statistic ${i}: ${maxDiff(s, straight.stats[i])}`));
}

export function disposePasses(...passes: Pass[]): void {
  tf.dispose(passes.flatMap((p) => [...p.grads, ...p.stats]));
}

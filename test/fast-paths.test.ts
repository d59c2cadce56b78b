import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { buildModel, fusedBatchNormActive, trainableVariables } from '../src';
import { exampleTensors } from '../src/data/tensors';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { meanImage } from '../src/data/preprocess';

const data = loadCifar10(bundledDataDir());

/** Runs `fn` with the fused batch-norm path switched on or off. */
function withFused<T>(on: boolean, fn: () => T): T {
  const previous = process.env.RESLAB_FUSED_BN;
  process.env.RESLAB_FUSED_BN = on ? '1' : '0';
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env.RESLAB_FUSED_BN;
    else process.env.RESLAB_FUSED_BN = previous;
  }
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('fast paths against the straightforward ones', () => {
  it('the fused batch norm is active on the native backend, and off with RESLAB_FUSED_BN=0', () => {
    assert.equal(fusedBatchNormActive(), true);
    withFused(false, () => assert.equal(fusedBatchNormActive(), false));
  });

  /** Relative L2 distance of two gradients. */
  function relativeL2(a: tf.Tensor, b: tf.Tensor): number {
    return tf.tidy(() => Math.sqrt(tf.sum(tf.square(tf.sub(a, b))).dataSync()[0] / Math.max(1e-30, tf.sum(tf.square(b)).dataSync()[0])));
  }

  for (const name of ['resnet20', 'plain20']) {
    it(`${name}: forward, every gradient and the BN running averages agree within the float32 noise of the straightforward path`, () => {
      const { images, labels } = exampleTensors(data.train, meanImage(data.train), 32);
      const reversed = tf.tensor1d(Array.from({ length: 32 }, (_, i) => 31 - i), 'int32');
      const run = (fused: boolean, order?: tf.Tensor1D) =>
        withFused(fused, () => {
          const model = buildModel(name, { seed: 5, width: 0.5 });
          const variables = trainableVariables(model);
          const x = order ? tf.gather(images, order) : images;
          const y = order ? tf.gather(labels, order) : labels;
          const { value, grads } = tf.variableGrads(() => {
            const logits = model.apply(x, { training: true }) as tf.Tensor2D;
            return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits) as tf.Scalar;
          }, variables);
          const stats = model.nonTrainableWeights.map((w) => w.read().clone());
          const result = { loss: value.dataSync()[0], grads: variables.map((v) => grads[v.name]), stats };
          model.dispose();
          return result;
        });
      const fused = run(true);
      const plain = run(false);
      // The same straightforward computation with another summation order (the batch reversed)
      // measures float32's own noise, which grows from the last layer to the first.
      const noise = run(false, reversed);
      assert.ok(Math.abs(fused.loss - plain.loss) < 1e-5, `loss ${fused.loss} vs ${plain.loss}`);
      const floor = Math.max(...noise.grads.map((g, i) => relativeL2(g, plain.grads[i])));
      fused.grads.forEach((g, i) => {
        const difference = relativeL2(g, plain.grads[i]);
        assert.ok(difference <= 3 * floor, `gradient ${i}: relative difference ${difference.toExponential(2)}, float32 noise up to ${floor.toExponential(2)}`);
      });
      // The last layers see no BN in between: there the paths agree to float32 precision.
      assert.ok(relativeL2(fused.grads[fused.grads.length - 2], plain.grads[plain.grads.length - 2]) < 1e-4);
      assert.equal(fused.stats.length, 38, '19 BN layers: moving mean and variance');
      fused.stats.forEach((s, i) => assert.ok(maxDiff(s, plain.stats[i]) < 1e-5, `running statistic ${i}: ${maxDiff(s, plain.stats[i])}`));
      tf.dispose([images, labels, reversed, ...[fused, plain, noise].flatMap((r) => [...r.grads, ...r.stats])]);
    });
  }

  it('inference mode is the same code path either way', () => {
    const model = buildModel('resnet20', { seed: 1, width: 0.5 });
    const { images } = exampleTensors(data.test, undefined, 8);
    const a = withFused(true, () => model.predict(images) as tf.Tensor);
    const b = withFused(false, () => model.predict(images) as tf.Tensor);
    assert.equal(maxDiff(a, b), 0);
    tf.dispose([a, b, images]);
    model.dispose();
  });
});

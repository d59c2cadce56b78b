import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { buildModel, SgdMomentum, trainableVariables, trainStep } from '../src';
import { fusedBatchNormActive, nativeNetwork, nativeUnsupportedReason, withFusedBatchNorm } from '../src/native';
import { autodiffTrainStep } from '../src/train/step';
import { nativeOps } from '../src/native/ops';
import { exampleTensors } from '../src/data/tensors';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { meanImage } from '../src/data/preprocess';
import { batchNormReference } from '../src/kernels/reference';
import { assertSamePass, autodiffPass, disposePasses, maxDiff, relativeL2, withNative } from './helpers/passes';

const data = loadCifar10(bundledDataDir());
const mean = meanImage(data.train);

describe('the native step and the autodiff path', () => {
  const { images, labels } = exampleTensors(data.train, mean, 32);
  const reversed = tf.tensor1d(
    Array.from({ length: 32 }, (_, i) => 31 - i),
    'int32',
  );
  const reversedImages = tf.gather(images, reversed) as tf.Tensor4D;
  const reversedLabels = tf.gather(labels, reversed) as tf.Tensor1D;
  after(() => tf.dispose([images, labels, reversed, reversedImages, reversedLabels]));

  it('the native paths are active on the native backend, and off with RESLAB_NATIVE=0', () => {
    const model = buildModel('resnet20', { width: 0.25 });
    assert.equal(fusedBatchNormActive(), true);
    assert.equal(nativeUnsupportedReason(model), undefined);
    assert.ok(nativeNetwork(model));
    withNative(false, () => {
      assert.equal(fusedBatchNormActive(), false);
      assert.equal(nativeNetwork(model), undefined);
      assert.equal(nativeUnsupportedReason(model), 'RESLAB_NATIVE=0');
    });
    model.dispose();
  });

  it("withFusedBatchNorm runs training-mode batch norm without tfjs's moments kernels, and gives the layers their own call back", async () => {
    const model = buildModel('resnet8', { seed: 5, width: 0.25 });
    const kernelsOfPass = async (fused: boolean) => {
      let output: tf.Tensor | undefined;
      const info = await tf.profile(() => {
        output = withNative(fused, () => withFusedBatchNorm(model, () => model.apply(images, { training: true }) as tf.Tensor));
      });
      output?.dispose();
      return info.kernelNames;
    };
    const plain = await kernelsOfPass(false);
    const fused = await kernelsOfPass(true);
    assert.ok(plain.includes('Square'), "tfjs's own batch norm computes moments");
    assert.ok(!fused.includes('Square'), `fused pass kernels: ${fused.join(', ')}`);
    assert.ok(
      model.layers.every((l) => !Object.prototype.hasOwnProperty.call(l, 'call')),
      'every layer has its own call back',
    );
    model.dispose();
  });

  // Fused BN inside tfjs's autodiff: what models outside the native vocabulary use.
  for (const name of ['resnet20', 'plain20']) {
    it(`${name}: the fused batch norm under tfjs's autodiff matches tfjs's own batch norm`, () => {
      const run = (fused: boolean, x: tf.Tensor4D, y: tf.Tensor1D) =>
        withNative(fused, () => {
          const model = buildModel(name, { seed: 5, width: 0.5 });
          const pass = autodiffPass(model, x, y);
          model.dispose();
          return pass;
        });
      const fused = run(true, images, labels);
      const plain = run(false, images, labels);
      const noise = run(false, reversedImages, reversedLabels);
      assertSamePass(fused, plain, noise);
      assert.equal(fused.stats.length, 38, '19 BN layers: moving mean and variance');
      disposePasses(fused, plain, noise);
    });
  }

  // The native step against tfjs's autodiff for every architecture and block style runs in child
  // processes under each oneDNN setting: test/cpu-matrix.test.ts.

  it("the fused batch norm is at least as accurate as tfjs's own, against float64 (forward and input gradient)", () => {
    const ops = nativeOps();
    assert.ok(ops);
    const [batch, size, channels] = [16, 8, 4];
    for (const [offset, scale] of [
      [0, 1],
      [30, 1],
      [100, 1],
      [0, 1e-3],
    ]) {
      const x = tf.tidy(() =>
        tf.add(tf.mul(tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 1), scale), offset),
      ) as tf.Tensor4D;
      const dy = tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 2) as tf.Tensor4D;
      const gamma = tf.ones([channels]) as tf.Tensor1D;
      const beta = tf.zeros([channels]) as tf.Tensor1D;
      const reference = batchNormReference(x.dataSync(), dy.dataSync(), channels, 1e-5);
      const fused = ops.batchNormTraining(x, gamma, beta, 1e-5);
      const fusedGrad = ops.batchNormGrad(dy, fused.saved, gamma, 1e-5);
      const moments = (input: tf.Tensor4D) => {
        const { mean, variance } = tf.moments(input, [0, 1, 2]);
        return tf.batchNorm(input, mean, variance, beta, gamma, 1e-5);
      };
      const plainY = moments(x);
      const plainDx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(moments(input as tf.Tensor4D), dy)))(x);
      const error = (actual: tf.Tensor, expected: Float64Array) => {
        const values = actual.dataSync();
        let num = 0;
        let den = 0;
        expected.forEach((e, i) => {
          num += (values[i] - e) ** 2;
          den += e ** 2;
        });
        return Math.sqrt(num / den);
      };
      const [fusedYError, plainYError] = [error(fused.y, reference.y), error(plainY, reference.y)];
      const [fusedDxError, plainDxError] = [error(fusedGrad.dx, reference.dx), error(plainDx, reference.dx)];
      assert.ok(fusedYError <= Math.max(2 * plainYError, 1e-6), `offset ${offset}: output error ${fusedYError} vs tfjs ${plainYError}`);
      assert.ok(
        fusedDxError <= Math.max(2 * plainDxError, 1e-6),
        `offset ${offset}: gradient error ${fusedDxError} vs tfjs ${plainDxError}`,
      );
      tf.dispose([
        x,
        dy,
        gamma,
        beta,
        fused.y,
        fused.mean,
        fused.unbiasedVariance,
        ...fused.saved.reserve,
        fusedGrad.dx,
        fusedGrad.dgamma,
        fusedGrad.dbeta,
        plainY,
        plainDx,
      ]);
    }
  });

  it('trainStep takes the native path and makes the same SGD steps as the autodiff path', () => {
    /** Two SGD steps; returns the losses and how far every weight (BN statistics too) and velocity moved. */
    const steps = (native: boolean, x: tf.Tensor4D, y: tf.Tensor1D) => {
      const model = buildModel('resnet20', { seed: 2, width: 0.5 });
      const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
      const initial = model.weights.map((w) => w.read().clone());
      const results = [0, 1].map(() => (native ? trainStep : autodiffTrainStep)(model, optimizer, x, y, 0.05));
      const moves = model.weights.map((w, i) => tf.sub(w.read(), initial[i]));
      const velocities = optimizer.velocityTensors();
      tf.dispose(initial);
      optimizer.dispose();
      model.dispose();
      return { results, moves, velocities };
    };
    const fast = steps(true, images, labels);
    const straight = steps(false, images, labels);
    const noise = steps(false, reversedImages, reversedLabels);
    fast.results.forEach((r, i) => {
      assert.ok(Math.abs(r.loss - straight.results[i].loss) < 1e-4, `loss of step ${i}: ${r.loss} vs ${straight.results[i].loss}`);
      assert.equal(r.errors, straight.results[i].errors);
    });
    const floor = Math.max(1e-6, ...noise.moves.map((m, i) => relativeL2(m, straight.moves[i])));
    fast.moves.forEach((m, i) =>
      assert.ok(
        relativeL2(m, straight.moves[i]) <= 3 * floor,
        `weight ${i} moved differently: ${relativeL2(m, straight.moves[i]).toExponential(2)}, float32 noise up to ${floor.toExponential(2)}`,
      ),
    );
    fast.velocities.forEach((v, i) =>
      assert.ok(
        relativeL2(v, straight.velocities[i]) <= 3 * floor,
        `velocity ${i}: ${relativeL2(v, straight.velocities[i]).toExponential(2)}`,
      ),
    );
    tf.dispose([fast, straight, noise].flatMap((r) => [...r.moves, ...r.velocities]));
  });

  it('a native training step leaves no tensor behind, and a bad label fails cleanly without touching the weights', () => {
    const model = buildModel('resnet20', { seed: 2, width: 0.25 });
    const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 1e-4 });
    trainStep(model, optimizer, images, labels, 0.1); // compiles, caches constants
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainStep(model, optimizer, images, labels, 0.1);
    assert.equal(tf.memory().numTensors, before);
    const weights = model.weights.map((w) => w.read().clone());
    const bad = tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => (i === 7 ? 10 : i % 10)),
      'int32',
    );
    assert.throws(() => trainStep(model, optimizer, images, bad, 0.1), /label value of 10.*outside the valid range of \[0, 10\)/s);
    assert.throws(
      () => trainStep(model, optimizer, tf.zeros([4, 28, 28, 3]) as tf.Tensor4D, labels, 0.1),
      /expected float32 images of shape \[batch, 32, 32, 3\], got a float32 tensor of shape \[4, 28, 28, 3\]/,
    );
    assert.throws(
      () => trainStep(model, optimizer, images, labels.slice(0, 5), 0.1),
      /expected 32 int32 class labels \(one per image\), got a int32 tensor of shape \[5\]/,
    );
    assert.equal(
      tf.memory().numTensors,
      before + 1 + weights.length + 2,
      'only the label tensor, the weight copies and the two bad inputs are new',
    );
    // Trainable weights are untouched (BN running statistics moved in the forward pass, as tfjs's path does).
    model.trainableWeights.forEach((w) => {
      const index = model.weights.indexOf(w);
      assert.equal(maxDiff(w.read(), weights[index]), 0, `${w.name} changed`);
    });
    tf.dispose([bad, ...weights]);
    optimizer.dispose();
    model.dispose();
  });

  it('models outside the native vocabulary say why and train through tfjs autodiff', () => {
    const input = tf.input({ shape: [32, 32, 3] });
    const pooled = tf.layers
      .globalAveragePooling2d({})
      .apply(tf.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const dropped = tf.layers.dropout({ rate: 0.5 }).apply(pooled) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 10 }).apply(dropped) as tf.SymbolicTensor });
    assert.match(nativeUnsupportedReason(model) ?? '', /layer class Dropout/);
    const optimizer = new SgdMomentum(trainableVariables(model), { momentum: 0.9, weightDecay: 0 });
    const first = trainStep(model, optimizer, images, labels, 0.01);
    assert.ok(Number.isFinite(first.loss) && first.loss > 0);
    optimizer.dispose();
    model.dispose();
  });
});

describe('SGD with momentum (shape-grouped update)', () => {
  it('makes exactly the per-variable update v = m v + g + wd w, w = w - lr v', () => {
    const shapes = [[3, 3, 2, 4], [4], [4], [3, 3, 2, 4], [5, 4], [4]];
    const initial = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', i + 1));
    const variables = initial.map((t, i) => tf.variable(t.clone(), true, `sgd_test_${i}`));
    const optimizer = new SgdMomentum(variables, { momentum: 0.9, weightDecay: 1e-3 });
    const expected = initial.map((t) => Array.from(t.dataSync(), Number));
    const velocity = expected.map((w) => w.map(() => 0));
    for (let step = 0; step < 3; step++) {
      const grads = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 100 * step + i));
      const lr = 0.1 / (step + 1);
      grads.forEach((g, i) => {
        const values = g.dataSync();
        expected[i].forEach((w, k) => {
          velocity[i][k] = 0.9 * velocity[i][k] + values[k] + 1e-3 * w;
          expected[i][k] = w - lr * velocity[i][k];
        });
      });
      optimizer.apply(Object.fromEntries(grads.map((g, i) => [variables[i].name, g])), lr);
      tf.dispose(grads);
    }
    variables.forEach((v, i) => {
      const actual = v.dataSync();
      expected[i].forEach((w, k) =>
        assert.ok(Math.abs(actual[k] - w) < 1e-5 * Math.max(1, Math.abs(w)), `variable ${i}[${k}]: ${actual[k]} vs ${w}`),
      );
    });
    // Velocities come out per variable, in variable order, and go back in the same way.
    const saved = optimizer.velocityTensors();
    assert.deepEqual(
      saved.map((t) => t.shape),
      shapes,
    );
    saved.forEach((t, i) => velocity[i].forEach((v, k) => assert.ok(Math.abs(t.dataSync()[k] - v) < 1e-5 * Math.max(1, Math.abs(v)))));
    assert.deepEqual(
      optimizer.velocityNames(),
      variables.map((v) => `${v.name}/velocity`),
    );
    // The copies are the caller's: disposing them leaves the optimizer's own state intact.
    tf.dispose(optimizer.velocityTensors());
    optimizer.apply(Object.fromEntries(variables.map((v) => [v.name, tf.zerosLike(v)])), 0);
    const zeros = saved.map((t) => tf.zerosLike(t));
    optimizer.setVelocities(zeros);
    optimizer.velocityTensors().forEach((t) => assert.equal(tf.max(tf.abs(t)).dataSync()[0], 0));
    assert.throws(() => optimizer.setVelocities(zeros.slice(1)), /expected 6 velocities, got 5/);
    assert.throws(
      () => optimizer.setVelocities([zeros[1], ...zeros.slice(1)]),
      /velocity 0 has shape \[4\], variable sgd_test_0 has \[3,3,2,4\]/,
    );
    assert.throws(() => optimizer.apply({}, 0.1), /no gradient for sgd_test_0/);
    tf.dispose([...initial, ...variables, ...saved, ...zeros]);
    optimizer.dispose();
  });
});

import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../src';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { meanImage } from '../src/data/preprocess';
import { exampleTensors } from '../src/data/tensors';
import { blockTaps, createProbe, layerResponses } from '../src/probes';

const data = loadCifar10(bundledDataDir());

/** The first `count` real training images, mean-subtracted, and their labels. */
function realBatch(count: number): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  return exampleTensors(data.train, meanImage(data.train), count);
}

/** Activations of named layers, computed by a separate sub-model and read into plain arrays. */
function activations(model: tf.LayersModel, names: string[], images: tf.Tensor4D): Array<{ values: Float32Array; shape: number[] }> {
  const sub = tf.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output as tf.SymbolicTensor) });
  const outs = sub.predict(images) as tf.Tensor[];
  const result = outs.map((t) => ({ values: t.dataSync() as Float32Array, shape: t.shape }));
  tf.dispose(outs);
  return result;
}

function meanExampleNorm({ values, shape }: { values: Float32Array; shape: number[] }): number {
  const per = values.length / shape[0];
  let total = 0;
  for (let n = 0; n < shape[0]; n++) {
    let sum = 0;
    for (let i = 0; i < per; i++) sum += values[n * per + i] ** 2;
    total += Math.sqrt(sum);
  }
  return total / shape[0];
}

function populationStd(values: Float32Array): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

function deadUnits({ values, shape }: { values: Float32Array; shape: number[] }): number {
  const per = values.length / shape[0];
  let dead = 0;
  for (let i = 0; i < per; i++) {
    let alive = false;
    for (let n = 0; n < shape[0]; n++) if (values[n * per + i] > 0) alive = true;
    if (!alive) dead++;
  }
  return dead / per;
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('block-wise probes', function () {
  this.timeout(60_000);

  it('finds every block with its x, F(x), output, 3x3 responses and ReLUs', () => {
    const taps = blockTaps(buildModel('resnet20', { width: 0.25 }));
    assert.equal(taps.length, 9);
    assert.deepEqual(
      taps.map((t) => t.responses.length),
      new Array(9).fill(2),
    );
    assert.deepEqual(taps[3].block, 'stage2_block1');
    const bottleneck = blockTaps(buildModel('resnet50', { inputShape: [32, 32, 3], numClasses: 10 }));
    assert.equal(bottleneck.length, 16);
    assert.ok(
      bottleneck.every((t) => t.responses.length === 1),
      'one 3x3 conv per bottleneck',
    );
    assert.throws(() => blockTaps(tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] })), /has no reslab blocks/);
  });

  for (const family of ['resnet', 'plain'] as const) {
    it(`${family}: every statistic equals a manual computation from the layer activations`, () => {
      const model = buildModel(`${family}8`, { width: 0.5, seed: 3 });
      const { images, labels } = realBatch(6);
      const probe = createProbe(model, images, labels);
      const blocks = probe();
      assert.equal(blocks.length, 3);
      const b = blocks[1]; // stage2_block1: downsampling, option A for the ResNet
      assert.equal(b.block, 'stage2_block1');
      const [x, bn1, bn2, relu1, out] = activations(
        model,
        ['stage1_block1_out', 'stage2_block1_bn1', 'stage2_block1_bn2', 'stage2_block1_relu1', 'stage2_block1_out'],
        images,
      );
      close(b.inputNorm, meanExampleNorm(x), 'input norm');
      close(b.branchNorm, meanExampleNorm(bn2), 'branch norm');
      close(b.outputNorm, meanExampleNorm(out), 'output norm');
      close(b.branchRatio, meanExampleNorm(bn2) / meanExampleNorm(x), 'ratio');
      close(b.responseStd[0], populationStd(bn1.values), 'response std 1');
      close(b.responseStd[1], populationStd(bn2.values), 'response std 2');
      close(b.deadReluFraction, (deadUnits(relu1) + deadUnits(out)) / 2, 'dead ReLUs');
      // Gradient norm: the block's conv kernels and BN gamma/beta, from the loss on the batch.
      const variables = model.trainableWeights.filter((w) => w.name.startsWith('stage2_block1_')).map((w) => w.read() as tf.Variable);
      assert.equal(variables.length, 6);
      const { grads } = tf.variableGrads(() => {
        const logits = model.predict(images) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 10), logits) as tf.Scalar;
      }, variables);
      let squares = 0;
      for (const g of Object.values(grads)) for (const v of g.dataSync()) squares += v * v;
      close(b.gradNorm, Math.sqrt(squares), 'gradient norm');
      assert.ok(b.gradNorm > 0);
      assert.deepEqual(layerResponses(blocks).length, 6);
      probe.dispose();
      tf.dispose([images, labels, ...Object.values(grads)]);
    });
  }

  it('a residual block whose branch is zeroed (zero-init last BN gamma) is exactly the identity; its plain twin is not', () => {
    const { images, labels } = realBatch(4);
    const residual = createProbe(buildModel('resnet8', { width: 0.5, seed: 1, zeroInitResidual: true }), images, labels)();
    for (const b of residual) {
      assert.equal(b.branchNorm, 0, `${b.block}: F(x) = 0`);
      assert.equal(b.branchRatio, 0);
    }
    // Identity blocks (no downsampling): output = relu(x + 0) = x, since x is a ReLU output.
    close(residual[0].outputNorm, residual[0].inputNorm, 'identity block output');
    const plain = createProbe(buildModel('plain8', { width: 0.5, seed: 1, zeroInitResidual: true }), images, labels)();
    for (const b of plain) assert.ok(b.branchRatio > 0.05, `${b.block}: plain F(x) is not zero (ratio ${b.branchRatio})`);
    assert.ok(Math.abs(plain[0].outputNorm - plain[0].inputNorm) > 1e-3);
    tf.dispose([images, labels]);
  });

  it('probing changes nothing in the model (weights, BN statistics) and leaks no tensors', () => {
    const model = buildModel('resnet8', { width: 0.5, seed: 2 });
    const { images, labels } = realBatch(4);
    const probe = createProbe(model, images, labels);
    const before = model.weights.map((w) => Array.from(w.read().dataSync()));
    probe();
    const tensors = tf.memory().numTensors;
    probe();
    probe();
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(
      model.weights.map((w) => Array.from(w.read().dataSync())),
      before,
    );
    probe.dispose();
    tf.dispose([images, labels]);
  });
});

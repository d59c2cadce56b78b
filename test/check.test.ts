import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { basicBlock, batchNorm, buildModel, check, conv, DEFAULT_BLOCK_STYLE, relu, SeedSequence, ShortcutA } from '../src';

type Tensor = tf.SymbolicTensor;
const style = DEFAULT_BLOCK_STYLE;
const seeds = new SeedSequence(0);
const conv3x3 = (x: Tensor, filters: number, stride: number, name: string) => conv(x, filters, 3, stride, name, seeds);
const add = (a: Tensor, b: Tensor) => tf.layers.add().apply([a, b]) as Tensor;
const shortcutOf = (x: Tensor, filters: number, stride: number) =>
  stride === 1 ? x : (new ShortcutA({ stride, outChannels: filters }).apply(x) as Tensor);

/** The exercise's answer, as a reader writes it with reslab's layer helpers. */
function answer(x: Tensor, filters: number, stride: number, name: string): Tensor {
  let h = relu(batchNorm(conv3x3(x, filters, stride, `${name}_conv1`), `${name}_bn1`, style), `${name}_relu1`);
  h = batchNorm(conv3x3(h, filters, 1, `${name}_conv2`), `${name}_bn2`, style);
  return relu(add(h, shortcutOf(x, filters, stride)), `${name}_out`);
}

/** The same block written with plain tf.layers, Keras style ('same' padding, Keras's BN epsilon unless given). */
const kerasBlock =
  (epsilon?: number) =>
  (x: Tensor, filters: number, stride: number): Tensor => {
    const c = (h: Tensor, s: number) =>
      tf.layers.conv2d({ filters, kernelSize: 3, strides: s, padding: 'same', useBias: false }).apply(h) as Tensor;
    const bn = (h: Tensor) => tf.layers.batchNormalization({ axis: 3, ...(epsilon ? { epsilon } : {}) }).apply(h) as Tensor;
    const r = (h: Tensor) => tf.layers.activation({ activation: 'relu' }).apply(h) as Tensor;
    return r(add(bn(c(r(bn(c(x, stride))), 1)), shortcutOf(x, filters, stride)));
  };

/** Typical mistakes, each a small change of the answer. */
const mistakes = {
  'no-shortcut': (x: Tensor, filters: number, stride: number, name: string) => {
    const h = relu(batchNorm(conv3x3(x, filters, stride, `${name}_conv1`), `${name}_bn1`, style), `${name}_relu1`);
    return relu(batchNorm(conv3x3(h, filters, 1, `${name}_conv2`), `${name}_bn2`, style), `${name}_out`);
  },
  'relu-before-add': (x: Tensor, filters: number, stride: number, name: string) => {
    let h = relu(batchNorm(conv3x3(x, filters, stride, `${name}_conv1`), `${name}_bn1`, style), `${name}_relu1`);
    h = relu(batchNorm(conv3x3(h, filters, 1, `${name}_conv2`), `${name}_bn2`, style), `${name}_relu2`);
    return relu(add(h, shortcutOf(x, filters, stride)), `${name}_out`);
  },
  'stride-on-second-conv': (x: Tensor, filters: number, stride: number, name: string) => {
    let h = relu(batchNorm(conv3x3(x, filters, 1, `${name}_conv1`), `${name}_bn1`, style), `${name}_relu1`);
    h = batchNorm(conv3x3(h, filters, stride, `${name}_conv2`), `${name}_bn2`, style);
    return relu(add(h, shortcutOf(x, filters, stride)), `${name}_out`);
  },
  'add-before-batch-norm': (x: Tensor, filters: number, stride: number, name: string) => {
    const h = relu(batchNorm(conv3x3(x, filters, stride, `${name}_conv1`), `${name}_bn1`, style), `${name}_relu1`);
    return relu(
      batchNorm(add(conv3x3(h, filters, 1, `${name}_conv2`), shortcutOf(x, filters, stride)), `${name}_bn2`, style),
      `${name}_out`,
    );
  },
};

/** A reader's ResNet-(6n+2) built from `block`. */
function readerNet(blocksPerStage: number, block = answer): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, 3] });
  let h = relu(batchNorm(conv3x3(input, 16, 1, 'stem'), 'stem_bn', style), 'stem_relu');
  [16, 32, 64].forEach((filters, s) => {
    for (let b = 0; b < blocksPerStage; b++) h = block(h, filters, b === 0 && s > 0 ? 2 : 1, `s${s}b${b}`);
  });
  h = tf.layers.globalAveragePooling2d({}).apply(h) as Tensor;
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 10 }).apply(h) as Tensor });
}

describe("check: the tutorials' checks of a reader's code", () => {
  it("a correct residual block passes, written with reslab's layer helpers", () => {
    const report = check.block(answer, { quiet: true });
    assert.ok(report.passed, report.toString());
    assert.match(report.toString(), /✔ 8 → 16 channels, stride 2: with reslab's weights your outputs equal reslab's/);
    assert.match(report.toString(), /Passed: your block is the paper's residual block \(option A, post-activation\)/);
    assert.equal(report.lines.length, 8, 'shape, parameters, outputs and gradients at stride 1 and 2');
  });

  for (const [id, block] of Object.entries(mistakes))
    it(`a block with a typical mistake is caught and named: ${id}`, () => {
      const report = check.block(block, { quiet: true });
      assert.equal(report.passed, false);
      assert.equal(report.mistake, id, report.toString());
      assert.match(report.toString(), /^Not yet: /m);
    });

  it("Keras habits are named one at a time: BN epsilon 0.001 first, then TensorFlow's 'same' padding at stride 2", () => {
    const epsilon = check.block(kerasBlock(), { quiet: true });
    assert.equal(epsilon.mistake, 'batch-norm-epsilon');
    assert.match(
      epsilon.toString(),
      /give your batch norms epsilon: 0\.00001 \(Caffe's, which the paper used; 0\.001 is Keras's default\)/,
    );
    const padding = check.block(kerasBlock(1e-5), { quiet: true });
    assert.equal(padding.mistake, 'same-padding');
    assert.match(
      padding.toString(),
      /✔ 8 → 8 channels, stride 1: with reslab's weights your outputs equal/,
      'at stride 1 the two paddings agree',
    );
    assert.match(padding.advice ?? '', /pads only at the bottom and right/);
  });

  it('the plain twin is checked as a plain block; a residual block is not one', () => {
    assert.ok(check.block(mistakes['no-shortcut'], { residual: false, quiet: true }).passed);
    assert.equal(check.block(answer, { residual: false, quiet: true }).mistake, 'has-shortcut');
  });

  it("options B and pre-activation compare against reslab's block of that kind", () => {
    const reslabs = (order: 'post' | 'pre', shortcut: 'A' | 'B') => (x: Tensor, filters: number, stride: number, name: string) =>
      basicBlock.build(x, { filters, stride, name, style: { ...style, order, shortcut }, seeds: new SeedSequence(1) });
    assert.ok(check.block(reslabs('post', 'B'), { shortcut: 'B', quiet: true }).passed);
    const optionA = check.block(answer, { shortcut: 'B', quiet: true });
    assert.equal(optionA.mistake, 'wrong-layers', 'option A has no projection at stride 2');
    assert.match(optionA.toString(), /parameters, reslab's block has/);
    assert.ok(check.block(reslabs('pre', 'A'), { order: 'pre', quiet: true }).passed);
    assert.equal(check.block(answer, { order: 'pre', quiet: true }).passed, false);
  });

  it('a block that does not build or returns the wrong shape says so', () => {
    const throws = check.block(
      () => {
        throw new Error('not written yet');
      },
      { quiet: true },
    );
    assert.equal(throws.mistake, 'does-not-build');
    assert.match(throws.toString(), /building your block failed: not written yet/);
    const noShortcutA = check.block((x, filters, stride, name) => relu(add(conv3x3(x, filters, stride, name), x), `${name}_out`), {
      quiet: true,
    });
    assert.equal(noShortcutA.passed, false);
  });

  it('check.model: a reader-built ResNet-20 passes and keeps its own weights', () => {
    const model = readerNet(3);
    const before = model.getWeights().map((w) => w.dataSync().slice());
    const report = check.model(model, 'resnet20', { quiet: true });
    assert.ok(report.passed, report.toString());
    assert.match(report.toString(), /19 convolutions, the same kernels and strides in the same order/);
    assert.match(report.toString(), /with resnet20's weights your logits equal reslab's/);
    model.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), before[i]));
  });

  it('check.model names the depth, the missing shortcuts and a stage that does not downsample', () => {
    assert.equal(check.model(readerNet(5), 'resnet20', { quiet: true }).mistake, 'depth');
    assert.match(check.model(readerNet(5), 'resnet20', { quiet: true }).advice ?? '', /yours has 32 weighted layers .* resnet20 has 20/);
    const plain = check.model(buildModel('plain20'), 'resnet20', { quiet: true });
    assert.equal(plain.mistake, 'shortcuts');
    assert.match(plain.toString(), /0 shortcuts \(Add layers\), resnet20 has 9/);
    assert.ok(check.model(buildModel('plain20'), 'plain20', { quiet: true }).passed);
    const noDownsampling = (x: Tensor, filters: number, _stride: number, name: string) => answer(x, filters, 1, name);
    const flat = check.model(
      (() => {
        const input = tf.input({ shape: [32, 32, 3] });
        let h = relu(batchNorm(conv3x3(input, 16, 1, 'stem'), 'stem_bn', style), 'stem_relu');
        for (let b = 0; b < 9; b++) h = noDownsampling(h, 16, 1, `b${b}`);
        h = tf.layers.globalAveragePooling2d({}).apply(h) as Tensor;
        return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 10 }).apply(h) as Tensor });
      })(),
      'resnet20',
      { quiet: true },
    );
    assert.equal(flat.mistake, 'stage-start');
    assert.match(flat.toString(), /convolution 8: yours is 3×3 conv 16→16, resnet20's \(stage2_block1_conv1\) is 3×3 conv 16→32, stride 2/);
  });

  it('check.answer: a number within the tolerance passes; a different or missing one says what to look at', () => {
    const passed = check.answer('the ratio', 0.2501, 0.25, { tolerance: 0.001, quiet: true });
    assert.equal(passed.passed, true);
    const wrong = check.answer('the ratio', 0.5, 0.25, { hint: 'divide by the weights of the block', quiet: true });
    assert.equal(wrong.passed, false);
    assert.equal(wrong.mistake, 'different');
    assert.match(wrong.toString(), /yours is 0\.5000, reslab computes 0\.2500/);
    assert.match(wrong.toString(), /divide by the weights of the block/);
    const missing = check.answer('the count', undefined, 12, { quiet: true });
    assert.equal(missing.mistake, 'unanswered');
    assert.match(missing.toString(), /not answered yet/);
    assert.equal(check.answer('the count', Number.NaN, 12, { quiet: true }).passed, false);
  });
});

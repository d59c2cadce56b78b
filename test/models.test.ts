import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { buildModel, cifarResNet, parseModelName, summarize } from '../src';

/** Paper Table 6 (millions, rounded as printed): CIFAR option-A ResNets; plain nets are equal. */
const CIFAR_PARAMS_M: Record<number, string> = { 20: '0.27', 32: '0.46', 44: '0.66', 56: '0.85', 110: '1.7' };
/** The widely used reference counts (torchvision): conv without bias, BN affine, FC with bias, option B. */
const IMAGENET_PARAMS: Record<number, number> = { 18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808 };
/** Paper Table 1, x10^9 multiply-adds. */
const IMAGENET_GFLOPS: Record<number, number> = { 18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3 };

describe('CIFAR model zoo (§4.2)', () => {
  for (const [depth, millions] of Object.entries(CIFAR_PARAMS_M)) {
    it(`resnet${depth} and plain${depth} have ${millions}M parameters`, () => {
      const resnet = summarize(buildModel(`resnet${depth}`));
      const plain = summarize(buildModel(`plain${depth}`));
      const printed = Number(depth) === 110 ? (resnet.params / 1e6).toFixed(1) : (resnet.params / 1e6).toFixed(2);
      assert.equal(printed, millions);
      assert.equal(plain.params, resnet.params, 'option A adds no parameters');
    });
  }

  it('resnet1202 has 19.4M parameters', function () {
    this.timeout(300_000);
    const model = cifarResNet(1202);
    assert.equal((summarize(model).params / 1e6).toFixed(1), '19.4');
    model.dispose();
  });

  it('matches the independent PyTorch parameter counts exactly (option A and B)', () => {
    assert.equal(summarize(buildModel('resnet20')).params, 269_722);
    assert.equal(summarize(buildModel('resnet56')).params, 853_018);
    assert.equal(summarize(buildModel('resnet20', { shortcut: 'B' })).params, 272_474);
    assert.equal(summarize(buildModel('resnet110', { shortcut: 'B' })).params, 1_730_714);
  });

  it('has 6n+2 weighted layers: 16/32/64 filters on 32/16/8 maps, then 10 logits', () => {
    const model = buildModel('resnet32');
    const weighted = model.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName()));
    assert.equal(weighted.length, 32);
    const s = summarize(model);
    assert.deepEqual(
      s.stages.map((stage) => [stage.stage, stage.outputShape]),
      [
        ['stem', [32, 32, 16]],
        ['stage1', [32, 32, 16]],
        ['stage2', [16, 16, 32]],
        ['stage3', [8, 8, 64]],
        ['head', [10]],
      ],
    );
    const logits = model.predict(tf.zeros([3, 32, 32, 3])) as tf.Tensor;
    assert.deepEqual(logits.shape, [3, 10]);
    logits.dispose();
  });

  it('width scales the filters (0.5: 8/16/32)', () => {
    const s = summarize(buildModel('plain20', { width: 0.5 }));
    assert.deepEqual(
      s.stages.slice(1, 4).map((stage) => stage.outputShape[2]),
      [8, 16, 32],
    );
  });

  it('the same seed builds identical weights; another seed does not', () => {
    const a = buildModel('resnet20', { seed: 3 });
    const b = buildModel('resnet20', { seed: 3 });
    const c = buildModel('resnet20', { seed: 4 });
    const first = (m: tf.LayersModel) => m.getLayer('stage2_block1_conv1').getWeights()[0].dataSync();
    assert.deepEqual(first(a), first(b));
    assert.notDeepEqual(first(a), first(c));
  });

  it('He init: conv weights have std sqrt(2 / fan_in) (untruncated)', () => {
    const model = buildModel('resnet20', { seed: 1 });
    const kernel = model.getLayer('stage3_block1_conv2').getWeights()[0]; // 3x3x64 -> 64
    const values = Array.from(kernel.dataSync());
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    const expected = Math.sqrt(2 / (3 * 3 * 64));
    assert.ok(Math.abs(std / expected - 1) < 0.03, `std ${std} vs ${expected}`);
    // A truncated normal would have no values beyond 2 std; 36,864 normal draws have ~1,700.
    assert.ok(values.filter((v) => Math.abs(v) > 2 * expected).length > 1000);
  });
});

describe('ImageNet model zoo (Table 1)', () => {
  for (const depth of [18, 34, 50, 101, 152]) {
    it(`resnet${depth}: ${IMAGENET_PARAMS[depth].toLocaleString('en-US')} parameters, FLOPs within 3% of ${IMAGENET_GFLOPS[depth]}e9`, function () {
      this.timeout(60_000);
      const model = buildModel(`resnet${depth}`);
      const s = summarize(model);
      assert.equal(s.params, IMAGENET_PARAMS[depth]);
      const ratio = s.flops / 1e9 / IMAGENET_GFLOPS[depth];
      assert.ok(Math.abs(ratio - 1) < 0.03, `FLOPs ${s.flops / 1e9}e9`);
      assert.deepEqual(
        s.stages.map((stage) => stage.outputShape.slice(0, 2)),
        [[56, 56], [56, 56], [28, 28], [14, 14], [7, 7], [1000]],
      );
      model.dispose();
    });
  }

  it('the 3x3-stride bottleneck variant costs ~4.1 GFLOPs for ResNet-50', () => {
    const model = buildModel('resnet50', { bottleneckStride: '3x3' });
    const s = summarize(model);
    assert.equal(s.params, IMAGENET_PARAMS[50]);
    assert.ok(Math.abs(s.flops / 4.1e9 - 1) < 0.01, `${s.flops}`);
    model.dispose();
  });

  it('plain-18/34 are the ResNets without shortcuts (option B projections removed)', () => {
    for (const depth of [18, 34]) {
      const plain = buildModel(`plain${depth}`);
      const resnet = buildModel(`resnet${depth}`);
      const projections = resnet.layers.filter((l) => l.name.endsWith('_shortcut_conv') || l.name.endsWith('_shortcut_bn'));
      const projectionParams = projections.reduce(
        (sum, l) => sum + l.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0),
        0,
      );
      assert.equal(projections.length, 6, 'three downsampling blocks, a conv and a BN each');
      assert.equal(summarize(plain).params, summarize(resnet).params - projectionParams);
      plain.dispose();
      resnet.dispose();
    }
  });
});

describe('model names and bad input', () => {
  it('parses names into family, depth and dataset', () => {
    assert.deepEqual(parseModelName('resnet110'), { family: 'resnet', depth: 110, dataset: 'cifar' });
    assert.deepEqual(parseModelName('plain56'), { family: 'plain', depth: 56, dataset: 'cifar' });
    assert.deepEqual(parseModelName('resnet50'), { family: 'resnet', depth: 50, dataset: 'imagenet' });
    assert.deepEqual(parseModelName('cifar-resnet50'), { family: 'resnet', depth: 50, dataset: 'cifar' });
    assert.deepEqual(parseModelName('plain34'), { family: 'plain', depth: 34, dataset: 'imagenet' });
  });

  it('rejects an unknown model, naming the valid ones', () => {
    assert.throws(() => buildModel('vgg16'), /unknown model 'vgg16'.*resnet20.*resnet50/);
  });

  it('rejects an invalid depth with "depth must be 6n+2" and examples', () => {
    assert.throws(() => buildModel('resnet21'), /depth must be 6n\+2 .*20, 32, 44, 56, 110, 1202/);
    assert.throws(() => cifarResNet(2), /depth must be 6n\+2/);
    assert.throws(() => buildModel('imagenet-resnet20'), /invalid ImageNet depth 20: expected one of 18, 34, 50, 101, 152/);
  });

  it('rejects an unknown shortcut option, order or width', () => {
    assert.throws(() => buildModel('resnet20', { shortcut: 'D' as 'A' }), /unknown shortcut option 'D': expected one of A, B, C/);
    assert.throws(() => buildModel('resnet20', { order: 'mid' as 'pre' }), /unknown block order 'mid'/);
    assert.throws(() => buildModel('resnet20', { width: 0 }), /width must be a positive number/);
  });

  it('a wrong input shape is refused with the expected shape in the message', () => {
    const model = buildModel('resnet20');
    const wrong = tf.zeros([2, 28, 28, 3]);
    assert.throws(() => model.predict(wrong), /expected images to have shape \[null,32,32,3\].*\[2,28,28,3\]/);
    wrong.dispose();
  });
});

describe('serialization', () => {
  const cases: Array<[string, Parameters<typeof buildModel>[1]]> = [
    ['resnet20', { width: 0.5, seed: 1 }], // option A: the custom ShortcutA layer
    ['plain20', { width: 0.5, seed: 2 }],
    ['resnet20', { width: 0.5, order: 'pre', shortcut: 'B', seed: 3 }],
    ['resnet50', { inputShape: [32, 32, 3], numClasses: 10, seed: 4 }], // bottleneck + ImageNet stem
  ];
  for (const [name, options] of cases) {
    it(`${name} ${JSON.stringify(options)} saves to file:// and reloads with identical outputs`, async function () {
      this.timeout(120_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-save-'));
      const model = buildModel(name, options);
      // Move BN statistics away from their initial values so that they are checked too.
      const batch = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 5);
      model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
      await model.fit(batch, tf.randomNormal([4, options?.numClasses ?? 10], 0, 1, 'float32', 6), { epochs: 1, verbose: 0 });
      await model.save(`file://${dir}`);
      const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
      const before = (model.predict(batch) as tf.Tensor).dataSync();
      const after = (loaded.predict(batch) as tf.Tensor).dataSync();
      assert.deepEqual(Array.from(after), Array.from(before));
      assert.deepEqual(
        loaded.layers.map((l) => l.getClassName()),
        model.layers.map((l) => l.getClassName()),
      );
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }

  const STANDARD_LAYERS = new Set([
    'InputLayer',
    'Conv2D',
    'BatchNormalization',
    'Activation',
    'Add',
    'ZeroPadding2D',
    'MaxPooling2D',
    'GlobalAveragePooling2D',
    'Dense',
  ]);

  it('a saved ResNet uses standard tfjs layer classes plus ShortcutA, and loads in a process that registers only ShortcutA', async function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-portable-'));
    const model = buildModel('resnet20', { width: 0.25, seed: 7 });
    await model.save(`file://${dir}`);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
      modelTopology: { config: { layers: Array<{ class_name: string }> } };
    };
    const classes = new Set(saved.modelTopology.config.layers.map((l) => l.class_name));
    assert.deepEqual(
      [...classes].filter((c) => !STANDARD_LAYERS.has(c)),
      ['ShortcutA'],
    );
    const batch = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 8);
    const expected = Array.from((model.predict(batch) as tf.Tensor).dataSync());
    fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify(Array.from(batch.dataSync())));
    // Another Node process: tfjs-node and ShortcutA's module only, nothing else of reslab.
    const script = [
      "const tf = require('@tensorflow/tfjs-node');",
      `require(${JSON.stringify(path.resolve(__dirname, '..', 'src', 'blocks', 'shortcut-a.js'))});`,
      '(async () => {',
      `  const model = await tf.loadLayersModel('file://${dir}/model.json');`,
      `  const batch = tf.tensor4d(require('${dir}/batch.json'), [2, 32, 32, 3]);`,
      `  const ours = Object.keys(require.cache).filter((m) => m.startsWith(${JSON.stringify(path.resolve(__dirname, '..'))}));`,
      '  console.log(JSON.stringify({ modules: ours, logits: Array.from(model.predict(batch).dataSync()) }));',
      '})();',
    ].join('\n');
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '..', '..') });
    assert.equal(result.status, 0, result.stderr.slice(-2000));
    const other = JSON.parse(result.stdout.trim().split('\n').pop() as string) as { modules: string[]; logits: number[] };
    assert.deepEqual(
      other.modules.map((m) => path.relative(path.resolve(__dirname, '..'), m)),
      [path.join('src', 'blocks', 'shortcut-a.js')],
      'the only module of reslab loaded',
    );
    other.logits.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `logit ${i}: ${v} vs ${expected[i]}`));
    tf.dispose([batch]);
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('models saved by earlier versions (batch norms named FusedBatchNormalization) still load, as standard BatchNormalization', async function () {
    this.timeout(60_000);
    // A ResNet-20 (width 0.25) saved by the earlier version, as a notebook run wrote it.
    const legacy = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'legacy-resnet20', 'model.json');
    assert.match(fs.readFileSync(legacy, 'utf8'), /"class_name":"FusedBatchNormalization"/);
    const model = await tf.loadLayersModel(`file://${legacy}`);
    const classes = model.layers.map((l) => l.getClassName());
    assert.equal(classes.filter((c) => c === 'BatchNormalization').length, 19);
    assert.ok(!classes.includes('FusedBatchNormalization'));
    const logits = tf.tidy(() => model.predict(tf.zeros([1, 32, 32, 3])) as tf.Tensor);
    assert.ok(Array.from(logits.dataSync()).every(Number.isFinite));
    tf.dispose([logits]);
    model.dispose();
  });
});

describe('gradients', () => {
  it('reach the first layer of ResNet-110 finite and non-zero', function () {
    this.timeout(120_000);
    const model = buildModel('resnet110', { seed: 0 });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
    const labels = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
    const { grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    );
    const first = grads[model.getLayer('stem_conv').trainableWeights[0].name];
    assert.ok(first, `no gradient for stem_conv among ${Object.keys(grads).slice(0, 3).join(', ')}...`);
    const values = Array.from(first.dataSync());
    assert.ok(values.every(Number.isFinite), 'finite');
    const norm = Math.sqrt(values.reduce((a, v) => a + v * v, 0));
    assert.ok(norm > 1e-6, `non-zero (norm ${norm})`);
    tf.dispose([x, labels, ...Object.values(grads)]);
    model.dispose();
  });
});
